// A schedule cannot ask for a CTA the hardware does not have.
// RUN: not skim-opt %s --skim-tile --skim-lower-tile-to-gpu 2>&1 | FileCheck %s
// CHECK: error: a CTA of 2048 threads: schedules may ask for 1 to 32 warps
func.func @f(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x1x128xbf16>, %v: tensor<?x?x1x128xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>, schedule = #skim.schedule<warps = 64>}
      : tensor<?x?x16x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>
  return %o, %lse : tensor<?x?x16x128xbf16>, tensor<?x16x?xf32>
}
