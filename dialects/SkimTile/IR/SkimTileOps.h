//===- SkimTileOps.h - skim_tile operations ---------------------*- C++ -*-===//

#ifndef SKIMTILE_IR_SKIMTILEOPS_H
#define SKIMTILE_IR_SKIMTILEOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "SkimTile/IR/SkimTileDialect.h"
#include "SkimTile/IR/SkimTileEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "SkimTile/IR/SkimTileAttrs.h.inc"

#define GET_OP_CLASSES
#include "SkimTile/IR/SkimTileOps.h.inc"

#endif // SKIMTILE_IR_SKIMTILEOPS_H
