//===- TileLowering.h - pieces every skim_tile lowering shares --*- C++ -*-===//

#ifndef SKIM_CONVERSION_TILELOWERING_H
#define SKIM_CONVERSION_TILELOWERING_H

#include "mlir/Dialect/Arith/IR/Arith.h"
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

  RewriterBase &b;
};

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILELOWERING_H
