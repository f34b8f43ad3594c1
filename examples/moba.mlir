// Mixture of Block Attention: 512-token blocks, top 3 including the current
// block, per query token and head.
//
//   skim-opt examples/moba.mlir --skim-expand-variants
func.func @moba(%q: tensor<1x8192x32x128xbf16>, %k: tensor<1x8192x8x128xbf16>,
                %v: tensor<1x8192x8x128xbf16>)
    -> (tensor<1x8192x32x128xbf16>, tensor<1x32x8192xf32>) {
  %o, %lse = skim.moba %q, %k, %v {block = 512, top_k = 3}
      : tensor<1x8192x32x128xbf16>, tensor<1x8192x8x128xbf16>, tensor<1x8192x8x128xbf16>
  return %o, %lse : tensor<1x8192x32x128xbf16>, tensor<1x32x8192xf32>
}
