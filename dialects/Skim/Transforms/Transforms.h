//===- Transforms.h - skim rewrite patterns ---------------------*- C++ -*-===//

#ifndef SKIM_TRANSFORMS_TRANSFORMS_H
#define SKIM_TRANSFORMS_TRANSFORMS_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::skim {

/// Patterns that rewrite skim.nsa and skim.moba into primitive ops. Each
/// attention they create carries `kStageAttrName`: the name of the variant
/// stage whose schedule it takes.
void populateExpandVariantsPatterns(RewritePatternSet &patterns);

/// The discardable attribute naming an expanded attention's stage.
inline constexpr llvm::StringLiteral kStageAttrName = "skim.stage";

} // namespace mlir::skim

#endif // SKIM_TRANSFORMS_TRANSFORMS_H
