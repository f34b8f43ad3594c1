// split_kv: one attention kernel over a grid of B × split_kv in z, each CTA
// taking one contiguous part of every key loop (here of the union of the
// selected blocks), writing its O and LSE in f32 to workspace at batch
// part·B + b; then the exact LSE merge kernel, one query head a program,
// reads every part of its head at once (O rows in one load, the LSEs in one
// transposed load), weighs them with a 1 × parts gemm and writes the op's
// results.
// RUN: skim-opt %s --split-input-file --skim-expand-variants --skim-tile --verify-diagnostics | FileCheck %s

// CHECK: buffer 6 workspace -1 f32 4 d0.0,8,* d0.1 16 128
// CHECK-SAME: buffer 7 workspace -1 f32 3 d0.0,8,* 16 d0.1
// CHECK-SAME: kernel skim_k0_attention grid d0.1 1 d0.0,8,* args 28 {{.*}} ed0.0 {{.*}} t6 t7
// CHECK-SAME: kernel skim_k1_merge grid d4.1 16 d4.0 args 17 ed4.0 t6 {{.*}} t7 {{.*}} t5 {{.*}} t4
// The part: z / B, the batch: z − part · B; the union loop runs over the
// part's ⌈n / 8⌉ entries.
// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: %[[Z:.+]] = skim_tile.block_id 2
// CHECK: arith.floordivsi %[[Z]]
// CHECK-LABEL: func.func @skim_k1_merge
// CHECK: skim_tile.load {{.*}} : memref<?xf32>, memref<8x128xf32>
// CHECK: skim_tile.load {{.*}} {padding = 0xFF800000 : f32, transpose} : memref<?xf32>, memref<1x8xf32>
// CHECK: skim_tile.reduce max
// CHECK: math.exp2
// CHECK: skim_tile.gemm {{.*}} : memref<1x8xf32>, memref<8x128xf32>, memref<1x128xf32>
// CHECK: skim_tile.store
func.func @decode(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 128, q_block = 1, schedule = #skim.schedule<split_kv = 8>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// NSA's compressed stage picks each row's top blocks from all of its scores
// in the same kernel: it cannot be split.
func.func @nsa(%q: tensor<?x?x16x64xbf16>, %k: tensor<?x?x1x64xbf16>, %v: tensor<?x?x1x64xbf16>,
               %g: tensor<?x?x16xbf16>) -> tensor<?x?x16x64xbf16> {
  // expected-error @+1 {{split_kv does not apply to NSA's compressed stage}}
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g) {schedules = {compressed = #skim.schedule<split_kv = 2>}}
      : tensor<?x?x16x64xbf16>, keys(tensor<?x?x1x64xbf16>), values(tensor<?x?x1x64xbf16>), gates tensor<?x?x16xbf16>
  return %o : tensor<?x?x16x64xbf16>
}
