// The KV-major order (FSA's): a per-token selection inverted into per-block
// token lists (count, scan, items, list), then pass 1 (each slot's LSE),
// the LSE per row, pass 2 (P·V added atomically into f32 O) and O into the
// result. Counts and O are workspace the runtime zeroes; nothing is T × S.
// Attentions the order cannot serve are refused with the reason.
// RUN: skim-opt %s --split-input-file --skim-expand-variants --skim-tile --verify-diagnostics | FileCheck %s

// CHECK: buffer 6 workspace -1 i32 3 d0.0 1 d1.1,64,cdiv zero
// CHECK: buffer 9 workspace -1 i32 4 d0.0 1 d0.1,16,*,32,cdiv,d1.1,64,cdiv,+ 3
// CHECK: buffer 12 workspace -1 f32 3 d0.0 d0.1,16,* 16
// CHECK: buffer 14 workspace -1 f32 4 d0.0 d0.1 16 128 zero
// CHECK: kernel skim_k0_kv_count grid d0.1,4,cdiv 1 d0.0
// CHECK: kernel skim_k1_kv_scan grid 1 1 d0.0
// CHECK: kernel skim_k2_kv_items grid d1.1,64,cdiv 1 d0.0
// CHECK: kernel skim_k3_kv_list grid d0.1,4,cdiv 1 d0.0
// CHECK: kernel skim_k4_kv_lse_slots grid d0.1,16,*,32,cdiv,d1.1,64,cdiv,+ 1 d0.0
// CHECK: kernel skim_k5_kv_lse grid d0.1 1 d0.0
// CHECK: kernel skim_k6_kv_attend grid d0.1,16,*,32,cdiv,d1.1,64,cdiv,+ 1 d0.0
// CHECK: kernel skim_k7_kv_out grid d0.1 1 d0.0
// CHECK-LABEL: func.func @skim_k0_kv_count
// CHECK: memref.atomic_rmw addi
// CHECK-LABEL: func.func @skim_k3_kv_list
// CHECK: memref.atomic_rmw addi
// CHECK-LABEL: func.func @skim_k4_kv_lse_slots
// Q rows of four tokens (64 rows), gathered by token number.
// CHECK: skim_tile.load %{{.*}} rows(%{{.*}} : memref<4xindex>) into %{{.*}} {group = 16 : i64} : memref<?xbf16>, memref<64x128xf32>
// CHECK: skim_tile.gemm
// CHECK: skim_tile.store %{{.*}} rows(%{{.*}} : memref<4xindex>) {group = 16 : i64}
// CHECK-LABEL: func.func @skim_k6_kv_attend
// CHECK: skim_tile.gemm
// CHECK: skim_tile.gemm
// CHECK: skim_tile.store %{{.*}} rows(%{{.*}} : memref<4xindex>) {accumulate, group = 16 : i64} : memref<64x128xf32>, memref<?xf32>
func.func @kv_major(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<order = kv_major>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @no_selection(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{schedule order = kv_major inverts a selection, and this attention has no indices}}
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<order = kv_major>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @query_blocks(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{schedule order = kv_major needs per-token selections (q_block 1)}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, q_block = 64, schedule = #skim.schedule<order = kv_major>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @window(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{schedule order = kv_major covers selected blocks only, not a window or sink}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal, window = 64>, kv_block = 64, schedule = #skim.schedule<order = kv_major>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @split(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{schedule order = kv_major already spreads a row's blocks over programs: drop split_kv}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<order = kv_major, split_kv = 2>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @rows(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{schedule order = kv_major packs whole tokens: block_m 24 is not a multiple of the 16 query rows a token has per selection}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<block_m = 24, order = kv_major>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
