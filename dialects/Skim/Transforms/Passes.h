//===- Passes.h - skim transformation passes --------------------*- C++ -*-===//

#ifndef SKIM_TRANSFORMS_PASSES_H
#define SKIM_TRANSFORMS_PASSES_H

#include "Skim/IR/SkimOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::skim {

#define GEN_PASS_DECL
#include "Skim/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Skim/Transforms/Passes.h.inc"

} // namespace mlir::skim

#endif // SKIM_TRANSFORMS_PASSES_H
