//===- SkimOps.h - skim operations ------------------------------*- C++ -*-===//

#ifndef SKIM_IR_SKIMOPS_H
#define SKIM_IR_SKIMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "Skim/IR/SkimAttrs.h"
#include "Skim/IR/SkimDialect.h"

#define GET_OP_CLASSES
#include "Skim/IR/SkimOps.h.inc"

#endif // SKIM_IR_SKIMOPS_H
