//===- SkimDialect.cpp - skim dialect registration ------------------------===//

#include "Skim/IR/SkimDialect.h"
#include "Skim/IR/SkimAttrs.h"
#include "Skim/IR/SkimOps.h"


using namespace mlir;
using namespace mlir::skim;

#include "Skim/IR/SkimDialect.cpp.inc"

void SkimDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Skim/IR/SkimOps.cpp.inc"
      >();
  registerAttributes();
}
