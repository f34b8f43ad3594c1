//===- SkimTileDialect.cpp - skim_tile dialect registration ---------------===//

#include "SkimTile/IR/SkimTileOps.h"

using namespace mlir;
using namespace mlir::skim::tile;

#include "SkimTile/IR/SkimTileDialect.cpp.inc"

void SkimTileDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "SkimTile/IR/SkimTileOps.cpp.inc"
      >();
  registerAttributes();
}
