//===- Transforms.h - skim rewrite patterns ---------------------*- C++ -*-===//

#ifndef SKIM_TRANSFORMS_TRANSFORMS_H
#define SKIM_TRANSFORMS_TRANSFORMS_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::skim {

/// Patterns that rewrite skim.nsa and skim.moba into primitive ops.
void populateExpandVariantsPatterns(RewritePatternSet &patterns);

} // namespace mlir::skim

#endif // SKIM_TRANSFORMS_TRANSFORMS_H
