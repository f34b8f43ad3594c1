//===- FragmentOps.cpp - element-wise tile ops on fragments ---------------===//

#include "FragmentOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

void FragmentOpsBase::guarded(Location loc, Value ok,
                              function_ref<void()> body) {
  if (!ok) {
    body();
    return;
  }
  auto ifOp = scf::IfOp::create(b, loc, ok, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

SmallVector<Operation *>
FragmentOpsBase::opsToLower(gpu::GPUFuncOp func) const {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (isa<FillOp, LoadOp, StoreOp, GemmOp, ReduceOp, MapOp>(op) &&
        llvm::any_of(op->getOperands(),
                     [&](Value v) { return isFragment(v) || halfTile(v); }))
      ops.push_back(op);
  });
  return ops;
}

LogicalResult FragmentOpsBase::lowerFill(FillOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  Value v = f32(loc, op.getValue().convertToDouble());
  for (int64_t r = 0, e = registerCount(op.getDest()); r < e; ++r)
    setReg(loc, op.getDest(), r, v);
  b.eraseOp(op);
  return success();
}

LogicalResult FragmentOpsBase::lowerFragmentLoad(LoadOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  forEachRegister(loc, op.getDest(), [&](int64_t r, Value row, Value col) {
    auto [base, inBounds] = globalRow(op, row);
    setReg(loc, op.getDest(), r,
           loadOrPad(op, inBounds, add(loc, base, col), b.getF32Type()));
  });
  b.eraseOp(op);
  return success();
}

LogicalResult FragmentOpsBase::lowerFragmentStore(StoreOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  forEachRegister(loc, op.getSource(), [&](int64_t r, Value row, Value col) {
    auto [base, inBounds] = globalRow(op, row);
    storeIfInBounds(op, inBounds, add(loc, base, col),
                    [&] { return reg(loc, op.getSource(), r); });
  });
  b.eraseOp(op);
  return success();
}

LogicalResult FragmentOpsBase::lowerMap(MapOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  Value dest = op.getDest();
  // Into a shared tile the map walks a fragment input of the same shape
  // (planFragments checked there is one), and each lane stores the
  // elements it holds.
  bool intoFragment = isFragment(dest);
  Value layout = intoFragment ? dest
                              : mapFragmentLayout(
                                    op, [&](Value v) { return isFragment(v); },
                                    [&](Value v) { return logicalType(v); });
  if (!layout)
    return op.emitOpError("has no fragment whose registers it could walk");
  int64_t rank = logicalType(dest).getRank();
  Block &body = op.getBody().front();
  forEachRegister(loc, layout, [&](int64_t r, Value row, Value col) {
    IRMapping mapping;
    unsigned arg = 0;
    mapping.map(body.getArgument(arg++), row);
    if (rank == 2)
      mapping.map(body.getArgument(arg++), col);
    for (auto [input, kind] :
         llvm::zip(op.getInputs(), op.getIndexing().getAsRange<StringAttr>())) {
      Value v;
      MemRefType inputType = logicalType(input);
      if (isFragment(input)) {
        bool rowVector = inputType.getRank() == 1 && rank == 2;
        v = reg(loc, input, rowVector ? rowRegister(layout, r) : r);
      } else if (rank == 1) {
        v = memref::LoadOp::create(b, loc, input, ValueRange{row});
      } else if (kind.getValue() == "ij") {
        v = memref::LoadOp::create(b, loc, input, ValueRange{row, col});
      } else if (kind.getValue() == "i") {
        SmallVector<Value> at{row};
        if (inputType.getRank() == 2)
          at.push_back(cst(loc, 0));
        v = memref::LoadOp::create(b, loc, input, at);
      } else {
        v = memref::LoadOp::create(b, loc, input, ValueRange{col});
      }
      mapping.map(body.getArgument(arg++), v);
    }
    Value current = intoFragment ? reg(loc, dest, r)
                                 : memref::LoadOp::create(b, loc, dest,
                                                          ValueRange{row, col})
                                       .getResult();
    mapping.map(body.getArgument(arg++), current);
    for (Operation &inner : body.without_terminator())
      b.clone(inner, mapping);
    Value result =
        mapping.lookup(cast<YieldOp>(body.getTerminator()).getValue());
    if (intoFragment)
      setReg(loc, dest, r, result);
    else
      memref::StoreOp::create(b, loc, result, dest, ValueRange{row, col});
  });
  b.eraseOp(op);
  return success();
}
