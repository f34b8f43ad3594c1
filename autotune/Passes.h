//===- Passes.h - the autotuner's passes ------------------------*- C++ -*-===//

#ifndef SKIM_AUTOTUNE_PASSES_H
#define SKIM_AUTOTUNE_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace skim::tune {

#define GEN_PASS_DECL
#include "autotune/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "autotune/Passes.h.inc"

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_PASSES_H
