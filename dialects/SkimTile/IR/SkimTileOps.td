//===- SkimTileOps.td - skim_tile operations ---------------*- tablegen -*-===//
//
// Tiles are statically shaped memrefs made by `skim_tile.alloc`; ops write
// their results into a destination tile (destination-passing style), so a
// kernel reads like TileLang: alloc, load, gemm, reduce, map, store. Global
// tensors are flat 1-D memrefs addressed with explicit offsets and strides,
// which is what GPU kernels receive too.
//
//===----------------------------------------------------------------------===//

#ifndef SKIMTILE_IR_SKIMTILEOPS_TD
#define SKIMTILE_IR_SKIMTILEOPS_TD

include "SkimTile/IR/SkimTileAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def SkimTile_Tile : MemRefRankOf<[F32], [1, 2]>;
def SkimTile_Global : MemRefRankOf<[F32, BF16, F16, I32], [1]>;
def SkimTile_RowOffsets : MemRefRankOf<[Index], [1]>;

def SkimTile_BlockIdOp : SkimTile_Op<"block_id", [Pure]> {
  let summary = "index of this program instance in the grid (x, y or z)";
  let arguments = (ins ConfinedAttr<I64Attr, [IntMinValue<0>, IntMaxValue<2>]>:$dim);
  let results = (outs Index:$result);
  let assemblyFormat = "$dim attr-dict";
}

def SkimTile_AllocOp : SkimTile_Op<"alloc"> {
  let summary = "a tile buffer with a memory kind and a layout";
  let description = [{
    `fragment` tiles live in registers, spread over the lanes in `layout`;
    `shared` tiles live in workgroup memory. On the CPU both are stack
    buffers of one thread.
  }];
  let arguments = (ins SkimTile_TileAttr:$tile);
  let results = (outs SkimTile_Tile:$result);
  let assemblyFormat = "$tile attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def SkimTile_LoadOp : SkimTile_Op<"load", [AttrSizedOperandSegments]> {
  let summary = "global rows → tile, with conversion, masking and padding";
  let description = [{
    Row r of the tile reads `cols` contiguous elements of `source` starting at
    `offset + (r / group) * outer_stride + (r % group) * inner_stride`; rows
    with `r / group >= valid` are filled with `padding` instead (boundary
    masking). `group` packs GQA heads of one token into consecutive rows.
    Elements are converted to f32. With `transpose`, global row r lands in
    tile column r (the tile is cols × rows): K stored as Kᵀ, so Q·Kᵀ is a
    plain gemm of broadcasts along rows (ldmatrix.trans on NVIDIA). `stage`
    names the pipeline stage of an asynchronous copy on targets that have one
    (cp.async, TMA); the CPU loads synchronously.

    `coords`, when present, name the element at `offset` by its coordinates in
    the kernel argument's plan buffer (outermost dimension first), and
    `row_dim` is the dimension the rows walk (its stride is `outer_stride`;
    columns walk the innermost one). A target may then copy the tile as a box
    of that buffer (TMA), so rows past `valid` hold either `padding` or the
    buffer's own elements there (zero past the buffer's end): the consumer
    must not depend on them. Only loads with `group` 1 carry coordinates.

    `row_offsets`, when present, gathers: row group i = r / group starts at
    `offset + row_offsets[i] * outer_stride` instead of `offset + i *
    outer_stride` (the query rows of the tokens that chose one KV block, in
    the KV-major order). Entries at or past `valid` are not read. A gathered
    load has no coordinates and no transpose.
  }];
  let arguments = (ins SkimTile_Global:$source, Index:$offset,
                       Index:$outer_stride, Index:$inner_stride, Index:$valid,
                       SkimTile_Tile:$dest, Variadic<Index>:$coords,
                       Optional<SkimTile_RowOffsets>:$row_offsets,
                       DefaultValuedAttr<I64Attr, "1">:$group,
                       DefaultValuedAttr<F32Attr, "0.0f">:$padding,
                       OptionalAttr<I64Attr>:$stage,
                       OptionalAttr<I64Attr>:$row_dim,
                       UnitAttr:$transpose);
  let assemblyFormat = [{
    $source `[` $offset `]` `strides` `(` $outer_stride `,` $inner_stride `)`
    `valid` `(` $valid `)` (`coords` `(` $coords^ `)`)?
    (`rows` `(` $row_offsets^ `:` type($row_offsets) `)`)? `into` $dest attr-dict
    `:` type($source) `,` type($dest)
  }];
  let hasVerifier = 1;
}

def SkimTile_StoreOp : SkimTile_Op<"store"> {
  let summary = "tile → global rows, with conversion and masking";
  let description = [{
    The inverse of `skim_tile.load`: rows with `r / group < valid` are written,
    converted to the element type of `dest`; `row_offsets` scatters them as
    it gathers for a load.

    With `accumulate` each element is added to `dest` atomically instead
    (f32 destinations only): partial outputs of one row that several
    programs compute (the KV-major order's P·V per chosen block) sum in
    place. The order of the additions is not fixed, so the sum may differ
    between runs in its last bits.
  }];
  let arguments = (ins SkimTile_Tile:$source, SkimTile_Global:$dest,
                       Index:$offset, Index:$outer_stride, Index:$inner_stride,
                       Index:$valid, Optional<SkimTile_RowOffsets>:$row_offsets,
                       DefaultValuedAttr<I64Attr, "1">:$group,
                       UnitAttr:$accumulate);
  let assemblyFormat = [{
    $source `into` $dest `[` $offset `]` `strides` `(` $outer_stride `,`
    $inner_stride `)` `valid` `(` $valid `)`
    (`rows` `(` $row_offsets^ `:` type($row_offsets) `)`)? attr-dict
    `:` type($source) `,` type($dest)
  }];
  let hasVerifier = 1;
}

def SkimTile_FillOp : SkimTile_Op<"fill"> {
  let summary = "set every element of a tile";
  let arguments = (ins SkimTile_Tile:$dest, F32Attr:$value);
  let assemblyFormat = "$dest `,` $value attr-dict `:` type($dest)";
}

def SkimTile_GemmOp : SkimTile_Op<"gemm"> {
  let summary = "acc += a · b (or a · bᵀ), f32 accumulation";
  let description = [{
    `a` is M×K; `b` is K×N, or N×K with `transpose_b` (K stored as
    `[keys][d]` gives Q·Kᵀ without a transpose). On NVIDIA this is mma.sync
    or wgmma, on AMD MFMA/WMMA, on the CPU a vector FMA loop.
  }];
  let arguments = (ins SkimTile_Tile:$a, SkimTile_Tile:$b, SkimTile_Tile:$acc,
                       UnitAttr:$transpose_b);
  let assemblyFormat = [{
    $a `,` $b `,` $acc attr-dict `:` type($a) `,` type($b) `,` type($acc)
  }];
  let hasVerifier = 1;
}

def SkimTile_ReduceKindAttr : I32EnumAttr<"ReduceKind", "row reduction",
    [I32EnumAttrCase<"max", 0>, I32EnumAttrCase<"sum", 1>]> {
  let cppNamespace = "::mlir::skim::tile";
}

def SkimTile_ReduceOp : SkimTile_Op<"reduce"> {
  let summary = "per-row max or sum of a tile, combined into a row vector";
  let description = [{
    `dest[m] = combine(dest[m], reduce_n source[m, n])`. On GPUs a row is
    spread over lanes (xor shuffles); on AMD the Sᵀ orientation keeps it in
    one lane.
  }];
  let arguments = (ins SkimTile_ReduceKindAttr:$kind, SkimTile_Tile:$source,
                       SkimTile_Tile:$dest);
  let assemblyFormat = [{
    $kind $source `into` $dest attr-dict `:` type($source) `,` type($dest)
  }];
  let hasVerifier = 1;
}

def SkimTile_MapOp : SkimTile_Op<"map", [SingleBlock]> {
  let summary = "elementwise computation over a tile's index space";
  let description = [{
    Iterates over the shape of `dest` (rank 1 or 2). The region receives the
    row and column indices (one index for rank 1), then one f32 element per
    input, then the current element of `dest`, and yields the new element.
    `indexing` says how each input is read: "ij" (same shape), "i" (a row
    vector of M elements, or an Mx1 tile, broadcast along columns) or "j" (a
    column vector). Bodies may use
    arith and math ops on f32, i1 and index values; that is what softmax,
    masking and rescaling need, and it vectorises on every target.
  }];
  let arguments = (ins Variadic<SkimTile_Tile>:$inputs, SkimTile_Tile:$dest,
                       StrArrayAttr:$indexing);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    (`ins` `(` $inputs^ `:` type($inputs) `)`)? `outs` `(` $dest `:` type($dest) `)`
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "ValueRange":$inputs, "Value":$dest,
                   "ArrayRef<StringRef>":$indexing)>
  ];
}

def SkimTile_YieldOp : SkimTile_Op<"yield", [Pure, Terminator,
    HasParent<"MapOp">, ReturnLike]> {
  let summary = "the new element of a skim_tile.map";
  let arguments = (ins F32:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif // SKIMTILE_IR_SKIMTILEOPS_TD
