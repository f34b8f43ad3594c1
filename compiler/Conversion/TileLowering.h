//===- TileLowering.h - pieces every skim_tile lowering shares --*- C++ -*-===//

#ifndef SKIM_CONVERSION_TILELOWERING_H
#define SKIM_CONVERSION_TILELOWERING_H

#include "SkimTile/IR/SkimTileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::skim {

/// The global offset of row r of a skim_tile.load/store:
/// offset + (r / group) · outer + (r % group) · inner. `rowGroup` receives
/// r / group, the index compared with the op's `valid`.
inline Value tileRowOffset(OpBuilder &b, Location loc, Value r, int64_t group,
                           Value offset, Value outer, Value inner,
                           Value *rowGroup) {
  Value g = arith::ConstantIndexOp::create(b, loc, group);
  Value major = arith::DivUIOp::create(b, loc, r, g);
  Value minor = arith::RemUIOp::create(b, loc, r, g);
  *rowGroup = major;
  Value base = arith::AddIOp::create(
      b, loc, offset, arith::MulIOp::create(b, loc, major, outer));
  return arith::AddIOp::create(b, loc, base,
                               arith::MulIOp::create(b, loc, minor, inner));
}

/// Index and f32 scalars at the rewriter's insertion point: the words every
/// tile lowering spells its loops and addresses with.
class TileLoweringBase {
protected:
  explicit TileLoweringBase(RewriterBase &rewriter) : b(rewriter) {}

  Value cst(Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value add(Location loc, Value x, Value y) {
    return arith::AddIOp::create(b, loc, x, y);
  }
  Value mul(Location loc, Value x, Value y) {
    return arith::MulIOp::create(b, loc, x, y);
  }
  Value f32(Location loc, double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }

  /// `v` (scalar or vector, float or integer elements) as `type`, whose
  /// element type is a float: extended, truncated or converted.
  Value convert(Location loc, Value v, Type type) {
    Type from = getElementTypeOrSelf(v.getType());
    Type to = getElementTypeOrSelf(type);
    if (from == to)
      return v;
    if (!isa<FloatType>(from))
      return arith::SIToFPOp::create(b, loc, type, v);
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, type, v);
    return arith::TruncFOp::create(b, loc, type, v);
  }

  /// Row `row` of a skim_tile.load/store's global rows: its offset, and
  /// whether it is below the op's `valid`.
  template <typename TileIOOp>
  std::pair<Value, Value> globalRow(TileIOOp op, Value row) {
    Value major;
    Value base =
        tileRowOffset(b, op.getLoc(), row, op.getGroup(), op.getOffset(),
                      op.getOuterStride(), op.getInnerStride(), &major);
    Value inBounds = arith::CmpIOp::create(
        b, op.getLoc(), arith::CmpIPredicate::ult, major, op.getValid());
    return {base, inBounds};
  }

  /// The load's source[index] as `type`, or its padding where !inBounds.
  Value loadOrPad(tile::LoadOp op, Value inBounds, Value index, Type type) {
    Location loc = op.getLoc();
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, inBounds,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value v = memref::LoadOp::create(b, loc, op.getSource(), ValueRange{index});
    scf::YieldOp::create(b, loc, convert(loc, v, type));
    b.setInsertionPointToStart(ifOp.elseBlock());
    Value pad = arith::ConstantOp::create(
        b, loc, FloatAttr::get(type, op.getPadding().convertToDouble()));
    scf::YieldOp::create(b, loc, pad);
    return ifOp.getResult(0);
  }

  /// The store's dest[index] = value(), converted, where inBounds; `value`
  /// is built inside the bounds check.
  void storeIfInBounds(tile::StoreOp op, Value inBounds, Value index,
                       function_ref<Value()> value) {
    Location loc = op.getLoc();
    auto ifOp = scf::IfOp::create(b, loc, inBounds, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Type dstElt = cast<MemRefType>(op.getDest().getType()).getElementType();
    memref::StoreOp::create(b, loc, convert(loc, value(), dstElt), op.getDest(),
                            ValueRange{index});
  }

  RewriterBase &b;
};

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILELOWERING_H
