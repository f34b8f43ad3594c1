// skim-tile's target defaults (set by the pipeline for sm_90a): 16-bit
// attention without a schedule gets `tensor-core-block-m` query rows (128
// when sm_90a loads by cp.async); f32 kernels and explicit schedules keep
// theirs; with `wgmma-rows`, per-token selections pack tokens to 64 rows
// (the third run is sm_90a with TMA: 64-row tiles).
// RUN: skim-opt %s --split-input-file --skim-tile="tensor-core-block-m=128 wgmma-rows=64" | FileCheck %s
// RUN: skim-opt %s --split-input-file --skim-tile | FileCheck %s --check-prefix=DEFAULT
// RUN: skim-opt %s --split-input-file --skim-tile=wgmma-rows=64 | FileCheck %s --check-prefix=WGMMA

// 128 rows = 8 tokens × 16 heads.
// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: skim_tile.alloc <fragment> : memref<128x128xf32>
// DEFAULT-LABEL: func.func @skim_k0_attention
// DEFAULT: skim_tile.alloc <fragment> : memref<64x128xf32>
// WGMMA-LABEL: func.func @skim_k0_attention
// WGMMA: skim_tile.alloc <fragment> : memref<64x128xf32>
func.func @bf16(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: skim_tile.alloc <fragment> : memref<64x64xf32>
func.func @f32(%q: tensor<?x?x16x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x1x64xf32>)
    -> (tensor<?x?x16x64xf32>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x16x64xf32>, tensor<?x?x1x64xf32>, tensor<?x?x1x64xf32>
  return %o, %lse : tensor<?x?x16x64xf32>, tensor<?x16x?xf32>
}

// -----

// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: skim_tile.alloc <fragment> : memref<32x64xf32>
func.func @scheduled(%q: tensor<?x?x16x64xbf16>, %k: tensor<?x?x1x64xbf16>, %v: tensor<?x?x1x64xbf16>)
    -> (tensor<?x?x16x64xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 32>}
      : tensor<?x?x16x64xbf16>, tensor<?x?x1x64xbf16>, tensor<?x?x1x64xbf16>
  return %o, %lse : tensor<?x?x16x64xbf16>, tensor<?x16x?xf32>
}

// -----

// Selections keep 64 rows (their per-row masks would spill at 128).
// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: skim_tile.alloc <fragment> : memref<64x128xf32>
func.func @selection(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>,
                     %idx: tensor<?x?x1x8xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x8xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 64}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// Per-token selections over a whole group of 16 heads (NSA's selected
// branch) pack 4 tokens into 64 rows, wgmma's M; each row is masked to its
// own token's blocks while the tile walks their union.
// CHECK-LABEL: func.func @skim_k0_attention
// CHECK: skim_tile.alloc <fragment> : memref<64x128xf32>
// DEFAULT-LABEL: func.func @skim_k0_attention
// DEFAULT: skim_tile.alloc <fragment> : memref<16x128xf32>
// WGMMA: func.func @skim_k0_attention
// WGMMA: skim_tile.alloc <fragment> : memref<64x128xf32>
func.func @token_selection(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>,
                           %idx: tensor<?x?x1x16xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 1}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// A group of 4 would pack 16 tokens over the union of their selections: on
// sm_90a (wgmma-rows) per-token selections of groups below 8 take the
// KV-major order instead, 64-row tiles of 16 tokens that all chose the
// block; a window keeps the query-major order (the CPU's default run has
// no wgmma rows and keeps it too: no kv_ kernel in the whole file).
// DEFAULT-NOT: kv_count
// CHECK-LABEL: func.func @skim_k0_kv_count
// CHECK-LABEL: func.func @skim_k4_kv_lse_slots
// CHECK: skim_tile.alloc <shared> : memref<64x128xf32>
// WGMMA-LABEL: func.func @skim_k4_kv_lse_slots
// WGMMA: skim_tile.alloc <shared> : memref<64x128xf32>
func.func @small_group(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>,
                       %idx: tensor<?x?x4x16xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x4x16xi32>) {mask = #skim.mask<causal>, kv_block = 64}
      : tensor<?x?x16x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

// CHECK-LABEL: func.func @skim_k0_attention
// CHECK-NOT: kv_count
// WGMMA-LABEL: func.func @skim_k0_attention
// WGMMA-NOT: kv_count
func.func @small_group_window(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>,
                              %idx: tensor<?x?x4x16xi32>) -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x4x16xi32>) {mask = #skim.mask<causal, window = 128>, kv_block = 64}
      : tensor<?x?x16x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
