//===- SkimDialect.h - skim dialect -----------------------------*- C++ -*-===//

#ifndef SKIM_IR_SKIMDIALECT_H
#define SKIM_IR_SKIMDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "Skim/IR/SkimDialect.h.inc"

#endif // SKIM_IR_SKIMDIALECT_H
