// The NVIDIA sm_90a part of a schedule (#skim.sm90): skim-tile records it on
// the attention kernel (`skim.sm90`) for the sm_90a lowering, which checks
// it (lower-tile-to-gpu-sm90-schedule.mlir); `warps` stays the CTA's warps.
// The KV-major order, not built yet, is refused by name on every target.
// RUN: skim-opt %s --split-input-file --skim-expand-variants --skim-tile --verify-diagnostics | FileCheck %s

// CHECK: skim.gpu_warps = 8
// CHECK: func.func @skim_k0_attention({{.*}} attributes {skim.sm90 = #skim.sm90<>, skim_tile.kernel}
func.func @fa3(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 128, warps = 8, target = #skim.sm90<>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

// -----

func.func @kv_major(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>, %idx: tensor<?x?x1x16xi32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  // expected-error @+1 {{schedule order = kv_major (KV blocks outside, the queries that chose them inside) is not implemented yet; use query_major}}
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x16xi32>) {mask = #skim.mask<causal>, kv_block = 64, schedule = #skim.schedule<order = kv_major>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
