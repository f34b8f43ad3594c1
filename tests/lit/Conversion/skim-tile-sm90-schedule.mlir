// The NVIDIA sm_90a part of a schedule (#skim.sm90): skim-tile records it on
// the attention kernel (`skim.sm90`) for the sm_90a lowering, which checks
// it (lower-tile-to-gpu-sm90-schedule.mlir); `warps` stays the CTA's warps.
// RUN: skim-opt %s --split-input-file --skim-expand-variants --skim-tile --verify-diagnostics | FileCheck %s

// CHECK: skim.gpu_warps = 8
// CHECK: func.func @skim_k0_attention({{.*}} attributes {skim.sm90 = #skim.sm90<>, skim_tile.kernel}
func.func @fa3(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<block_m = 128, block_n = 128, warps = 8, target = #skim.sm90<>>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}

