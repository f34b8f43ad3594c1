// Native Sparse Attention with the paper's defaults (l = 32, d = 16, l' = 64,
// n = 16, w = 512) on a 64-head / 4-KV-head model, any sequence length.
//
//   skim-opt examples/nsa.mlir --skim-expand-variants
func.func @nsa(%q: tensor<1x?x64x128xbf16>, %k: tensor<1x?x4x128xbf16>,
               %v: tensor<1x?x4x128xbf16>, %g_cmp: tensor<1x?x64xbf16>,
               %g_slc: tensor<1x?x64xbf16>, %g_win: tensor<1x?x64xbf16>)
    -> tensor<1x?x64x128xbf16> {
  %o = skim.nsa %q, keys(%k), values(%v), gates(%g_cmp, %g_slc, %g_win)
      : tensor<1x?x64x128xbf16>, keys(tensor<1x?x4x128xbf16>),
        values(tensor<1x?x4x128xbf16>), gates tensor<1x?x64xbf16>
  return %o : tensor<1x?x64x128xbf16>
}
