//===- Variants.h - the variants the autotuner tests tune -------*- C++ -*-===//
//
// The anchor shapes' variants with their sizes left dynamic: dense causal,
// NSA's per-token selected branch (group 16, 16 64-key blocks a token), and
// a small NSA whose window stage carries its own schedule.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_TESTS_UNIT_AUTOTUNE_VARIANTS_H
#define SKIM_TESTS_UNIT_AUTOTUNE_VARIANTS_H

namespace skim::tune::testing {

inline const char *const kCausal = R"(
func.func @causal(%q: tensor<?x?x64x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                  %v: tensor<?x?x4x128xbf16>)
    -> (tensor<?x?x64x128xbf16>, tensor<?x64x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
      : tensor<?x?x64x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>
  return %o, %lse : tensor<?x?x64x128xbf16>, tensor<?x64x?xf32>
})";

inline const char *const kSelected = R"(
func.func @selected(%q: tensor<?x?x64x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                    %v: tensor<?x?x4x128xbf16>, %idx: tensor<?x?x4x16xi32>)
    -> (tensor<?x?x64x128xbf16>, tensor<?x64x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x4x16xi32>)
      {mask = #skim.mask<causal>, kv_block = 64, q_block = 1}
      : tensor<?x?x64x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>
  return %o, %lse : tensor<?x?x64x128xbf16>, tensor<?x64x?xf32>
})";

inline const char *const kNsa = R"(
func.func @nsa(%q: tensor<1x?x16x64xbf16>, %k: tensor<1x?x1x64xbf16>,
               %v: tensor<1x?x1x64xbf16>, %g0: tensor<1x?x16xbf16>,
               %g1: tensor<1x?x16xbf16>, %g2: tensor<1x?x16xbf16>)
    -> tensor<1x?x16x64xbf16> {
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g0, %g1, %g2)
      {schedules = {window = #skim.schedule<block_m = 128>}}
      : tensor<1x?x16x64xbf16>, keys(tensor<1x?x1x64xbf16>),
        values(tensor<1x?x1x64xbf16>), gates tensor<1x?x16xbf16>
  return %o : tensor<1x?x16x64xbf16>
})";

} // namespace skim::tune::testing

#endif // SKIM_TESTS_UNIT_AUTOTUNE_VARIANTS_H
