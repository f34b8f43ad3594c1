//===- SkimTileAttrs.td - skim_tile attributes -------------*- tablegen -*-===//

#ifndef SKIMTILE_IR_SKIMTILEATTRS_TD
#define SKIMTILE_IR_SKIMTILEATTRS_TD

include "SkimTile/IR/SkimTileBase.td"

def SkimTile_MemoryKind : I32EnumAttr<"MemoryKind", "where a tile lives",
    [I32EnumAttrCase<"fragment", 0>,   // registers, spread over the lanes
     I32EnumAttrCase<"shared", 1>]> {  // workgroup memory / LDS
  let cppNamespace = "::mlir::skim::tile";
  let genSpecializedAttr = 0;
}

def SkimTile_LayoutKind : I32EnumAttr<"LayoutKind",
    "how a tile's elements map onto lanes and registers",
    [I32EnumAttrCase<"row_major", 0>,        // CPU: one thread, rows in order
     I32EnumAttrCase<"mma_m16n8k16_a", 1>,   // NVIDIA mma.sync operand A
     I32EnumAttrCase<"mma_m16n8k16_b", 2>,   // NVIDIA mma.sync operand B
     I32EnumAttrCase<"mma_m16n8k16_c", 3>,   // NVIDIA mma.sync accumulator
     I32EnumAttrCase<"wgmma_acc", 4>,        // NVIDIA sm_90a accumulator
     I32EnumAttrCase<"smem_swizzle_128b", 5>,// NVIDIA TMA / wgmma operand
     I32EnumAttrCase<"mfma_32x32x8_c", 6>,   // AMD MFMA accumulator
     I32EnumAttrCase<"mfma_16x16x16_c", 7>,
     I32EnumAttrCase<"wmma_16x16x16_c", 8>]> {
  let cppNamespace = "::mlir::skim::tile";
  let genSpecializedAttr = 0;
}

def SkimTile_TileAttr : AttrDef<SkimTile_Dialect, "Tile"> {
  let mnemonic = "tile";
  let summary = "memory kind and layout of a tile buffer";
  let description = [{
    Attached to every `skim_tile.alloc`. The CPU reads neither part (every
    tile is a stack buffer of one thread); GPU distribution passes will
    replace `row_major` with the fragment layout of the instruction that
    consumes the tile (see docs/TileLevel.md).
  }];
  let parameters = (ins
    EnumParameter<SkimTile_MemoryKind>:$memory,
    DefaultValuedParameter<"::mlir::skim::tile::LayoutKind",
                           "::mlir::skim::tile::LayoutKind::row_major">:$layout);
  let assemblyFormat = "`<` $memory (`,` $layout^)? `>`";
}

#endif // SKIMTILE_IR_SKIMTILEATTRS_TD
