// The tensor-core distribution of skim-lower-tile-to-gpu: with 16-bit inputs,
// fragment tiles live in registers in the mma.sync m16n8k16 layout, gemms
// become ldmatrix + mma.sync, row reductions quad xor shuffles, and the K/V
// tiles 16-bit shared memory (rows padded by 16 bytes) filled by cp.async.
// f32 inputs keep the SIMT distribution, and the kernel says why.
// RUN: skim-opt %s --split-input-file --skim-expand-variants --skim-tile --skim-lower-tile-to-gpu | FileCheck %s

// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "mma.sync"
// Per-lane register arrays: Q 64x128 and the accumulator (64 each), S 64x64
// (32), and the row vectors (2 each).
// CHECK-DAG: memref.alloca() : memref<64xf32>
// CHECK-DAG: memref.alloca() : memref<32xf32>
// CHECK-DAG: memref.alloca() : memref<2xf32>
// K lands untransposed (global rows), V as it is: 16-bit, 136-element rows.
// CHECK-DAG: memref.reinterpret_cast {{.+}} to memref<128x64xbf16, strided<[1, 136]>, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.reinterpret_cast {{.+}} to memref<64x128xbf16, strided<[136, 1]>, #gpu.address_space<workgroup>>
// Copies in flight across the loop: the prologue asks for the first K; a
// chunk asks for V, Q·Kᵀ waits for K only (the previous iteration's group;
// V's stays in flight), then the next chunk's K is asked for once every
// warp is done with K, and P·V waits for V only (the new K stays in flight).
// CHECK: nvvm.cp.async.shared.global {{.+}}, 16, cache = cg
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.shared.global {{.+}}, 16, cache = cg
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: nvvm.mma.sync
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.ldmatrix {{.+}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// CHECK: nvvm.mma.sync A[{{.+}}]  B[{{.+}}]  C[{{.+}}]  {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.shared.global {{.+}}, 16, cache = cg
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: nvvm.cp.async.wait.group
// CHECK: gpu.shuffle  xor {{.+}}, %{{.+}}, %{{.+}} : f32
// P·V waits for V and reads it with the transposed ldmatrix.
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.ldmatrix {{.+}} layout = #nvvm.mma_layout<col>, num = 4 : i32
// CHECK: nvvm.mma.sync
func.func @bf16(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// f16 operands travel as vector<2xf16>. The sink's loop, then the
// window's: the sink loop's last one-ahead K copy (of no rows) lands before
// the window loop's prologue asks for K again, since two asynchronous writes
// of one address are unordered.
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "mma.sync"
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.mma.sync {{.+}} : (vector<2xf16>, vector<2xf16>, f32)
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NOT: nvvm.mma.sync
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
func.func @f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>)
    -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal, window = 100, sink = 4>}
      : tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>
  return %o, %lse : tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
}

// -----

// D = 192 would pass the register budget: Q moves to shared memory and
// gemm A comes through ldmatrix too.
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "mma.sync"
// CHECK-DAG: memref.alloca() : memref<96xf32>
// CHECK-DAG: memref.reinterpret_cast {{.+}} to memref<64x192xbf16, strided<[200, 1]>, #gpu.address_space<workgroup>>
// CHECK-NOT: memref.alloca() : memref<96xf32>
func.func @d192(%q: tensor<?x?x4x192xbf16>, %k: tensor<?x?x1x192xbf16>, %v: tensor<?x?x1x192xbf16>)
    -> (tensor<?x?x4x192xbf16>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x192xbf16>, tensor<?x?x1x192xbf16>, tensor<?x?x1x192xbf16>
  return %o, %lse : tensor<?x?x4x192xbf16>, tensor<?x4x?xf32>
}

// -----

// Selections: the per-row masks that scalar code writes stay in shared
// memory; the rest is in registers.
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "mma.sync"
// CHECK: nvvm.mma.sync
func.func @selection(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>,
                     %idx: tensor<?x?x1x8xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 64}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: skim.distribution = "simt: a gemm operand not loaded from bf16 or f16"
// CHECK-NOT: nvvm.mma.sync
func.func @f32(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x1x64xf32>)
    -> (tensor<?x?x4x64xf32>, tensor<?x4x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x4x64xf32>, tensor<?x?x1x64xf32>, tensor<?x?x1x64xf32>
  return %o, %lse : tensor<?x?x4x64xf32>, tensor<?x4x?xf32>
}

// -----

// A schedule's warps set the CTA: 8 warps of 16 rows for 128-row tiles.
// CHECK: module attributes {gpu.container_module, skim.gpu_block = 256 : i64
// CHECK-LABEL: gpu.func @skim_k0_attention
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>, skim.distribution = "mma.sync"
// CHECK-DAG: memref.alloca() : memref<64xf32>
// CHECK-DAG: memref.alloca() : memref<32xf32>
func.func @warps8(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, warps = 8>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
