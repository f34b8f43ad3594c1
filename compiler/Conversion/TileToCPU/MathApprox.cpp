//===- MathApprox.cpp - vectorised exp2 and tanh for the CPU --------------===//
//
// LLVM turns math.exp2 on a vector into one exp2f call per lane (TOOLCHAIN.md
// item 12). Rewrite exp2 as exp and use upstream's polynomial approximations,
// which stay in vector registers.
//
//===----------------------------------------------------------------------===//

#include "Conversion/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMCPUMATHAPPROXPASS
#include "Conversion/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;

namespace {
struct SkimCpuMathApproxPass
    : skim::impl::SkimCpuMathApproxPassBase<SkimCpuMathApproxPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns, {"exp2"});
    // The predicate sees operation names ("math.exp"), not mnemonics.
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.exp" || name == "math.tanh";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
