// A malformed file makes skim-opt exit non-zero with file:line:col: error:
// naming the problem (the unknown op name and the bad operand shape).
// RUN: not skim-opt %s 2>&1 | FileCheck %s

func.func @bad(%q: tensor<1x8x6x64xf32>, %k: tensor<1x8x4x64xf32>,
               %v: tensor<1x8x4x64xf32>) -> tensor<1x8x6x64xf32> {
  // CHECK: skim-opt-errors.mlir:[[@LINE+1]]:14: error: 'skim.attention' op query heads Hq = 6 must be a multiple of key heads Hkv = 4
  %o, %lse = skim.attention %q, %k, %v
      : tensor<1x8x6x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>
  return %o : tensor<1x8x6x64xf32>
}
