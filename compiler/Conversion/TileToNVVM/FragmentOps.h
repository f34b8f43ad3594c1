//===- FragmentOps.h - what the fragment lowerings share ---------*- C++
//-*-===//
//
// The NVIDIA (mma.sync, wgmma: FragmentLowering.cpp) and AMD (MFMA, WMMA:
// MatrixCoreLowering.cpp) fragment lowerings differ in where each register
// of a tile sits and in their gemms, copies and reductions. The element-wise
// tile ops (fill, load into and store from a fragment, map) only need the
// former, so they are written once here against two questions a lowering
// answers: which (row, column) each register holds, and which row-vector
// register holds the row of a 2-D tile's register.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_TILETONVVM_FRAGMENTOPS_H
#define SKIM_CONVERSION_TILETONVVM_FRAGMENTOPS_H

#include "Conversion/TileLowering.h"
#include "FragmentLowering.h"

#include <limits>

namespace mlir::skim {

class FragmentOpsBase : protected TileLoweringBase {
protected:
  FragmentOpsBase(RewriterBase &rewriter, const FragmentPlan &plan,
                  const llvm::DenseMap<Value, Operation *> &tiles)
      : TileLoweringBase(rewriter), plan(plan), tiles(tiles) {}
  virtual ~FragmentOpsBase() = default;

  /// body(register, row, col) for every register of the fragment `tile`
  /// (col is null for a row vector), under a bounds check where the
  /// register can be padding.
  virtual void
  forEachRegister(Location loc, Value tile,
                  function_ref<void(int64_t, Value, Value)> body) = 0;
  /// The register of a row vector that holds the row of register `r` of
  /// the 2-D fragment `tile`.
  virtual int64_t rowRegister(Value tile, int64_t r) const = 0;
  /// Registers a lane holds of the fragment `tile`.
  virtual int64_t registerCount(Value tile) const = 0;

  // Tiles.
  Operation *allocOf(Value v) const {
    auto it = tiles.find(v);
    return it == tiles.end() ? nullptr : it->second;
  }
  bool isFragment(Value v) const {
    Operation *a = allocOf(v);
    return a && plan.fragments.contains(a);
  }
  const HalfTile *halfTile(Value v) const {
    Operation *a = allocOf(v);
    if (!a)
      return nullptr;
    auto it = plan.halfTiles.find(a);
    return it == plan.halfTiles.end() ? nullptr : &it->second;
  }
  /// The tile ops of `func` a fragment lowering takes, in program order:
  /// those with a fragment or a 16-bit shared tile among their operands.
  SmallVector<Operation *> opsToLower(gpu::GPUFuncOp func) const;
  /// Whether `op` reads or writes a tile in shared memory.
  bool touchesShared(Operation *op) const {
    return llvm::any_of(op->getOperands(),
                        [&](Value v) { return allocOf(v) && !isFragment(v); });
  }
  /// The tile's shape as skim_tile sees it (a fragment's storage is a flat
  /// register array).
  MemRefType logicalType(Value tile) const {
    if (Operation *a = allocOf(tile))
      return cast<MemRefType>(a->getResult(0).getType());
    return cast<MemRefType>(tile.getType());
  }

  // Scalars and registers.
  Value i32(Location loc, int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value reg(Location loc, Value tile, int64_t i) {
    return memref::LoadOp::create(b, loc, tile, ValueRange{cst(loc, i)});
  }
  void setReg(Location loc, Value tile, int64_t i, Value v) {
    memref::StoreOp::create(b, loc, v, tile, ValueRange{cst(loc, i)});
  }
  /// A reduce's identity (-inf for max, 0 for sum) and its combination.
  Value reduceIdentity(Location loc, tile::ReduceOp op) {
    return f32(loc, op.getKind() == tile::ReduceKind::max
                        ? -std::numeric_limits<double>::infinity()
                        : 0.0);
  }
  Value combine(Location loc, tile::ReduceOp op, Value x, Value y) {
    if (op.getKind() == tile::ReduceKind::max)
      return arith::MaximumFOp::create(b, loc, x, y);
    return arith::AddFOp::create(b, loc, x, y);
  }
  /// body() under `ok` (unconditionally when `ok` is null).
  void guarded(Location loc, Value ok, function_ref<void()> body);

  // The element-wise ops.
  LogicalResult lowerFill(tile::FillOp op);
  /// A load into a fragment: each register from global memory.
  LogicalResult lowerFragmentLoad(tile::LoadOp op);
  /// A store of a fragment: each register to global memory (added
  /// atomically for an accumulating store).
  LogicalResult lowerFragmentStore(tile::StoreOp op);
  /// The map's body cloned for every register of its fragment destination.
  LogicalResult lowerMap(tile::MapOp op);

  const FragmentPlan &plan;
  const llvm::DenseMap<Value, Operation *> &tiles;
};

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILETONVVM_FRAGMENTOPS_H
