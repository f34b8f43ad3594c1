// RUN: skim-opt %s | skim-opt | FileCheck %s
// RUN: skim-opt %s -mlir-print-op-generic | skim-opt | FileCheck %s

// One round-trip case per op: the printed form parses back to itself, and the
// generic form parses back to the custom one.

// CHECK-LABEL: func @attention_dense
func.func @attention_dense(%q: tensor<1x?x8x64xf32>, %k: tensor<1x?x2x64xf32>,
                           %v: tensor<1x?x2x32xf32>) -> tensor<1x8x?xf32> {
  // CHECK: %{{[a-z0-9_]+}}, %[[LSE:.+]] = skim.attention %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<1x?x8x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x32xf32>
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x?x8x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x32xf32>
  // CHECK: return %[[LSE]] : tensor<1x8x?xf32>
  return %lse : tensor<1x8x?xf32>
}

// CHECK-LABEL: func @attention_every_field
func.func @attention_every_field(%q: tensor<2x100x16x128xbf16>,
    %k: tensor<2x700x4x128xbf16>, %v: tensor<2x700x4x128xbf16>,
    %idx: tensor<2x1x16x8xi32>, %cnt: tensor<2x1x16xi32>, %L: index)
    -> tensor<2x100x16x128xbf16> {
  // CHECK: %[[O:.+]], %{{[a-z0-9_]+}} = skim.attention %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} indices(%{{[a-z0-9_]+}} : tensor<2x1x16x8xi32>) counts(%{{[a-z0-9_]+}} : tensor<2x1x16xi32>) kv_tokens(%{{[a-z0-9_]+}})
  // CHECK-SAME: kv_block = 128 : i64
  // CHECK-SAME: mask = #skim.mask<causal, window = 512, sink = 4>
  // CHECK-SAME: q_block = 128 : i64
  // CHECK-SAME: scale = 1.250000e-01 : f32
  // CHECK-SAME: schedule = #skim.schedule<block_m = 128, order = kv_major, pack_gqa = false, tokens_per_tile = 4, split_kv = 2, prefetch = false, overlap = true, target = #skim.sm90<consumer_warpgroups = 3, cluster = 2>>
  // CHECK-SAME: softcap = 5.000000e+01 : f32
  // CHECK-SAME: : tensor<2x100x16x128xbf16>, tensor<2x700x4x128xbf16>, tensor<2x700x4x128xbf16>
  %o, %lse = skim.attention %q, %k, %v
      indices(%idx : tensor<2x1x16x8xi32>) counts(%cnt : tensor<2x1x16xi32>)
      kv_tokens(%L)
      {mask = #skim.mask<causal, window = 512, sink = 4>, scale = 0.125 : f32,
       softcap = 50.0 : f32, kv_block = 128, q_block = 128,
       schedule = #skim.schedule<block_m = 128, order = kv_major,
                                 pack_gqa = false, tokens_per_tile = 4,
                                 split_kv = 2, overlap = true, prefetch = false,
                                 target = #skim.sm90<consumer_warpgroups = 3,
                                                     cluster = 2>>}
      : tensor<2x100x16x128xbf16>, tensor<2x700x4x128xbf16>, tensor<2x700x4x128xbf16>
  // CHECK: return %[[O]]
  return %o : tensor<2x100x16x128xbf16>
}

// CHECK-LABEL: func @attention_compressed_keys
func.func @attention_compressed_keys(%q: tensor<1x?x4x64xf16>,
    %k: tensor<1x?x1x64xf16>, %v: tensor<1x?x1x64xf16>, %L: index)
    -> tensor<1x?x4x64xf16> {
  // CHECK: skim.attention {{.*}} kv_tokens(%{{[a-z0-9_]+}}) {key_offset = 31 : i64, key_stride = 16 : i64, mask = #skim.mask<causal>, schedule = #skim.schedule<target = #skim.amd<mma_m = 16, mma_n = 16, mma_k = 16, wave_size = 32>>}
  %o, %lse = skim.attention %q, %k, %v kv_tokens(%L)
      {mask = #skim.mask<causal>, key_stride = 16, key_offset = 31,
       schedule = #skim.schedule<target = #skim.amd<mma_m = 16, mma_n = 16,
                                                    mma_k = 16, wave_size = 32>>}
      : tensor<1x?x4x64xf16>, tensor<1x?x1x64xf16>, tensor<1x?x1x64xf16>
  return %o : tensor<1x?x4x64xf16>
}

// CHECK-LABEL: func @pool
func.func @pool(%k: tensor<1x8192x4x128xbf16>, %w: tensor<4096x128xbf16>,
                %pe: tensor<32x128xbf16>)
    -> (tensor<1x511x4x128xbf16>, tensor<1x511x4x128xbf16>) {
  // CHECK: skim.pool mean %{{[a-z0-9_]+}} {block = 32 : i64, stride = 16 : i64} : tensor<1x8192x4x128xbf16>
  %m = skim.pool mean %k {block = 32, stride = 16} : tensor<1x8192x4x128xbf16>
  // CHECK: skim.pool linear %{{[a-z0-9_]+}} weights(%{{[a-z0-9_]+}} : tensor<4096x128xbf16>) pos_emb(%{{[a-z0-9_]+}} : tensor<32x128xbf16>) {block = 32 : i64, schedule = #skim.schedule<warps = 8>, stride = 16 : i64}
  %l = skim.pool linear %k weights(%w : tensor<4096x128xbf16>)
      pos_emb(%pe : tensor<32x128xbf16>)
      {block = 32, stride = 16, schedule = #skim.schedule<warps = 8>}
      : tensor<1x8192x4x128xbf16>
  return %m, %l : tensor<1x511x4x128xbf16>, tensor<1x511x4x128xbf16>
}

// CHECK-LABEL: func @block_scores
func.func @block_scores(%q: tensor<1x?x64x128xbf16>, %kc: tensor<1x?x4x128xbf16>,
    %lse: tensor<1x64x?xf32>, %km: tensor<1x?x4x128xbf16>, %L: index)
    -> (tensor<1x?x4x?xf32>, tensor<1x?x64x?xf32>) {
  // CHECK: skim.block_scores nsa %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} lse(%{{[a-z0-9_]+}} : tensor<1x64x?xf32>) kv_tokens(%{{[a-z0-9_]+}}) {block = 64 : i64, cmp_block = 32 : i64, cmp_stride = 16 : i64} : tensor<1x?x64x128xbf16>, tensor<1x?x4x128xbf16> -> tensor<1x?x4x?xf32>
  %n = skim.block_scores nsa %q, %kc lse(%lse : tensor<1x64x?xf32>) kv_tokens(%L)
      {block = 64, cmp_block = 32, cmp_stride = 16}
      : tensor<1x?x64x128xbf16>, tensor<1x?x4x128xbf16> -> tensor<1x?x4x?xf32>
  // CHECK: skim.block_scores moba %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} kv_tokens(%{{[a-z0-9_]+}}) {block = 512 : i64} : tensor<1x?x64x128xbf16>, tensor<1x?x4x128xbf16> -> tensor<1x?x64x?xf32>
  %m = skim.block_scores moba %q, %km kv_tokens(%L) {block = 512}
      : tensor<1x?x64x128xbf16>, tensor<1x?x4x128xbf16> -> tensor<1x?x64x?xf32>
  return %n, %m : tensor<1x?x4x?xf32>, tensor<1x?x64x?xf32>
}

// CHECK-LABEL: func @topk
func.func @topk(%s: tensor<1x1000x4x16xf32>) -> (tensor<1x1000x4x16xi32>, tensor<1x1000x4xi32>) {
  %L = arith.constant 1000 : index
  // CHECK: %[[I:.+]], %[[C:.+]] = skim.topk %{{[a-z0-9_]+}} kv_tokens(%{{[a-z0-9_]+}}) {block = 64 : i64, force_first = 1 : i64, force_last = 2 : i64, n = 16 : i64} : tensor<1x1000x4x16xf32>
  %i, %c = skim.topk %s kv_tokens(%L) {n = 16, block = 64, force_first = 1, force_last = 2}
      : tensor<1x1000x4x16xf32>
  // CHECK: return %[[I]], %[[C]] : tensor<1x1000x4x16xi32>, tensor<1x1000x4xi32>
  return %i, %c : tensor<1x1000x4x16xi32>, tensor<1x1000x4xi32>
}

// CHECK-LABEL: func @combine
func.func @combine(%a: tensor<1x?x8x64xbf16>, %b: tensor<1x?x8x64xbf16>,
                   %ga: tensor<1x?x8xbf16>, %gb: tensor<1x?x8xbf16>) -> tensor<1x?x8x64xbf16> {
  // CHECK: skim.combine(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) gates(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) : (tensor<1x?x8x64xbf16>, tensor<1x?x8x64xbf16>), (tensor<1x?x8xbf16>, tensor<1x?x8xbf16>)
  %o = skim.combine(%a, %b) gates(%ga, %gb)
      : (tensor<1x?x8x64xbf16>, tensor<1x?x8x64xbf16>), (tensor<1x?x8xbf16>, tensor<1x?x8xbf16>)
  return %o : tensor<1x?x8x64xbf16>
}

// CHECK-LABEL: func @merge
func.func @merge(%a: tensor<4x1x8x64xf32>, %b: tensor<4x1x8x64xf32>,
                 %la: tensor<4x8x1xf32>, %lb: tensor<4x8x1xf32>)
    -> (tensor<4x1x8x64xf32>, tensor<4x8x1xf32>) {
  // CHECK: %[[O:.+]], %[[L:.+]] = skim.merge(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) lse(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) : (tensor<4x1x8x64xf32>, tensor<4x1x8x64xf32>), (tensor<4x8x1xf32>, tensor<4x8x1xf32>)
  %o, %l = skim.merge(%a, %b) lse(%la, %lb)
      : (tensor<4x1x8x64xf32>, tensor<4x1x8x64xf32>), (tensor<4x8x1xf32>, tensor<4x8x1xf32>)
  // CHECK: return %[[O]], %[[L]]
  return %o, %l : tensor<4x1x8x64xf32>, tensor<4x8x1xf32>
}

// CHECK-LABEL: func @nsa_shared_kv
func.func @nsa_shared_kv(%q: tensor<1x?x64x128xbf16>, %k: tensor<1x?x4x128xbf16>,
    %v: tensor<1x?x4x128xbf16>, %g: tensor<1x?x64xbf16>) -> tensor<1x?x64x128xbf16> {
  // CHECK: skim.nsa %{{[a-z0-9_]+}}, keys(%{{[a-z0-9_]+}}), values(%{{[a-z0-9_]+}}), gates(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) : tensor<1x?x64x128xbf16>, keys(tensor<1x?x4x128xbf16>), values(tensor<1x?x4x128xbf16>), gates tensor<1x?x64xbf16>
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
      : tensor<1x?x64x128xbf16>, keys(tensor<1x?x4x128xbf16>),
        values(tensor<1x?x4x128xbf16>), gates tensor<1x?x64xbf16>
  return %o : tensor<1x?x64x128xbf16>
}

// CHECK-LABEL: func @nsa_per_branch_kv
func.func @nsa_per_branch_kv(%q: tensor<1x?x16x64xf32>,
    %kc: tensor<1x?x1x64xf32>, %ks: tensor<1x?x1x64xf32>, %kw: tensor<1x?x1x64xf32>,
    %vc: tensor<1x?x1x64xf32>, %vs: tensor<1x?x1x64xf32>, %vw: tensor<1x?x1x64xf32>,
    %g: tensor<1x?x16xf32>, %wk: tensor<2048x64xf32>, %wv: tensor<2048x64xf32>)
    -> tensor<1x?x16x64xf32> {
  // CHECK: skim.nsa %{{[a-z0-9_]+}}, keys(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}), values(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}), gates(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) pool_weights(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}})
  // CHECK-SAME: {num_selected = 8 : i64, scale = 5.000000e-01 : f32, schedules = {selected = #skim.schedule<block_m = 16>}, window = 256 : i64}
  // CHECK-SAME: , pool_weights tensor<2048x64xf32>, tensor<2048x64xf32>
  %o = skim.nsa %q, keys(%kc, %ks, %kw), values(%vc, %vs, %vw), gates(%g, %g, %g)
      pool_weights(%wk, %wv)
      {num_selected = 8, window = 256, scale = 0.5 : f32,
       schedules = {selected = #skim.schedule<block_m = 16>}}
      : tensor<1x?x16x64xf32>,
        keys(tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>),
        values(tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>),
        gates tensor<1x?x16xf32>, pool_weights tensor<2048x64xf32>, tensor<2048x64xf32>
  return %o : tensor<1x?x16x64xf32>
}

// CHECK-LABEL: func @moba
func.func @moba(%q: tensor<1x?x32x128xbf16>, %k: tensor<1x?x8x128xbf16>,
                %v: tensor<1x?x8x128xbf16>) -> tensor<1x32x?xf32> {
  // CHECK: %{{[a-z0-9_]+}}, %[[LSE:.+]] = skim.moba %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {block = 4096 : i64, schedules = {scores = #skim.schedule<block_n = 128>}, top_k = 12 : i64} : tensor<1x?x32x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>
  %o, %lse = skim.moba %q, %k, %v
      {block = 4096, top_k = 12, schedules = {scores = #skim.schedule<block_n = 128>}}
      : tensor<1x?x32x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>
  // CHECK: return %[[LSE]]
  return %lse : tensor<1x32x?xf32>
}
