// RUN: skim-opt %s --skim-expand-variants --skim-tile | FileCheck %s
// RUN: skim-opt %s --skim-expand-variants --skim-tile=nsa-scores-block=32 | FileCheck %s --check-prefix=B32
// RUN: not skim-opt %s --skim-expand-variants --skim-tile=nsa-scores-block=0 2>&1 | FileCheck %s --check-prefix=B0

// The NVIDIA pipeline's 32 x 32 tiles for the compressed stage (a SIMT
// kernel there, whose tiles all live in shared memory): twice the tiles.
// B32: kernel skim_k2_nsa_compressed grid d0.1,8,cdiv 2 d0.0
// B32-LABEL: func.func @skim_k2_nsa_compressed
// B32: skim_tile.gemm %{{.+}} : memref<32x32xf32>, memref<32x32xf32>, memref<32x32xf32>
// B0: error: skim-tile nsa-scores-block must be > 0, got 0

// NSA becomes six kernels: the two pools, the fused compressed stage
// (attention, Eq. 9/10 scores and top-n: no score tensor in the plan), the
// selected and window attentions, and the gated combine. The indices and
// counts are workspace buffers of [B, T, Hkv, 16] and [B, T, Hkv].

// CHECK: skim.plan = "skim-plan 1
// CHECK-SAME: buffer 8 workspace -1 i32 3 d0.0 d0.1 2\0Abuffer 9 workspace -1 i32 4 d0.0 d0.1 2 16
// CHECK-SAME: kernel skim_k0_pool
// CHECK-SAME: kernel skim_k1_pool
// CHECK-SAME: kernel skim_k2_nsa_compressed grid d0.1,16,cdiv 2 d0.0
// CHECK-SAME: kernel skim_k3_attention grid d0.1,16,cdiv 2 d0.0
// CHECK-SAME: kernel skim_k4_attention
// CHECK-SAME: kernel skim_k5_combine
// CHECK-NOT: f32 4 d0.0 d0.1 2 {{.+}}cdiv
// CHECK-LABEL: func.func @skim_k2_nsa_compressed
// Compressed attention: Q·Kᵀ (K loaded transposed, 64 rows) and P·V.
// CHECK: skim_tile.load {{.+}} {row_dim = 1 : i64, stage = 0 : i64, transpose} : memref<?xf32>, memref<32x64xf32>
// CHECK: skim_tile.gemm %{{.+}} : memref<64x32xf32>, memref<32x64xf32>, memref<64x64xf32>
// CHECK: skim_tile.gemm %{{.+}} : memref<64x64xf32>, memref<64x32xf32>, memref<64x32xf32>
// Scores: recompute Q·Kᵀ, group sum (E, 16 tokens x 64 rows) and the Eq. 9
// overlap matrix (64 compressed keys x 17 selection blocks).
// CHECK: skim_tile.gemm %{{.+}} : memref<64x32xf32>, memref<32x64xf32>, memref<64x64xf32>
// CHECK: skim_tile.gemm %{{.+}} : memref<16x64xf32>, memref<64x64xf32>, memref<16x64xf32>
// CHECK: skim_tile.gemm %{{.+}} : memref<16x64xf32>, memref<64x17xf32>, memref<16x17xf32>
// CHECK-LABEL: func.func @skim_k3_attention
// A group of 4 heads is too few rows for a tile: 16 tokens share one, and
// walk the union of their selections, each row masked to its own token's.
// CHECK: skim_tile.load {{.+}} {group = 4 : i64} : memref<?xf32>, memref<64x32xf32>
// CHECK: scf.for
// CHECK: skim_tile.load {{.+}} {row_dim = 1 : i64, stage = 0 : i64, transpose} : memref<?xf32>, memref<32x64xf32>
// CHECK: skim_tile.map ins(%{{.+}} : memref<64xf32>) outs(%{{.+}} : memref<64x64xf32>) attributes {indexing = ["i"]}
func.func @nsa(%q: tensor<?x?x8x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>,
               %g: tensor<?x?x8xf32>) -> tensor<?x?x8x32xf32> {
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      : tensor<?x?x8x32xf32>, keys(tensor<?x?x2x32xf32>), values(tensor<?x?x2x32xf32>),
        gates tensor<?x?x8xf32>
  return %o : tensor<?x?x8x32xf32>
}
