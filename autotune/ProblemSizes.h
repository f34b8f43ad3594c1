//===- ProblemSizes.h - the sizes a variant is tuned for --------*- C++ -*-===//
//
// A variant leaves batch and token counts dynamic; a tuned schedule is for
// one bucket of them (Autotune.h's shapeBucket). Kept apart from Stage.h so
// the JIT's header can name it without MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_PROBLEMSIZES_H
#define SKIM_AUTOTUNE_PROBLEMSIZES_H

#include <cstdint>

namespace skim::tune {

/// Batch and token counts for the dimensions a variant leaves dynamic.
struct ProblemSizes {
  int64_t batch = 1;
  int64_t tokens = 1024;
  /// Keys; 0 means `tokens`.
  int64_t keyTokens = 0;
  int64_t keys() const { return keyTokens ? keyTokens : tokens; }
};

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_PROBLEMSIZES_H
