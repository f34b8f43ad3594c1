//===- SkimAttrs.h - skim attributes ----------------------------*- C++ -*-===//

#ifndef SKIM_IR_SKIMATTRS_H
#define SKIM_IR_SKIMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "Skim/IR/SkimEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "Skim/IR/SkimAttrs.h.inc"

#endif // SKIM_IR_SKIMATTRS_H
