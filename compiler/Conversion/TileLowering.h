//===- TileLowering.h - pieces every skim_tile lowering shares --*- C++ -*-===//

#ifndef SKIM_CONVERSION_TILELOWERING_H
#define SKIM_CONVERSION_TILELOWERING_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

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

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILELOWERING_H
