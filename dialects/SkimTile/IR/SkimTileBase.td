//===- SkimTileBase.td - skim_tile dialect definition ------*- tablegen -*-===//
//
// The tile level: one kernel instance per grid block, working on small
// statically shaped tile buffers with explicit memory kinds and layouts
// (TileLang's fragment/shared buffers are the model). docs/TileLevel.md is
// the rationale. Every target lowers from here: the CPU maps tiles to stack
// buffers and vector loops; NVIDIA and AMD distribute them to lanes.
//
//===----------------------------------------------------------------------===//

#ifndef SKIMTILE_IR_SKIMTILEBASE_TD
#define SKIMTILE_IR_SKIMTILEBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def SkimTile_Dialect : Dialect {
  let name = "skim_tile";
  let cppNamespace = "::mlir::skim::tile";
  let summary = "Tiles with explicit memory kinds and layouts, per grid block";
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class SkimTile_Op<string mnemonic, list<Trait> traits = []>
    : Op<SkimTile_Dialect, mnemonic, traits>;

#endif // SKIMTILE_IR_SKIMTILEBASE_TD
