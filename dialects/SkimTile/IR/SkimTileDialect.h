//===- SkimTileDialect.h - skim_tile dialect --------------------*- C++ -*-===//

#ifndef SKIMTILE_IR_SKIMTILEDIALECT_H
#define SKIMTILE_IR_SKIMTILEDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Dialect.h"

#include "SkimTile/IR/SkimTileDialect.h.inc"

#endif // SKIMTILE_IR_SKIMTILEDIALECT_H
