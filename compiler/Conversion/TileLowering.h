//===- TileLowering.h - pieces every skim_tile lowering shares --*- C++ -*-===//

#ifndef SKIM_CONVERSION_TILELOWERING_H
#define SKIM_CONVERSION_TILELOWERING_H

#include "SkimTile/IR/SkimTileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

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
  /// whether it is below the op's `valid`. A gathering op's row group i is
  /// row_offsets[i] instead of i (entry 0 is read for groups past `valid`,
  /// whose rows no one touches).
  template <typename TileIOOp>
  std::pair<Value, Value> globalRow(TileIOOp op, Value row) {
    Location loc = op.getLoc();
    Value major;
    Value base = tileRowOffset(b, loc, row, op.getGroup(), op.getOffset(),
                               op.getOuterStride(), op.getInnerStride(), &major);
    Value inBounds = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           major, op.getValid());
    if (Value groups = op.getRowOffsets()) {
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value entry = arith::SelectOp::create(b, loc, inBounds, major, zero);
      Value named = memref::LoadOp::create(b, loc, groups, ValueRange{entry});
      // base + (named − major) · outer: the gather replaces the group.
      base = arith::AddIOp::create(
          b, loc, base,
          arith::MulIOp::create(b, loc,
                                arith::SubIOp::create(b, loc, named, major),
                                op.getOuterStride()));
    }
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

  /// The store's dest[index] = value() (or += atomically, for an
  /// accumulating store), converted, where inBounds; `value` is built inside
  /// the bounds check.
  void storeIfInBounds(tile::StoreOp op, Value inBounds, Value index,
                       function_ref<Value()> value) {
    Location loc = op.getLoc();
    auto ifOp = scf::IfOp::create(b, loc, inBounds, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Type dstElt = cast<MemRefType>(op.getDest().getType()).getElementType();
    Value v = convert(loc, value(), dstElt);
    if (op.getAccumulate())
      memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf, v,
                                  op.getDest(), ValueRange{index});
    else
      memref::StoreOp::create(b, loc, v, op.getDest(), ValueRange{index});
  }

  RewriterBase &b;
};

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILELOWERING_H
