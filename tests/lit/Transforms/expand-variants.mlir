// RUN: skim-opt %s --skim-expand-variants --split-input-file | FileCheck %s

// NSA with the paper's defaults and one K/V shared by every branch
// (l = 32, d = 16, l' = 64, n = 16, force_first 1, force_last 2, w = 512).
// S = 1000 is static, so kv_tokens is a constant and the selection has
// ceil(1000 / 64) = 16 blocks; the pool keeps (1000 - 32) / 16 + 1 = 61.

// CHECK-LABEL: func @nsa_defaults
// CHECK-SAME: (%[[Q:.+]]: tensor<1x1000x8x64xf32>, %[[K:.+]]: tensor<1x1000x2x64xf32>, %[[V:.+]]: tensor<1x1000x2x32xf32>, %[[GC:.+]]: tensor<1x1000x8xf32>, %[[GS:.+]]: tensor<1x1000x8xf32>, %[[GW:.+]]: tensor<1x1000x8xf32>)
// CHECK-NEXT: %[[S:.+]] = arith.constant 1000 : index
// CHECK-NEXT: %[[KC:.+]] = skim.pool mean %[[K]] {block = 32 : i64, stride = 16 : i64} : tensor<1x1000x2x64xf32>
// CHECK-NEXT: %[[VC:.+]] = skim.pool mean %[[V]] {block = 32 : i64, stride = 16 : i64} : tensor<1x1000x2x32xf32>
// CHECK-NEXT: %[[OC:.+]], %[[LC:.+]] = skim.attention %[[Q]], %[[KC]], %[[VC]] kv_tokens(%[[S]]) {key_offset = 31 : i64, key_stride = 16 : i64, mask = #skim.mask<causal>, skim.stage = "compressed"} : tensor<1x1000x8x64xf32>, tensor<1x61x2x64xf32>, tensor<1x61x2x32xf32>
// CHECK-NEXT: %[[SC:.+]] = skim.block_scores nsa %[[Q]], %[[KC]] lse(%[[LC]] : tensor<1x8x1000xf32>) kv_tokens(%[[S]]) {block = 64 : i64, cmp_block = 32 : i64, cmp_stride = 16 : i64} : tensor<1x1000x8x64xf32>, tensor<1x61x2x64xf32> -> tensor<1x1000x2x16xf32>
// CHECK-NEXT: %[[IDX:.+]], %[[CNT:.+]] = skim.topk %[[SC]] kv_tokens(%[[S]]) {block = 64 : i64, force_first = 1 : i64, force_last = 2 : i64, n = 16 : i64} : tensor<1x1000x2x16xf32>
// CHECK-NEXT: %[[OS:.+]], %{{.+}} = skim.attention %[[Q]], %[[K]], %[[V]] indices(%[[IDX]] : tensor<1x1000x2x16xi32>) counts(%[[CNT]] : tensor<1x1000x2xi32>) {kv_block = 64 : i64, mask = #skim.mask<causal>, skim.stage = "selected"} : tensor<1x1000x8x64xf32>, tensor<1x1000x2x64xf32>, tensor<1x1000x2x32xf32>
// CHECK-NEXT: %[[OW:.+]], %{{.+}} = skim.attention %[[Q]], %[[K]], %[[V]] {mask = #skim.mask<causal, window = 512>, skim.stage = "window"} : tensor<1x1000x8x64xf32>, tensor<1x1000x2x64xf32>, tensor<1x1000x2x32xf32>
// CHECK-NEXT: %[[O:.+]] = skim.combine(%[[OC]], %[[OS]], %[[OW]]) gates(%[[GC]], %[[GS]], %[[GW]])
// CHECK-NEXT: return %[[O]]
// CHECK-NOT: skim.nsa
func.func @nsa_defaults(%q: tensor<1x1000x8x64xf32>, %k: tensor<1x1000x2x64xf32>,
                        %v: tensor<1x1000x2x32xf32>, %gc: tensor<1x1000x8xf32>,
                        %gs: tensor<1x1000x8xf32>, %gw: tensor<1x1000x8xf32>)
    -> tensor<1x1000x8x32xf32> {
  %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw)
      : tensor<1x1000x8x64xf32>, keys(tensor<1x1000x2x64xf32>),
        values(tensor<1x1000x2x32xf32>), gates tensor<1x1000x8xf32>
  return %o : tensor<1x1000x8x32xf32>
}

// -----

// NSA with one K/V per branch, a learned linear compression, a custom
// selection, an explicit scale that must reach every branch and the scores,
// and per-stage schedules that must land on the op starting each stage.

// CHECK-LABEL: func @nsa_per_branch
// CHECK-SAME: (%[[Q:[^:]+]]: {{[^,]+}}, %[[KC:[^:]+]]: {{[^,]+}}, %[[KS:[^:]+]]: {{[^,]+}}, %[[KW:[^:]+]]: {{[^,]+}}, %[[VC:[^:]+]]: {{[^,]+}}, %[[VS:[^:]+]]: {{[^,]+}}, %[[VW:[^:]+]]: {{[^,]+}}, %[[G:[^:]+]]: {{[^,]+}}, %[[WK:[^:]+]]: {{[^,]+}}, %[[WV:[^:]+]]: {{[^)]+}})
// CHECK-NEXT: %[[C1:.+]] = arith.constant 1 : index
// CHECK-NEXT: %[[PK:.+]] = skim.pool linear %[[KC]] weights(%[[WK]] : tensor<1024x64xf32>) {block = 16 : i64, schedule = #skim.schedule<warps = 1>, stride = 8 : i64}
// CHECK-NEXT: %[[PV:.+]] = skim.pool linear %[[VC]] weights(%[[WV]] : tensor<1024x64xf32>) {block = 16 : i64, schedule = #skim.schedule<warps = 1>, stride = 8 : i64}
// CHECK-NEXT: %[[S:.+]] = tensor.dim %[[KC]], %[[C1]]
// CHECK-NEXT: %[[OC:.+]], %[[LC:.+]] = skim.attention %[[Q]], %[[PK]], %[[PV]] kv_tokens(%[[S]]) {key_offset = 15 : i64, key_stride = 8 : i64, mask = #skim.mask<causal>, scale = 2.500000e-01 : f32, schedule = #skim.schedule<block_n = 32>, skim.stage = "compressed"}
// CHECK-NEXT: %[[SS:.+]] = tensor.dim %[[KS]], %[[C1]]
// CHECK-NEXT: %[[SC:.+]] = skim.block_scores nsa %[[Q]], %[[PK]] lse(%[[LC]] : tensor<1x16x?xf32>) kv_tokens(%[[SS]]) {block = 32 : i64, cmp_block = 16 : i64, cmp_stride = 8 : i64, scale = 2.500000e-01 : f32, schedule = #skim.schedule<block_n = 32>} : tensor<1x?x16x64xf32>, tensor<1x?x1x64xf32> -> tensor<1x?x1x?xf32>
// CHECK-NEXT: %[[IDX:.+]], %[[CNT:.+]] = skim.topk %[[SC]] kv_tokens(%[[SS]]) {block = 32 : i64, force_first = 2 : i64, force_last = 1 : i64, n = 4 : i64}
// CHECK-NEXT: %[[OS:.+]], %{{.+}} = skim.attention %[[Q]], %[[KS]], %[[VS]] indices(%[[IDX]] : tensor<1x?x1x4xi32>) counts(%[[CNT]] : tensor<1x?x1xi32>) {kv_block = 32 : i64, mask = #skim.mask<causal>, scale = 2.500000e-01 : f32, schedule = #skim.schedule<block_m = 16, tokens_per_tile = 4>, skim.stage = "selected"}
// CHECK-NEXT: %[[OW:.+]], %{{.+}} = skim.attention %[[Q]], %[[KW]], %[[VW]] {mask = #skim.mask<causal, window = 100>, scale = 2.500000e-01 : f32, schedule = #skim.schedule<block_m = 128>, skim.stage = "window"}
// CHECK-NEXT: skim.combine(%[[OC]], %[[OS]], %[[OW]]) gates(%[[G]], %[[G]], %[[G]])
func.func @nsa_per_branch(%q: tensor<1x?x16x64xf32>,
    %kc: tensor<1x?x1x64xf32>, %ks: tensor<1x?x1x64xf32>, %kw: tensor<1x?x1x64xf32>,
    %vc: tensor<1x?x1x64xf32>, %vs: tensor<1x?x1x64xf32>, %vw: tensor<1x?x1x64xf32>,
    %g: tensor<1x?x16xf32>, %wk: tensor<1024x64xf32>, %wv: tensor<1024x64xf32>)
    -> tensor<1x?x16x64xf32> {
  %o = skim.nsa %q, keys(%kc, %ks, %kw), values(%vc, %vs, %vw), gates(%g, %g, %g)
      pool_weights(%wk, %wv)
      {cmp_block = 16, cmp_stride = 8, sel_block = 32, num_selected = 4,
       force_first = 2, force_last = 1, window = 100, scale = 0.25 : f32,
       schedules = {pool = #skim.schedule<warps = 1>,
                    compressed = #skim.schedule<block_n = 32>,
                    selected = #skim.schedule<block_m = 16, tokens_per_tile = 4>,
                    window = #skim.schedule<block_m = 128>}}
      : tensor<1x?x16x64xf32>,
        keys(tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>),
        values(tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>),
        gates tensor<1x?x16xf32>, pool_weights tensor<1024x64xf32>, tensor<1024x64xf32>
  return %o : tensor<1x?x16x64xf32>
}

// -----

// MoBA: mean pool with block = stride = B, scores of past complete blocks per
// query head, top-k with the current block forced, causal attention over the
// per-head selection. 8192 / 512 = 16 blocks.

// CHECK-LABEL: func @moba
// CHECK-SAME: (%[[Q:.+]]: tensor<1x8192x32x128xbf16>, %[[K:.+]]: tensor<1x8192x8x128xbf16>, %[[V:.+]]: tensor<1x8192x8x128xbf16>)
// CHECK-NEXT: %[[S:.+]] = arith.constant 8192 : index
// CHECK-NEXT: %[[KM:.+]] = skim.pool mean %[[K]] {block = 512 : i64, stride = 512 : i64} : tensor<1x8192x8x128xbf16>
// CHECK-NEXT: %[[SC:.+]] = skim.block_scores moba %[[Q]], %[[KM]] kv_tokens(%[[S]]) {block = 512 : i64, schedule = #skim.schedule<block_n = 16>} : tensor<1x8192x32x128xbf16>, tensor<1x16x8x128xbf16> -> tensor<1x8192x32x16xf32>
// CHECK-NEXT: %[[IDX:.+]], %[[CNT:.+]] = skim.topk %[[SC]] kv_tokens(%[[S]]) {block = 512 : i64, force_last = 1 : i64, n = 3 : i64} : tensor<1x8192x32x16xf32>
// CHECK-NEXT: %[[O:.+]], %[[L:.+]] = skim.attention %[[Q]], %[[K]], %[[V]] indices(%[[IDX]] : tensor<1x8192x32x3xi32>) counts(%[[CNT]] : tensor<1x8192x32xi32>) {kv_block = 512 : i64, mask = #skim.mask<causal>, scale = 1.250000e-01 : f32, skim.stage = "selected"}
// CHECK-NEXT: return %[[O]], %[[L]]
// CHECK-NOT: skim.moba
func.func @moba(%q: tensor<1x8192x32x128xbf16>, %k: tensor<1x8192x8x128xbf16>,
                %v: tensor<1x8192x8x128xbf16>)
    -> (tensor<1x8192x32x128xbf16>, tensor<1x32x8192xf32>) {
  %o, %lse = skim.moba %q, %k, %v
      {block = 512, top_k = 3, scale = 0.125 : f32,
       schedules = {scores = #skim.schedule<block_n = 16>}}
      : tensor<1x8192x32x128xbf16>, tensor<1x8192x8x128xbf16>, tensor<1x8192x8x128xbf16>
  return %o, %lse : tensor<1x8192x32x128xbf16>, tensor<1x32x8192xf32>
}

// -----

// Primitive ops are left alone.

// CHECK-LABEL: func @primitives_untouched
// CHECK-NEXT: skim.attention
// CHECK-NEXT: return
func.func @primitives_untouched(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x1x8xf32>,
                                %v: tensor<1x4x1x8xf32>) -> tensor<1x4x2x8xf32> {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<1x4x2x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>
  return %o : tensor<1x4x2x8xf32>
}
