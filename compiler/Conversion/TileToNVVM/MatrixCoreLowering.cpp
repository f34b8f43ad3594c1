//===- MatrixCoreLowering.cpp - fragment tiles in AMD MFMA/WMMA registers -===//
//
// The AMD half of the fragment path (skim-lower-tile-to-gpu{vendor=amd}):
// fragment tiles become per-lane register arrays in the accumulator layout of
// one matrix instruction, and gemms become rocdl.mfma (gfx90a, gfx942) or
// rocdl.wmma (gfx11).
//
// Every instruction computes the transpose: accᵀ += Bᵀ·Aᵀ. The instruction's
// N dimension (one column a lane, l % R for an R x R instruction) then runs
// along the tile's rows, and its M dimension along the tile's columns. With
// the matrix cores' accumulator layouts (AmdWave.h cites the ISA), a lane of
// group q = l / R holds, of every R x R block of a tile:
//
//   row l % R, columns c(v, q) for its accumulator items v:
//     MFMA 16x16x16 (wave64): c = 4q + v             (v < 4)
//     MFMA 32x32x8  (wave64): c = 8(v / 4) + 4q + v % 4  (v < 16)
//     WMMA 16x16x16 (wave32): c = 2v + q             (v < 8)
//     WMMA 16x16x16 (wave64): c = 4v + q             (v < 4)
//
// so a tile row lives in one lane of each group: a row reduction is a loop
// inside the lane and one or two xor shuffles across the groups (the
// Sᵀ = K·Qᵀ orientation of TileLevel.md §6.4). The same orientation makes
// the accumulator of S = Q·Kᵀ the B operand of P·V register for register on
// MFMA (B's k = 4q + j of column l % R is exactly item j of the block), so
// P stays in registers; WMMA's B wants all 16 k in every lane and takes the
// other groups' items with xor shuffles (16 in wave32; 16, 32 and 48 in
// wave64), one a register each.
//
// K and V stay in LDS in 16-bit form (the HalfTile rows of the NVIDIA path,
// padded by 16 bytes), copied by every thread of the block; all offsets in
// a tile op are compile-time constants except the lane's own position.
//
//===----------------------------------------------------------------------===//

#include "FragmentOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

/// 16-bit elements one copy step moves (16 bytes).
static constexpr int64_t kCopyVector = 8;

int64_t mlir::skim::amdFragmentRegisters(MemRefType tileType, int64_t waves,
                                         const AmdMatrixCore &core) {
  int64_t r = core.tile();
  int64_t slots =
      llvm::divideCeil(llvm::divideCeil(tileType.getDimSize(0), r), waves);
  if (tileType.getRank() == 1)
    return slots;
  return slots * llvm::divideCeil(tileType.getDimSize(1), r) *
         core.accumulators();
}

namespace {

/// Register positions of a fragment tile.
struct CoreShape {
  int64_t rank, rows, cols;
  int64_t slots;    // R-row blocks per wave
  int64_t nTiles;   // R-column blocks (rank 2)
  int64_t perBlock; // accumulator items a lane holds of one R x R block

  int64_t size() const { return rank == 2 ? slots * nTiles * perBlock : slots; }
  int64_t index(int64_t s, int64_t nt, int64_t v) const {
    return (s * nTiles + nt) * perBlock + v;
  }
};

class MatrixCoreLowering : FragmentOpsBase {
public:
  MatrixCoreLowering(RewriterBase &rewriter, Value tid, int64_t threads,
                     const FragmentPlan &plan,
                     const llvm::DenseMap<Value, Operation *> &tiles,
                     function_ref<void(Operation *)> fence)
      : FragmentOpsBase(rewriter, plan, tiles), tid(tid), core(*plan.amd),
        waves(threads / plan.amd->waveSize()), threads(threads), fence(fence) {}

  void setUpLane(Location loc);
  using FragmentOpsBase::opsToLower;
  LogicalResult lower(Operation *op);

private:
  CoreShape shapeOf(Value tile) const {
    MemRefType type = logicalType(tile);
    int64_t r = core.tile();
    CoreShape s;
    s.rank = type.getRank();
    s.rows = type.getDimSize(0);
    s.cols = s.rank == 2 ? type.getDimSize(1) : 1;
    s.slots = llvm::divideCeil(llvm::divideCeil(s.rows, r), waves);
    s.nTiles = llvm::divideCeil(s.cols, r);
    s.perBlock = core.accumulators();
    return s;
  }

  Value lessThan(Location loc, Value x, int64_t bound) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x,
                                 cst(loc, bound));
  }

  /// The tile row of slot s: this lane's column of the instruction.
  Value rowOf(Location loc, int64_t s) {
    Value block = add(loc, cst(loc, s * waves), wave);
    return add(loc, mul(loc, block, cst(loc, core.tile())), laneRow);
  }
  /// The column inside an R-column block of accumulator item v.
  Value itemColumn(Location loc, int64_t v);
  Value colOf(Location loc, int64_t nt, int64_t v) {
    return add(loc, cst(loc, nt * core.tile()), itemColumn(loc, v));
  }
  bool rowsPadded(const CoreShape &s) const {
    int64_t blocks = llvm::divideCeil(s.rows, core.tile());
    return s.rows % core.tile() != 0 || blocks % waves != 0;
  }
  // FragmentOpsBase's questions.
  void forEachRegister(Location loc, Value tile,
                       function_ref<void(int64_t, Value, Value)> body) override;
  int64_t rowRegister(Value tile, int64_t r) const override {
    CoreShape shape = shapeOf(tile);
    return r / (shape.nTiles * shape.perBlock);
  }
  int64_t registerCount(Value tile) const override {
    return shapeOf(tile).size();
  }

  /// An element of a shared tile (16-bit or f32) as `type`, at logical
  /// (r, c).
  Value sharedElement(Location loc, Value tile, Value r, Value c, Type type) {
    Value v = memref::LoadOp::create(b, loc, tile, ValueRange{r, c});
    return convert(loc, v, type);
  }
  /// This lane's first k of k-step kk: kk·K + 4q on MFMA (items j are
  /// k + j), kk·16 on WMMA (all 16 k a lane).
  Value firstK(Location loc, int64_t kk) {
    Value k0 = cst(loc, kk * core.k());
    return core.isWmma() ? k0 : add(loc, k0, mul(loc, group, cst(loc, 4)));
  }
  /// The instruction's 16-bit operand vector from `items` (mmaType values):
  /// f16 as is, bf16 as i16 bits where the intrinsic takes integers.
  Value operandVector(Location loc, ArrayRef<Value> items);
  /// This lane's items of the instruction's B operand for k-step kk: the
  /// gemm's A at row `row` and this lane's k (4q + j of the step on MFMA,
  /// all 16 on WMMA), from the fragment's registers or from shared memory.
  SmallVector<Value> aItems(Location loc, GemmOp op, int64_t s, int64_t kk,
                            Value row);

  /// `v` of lane l ^ offset. On CDNA a gpu.shuffle over the wave. On
  /// RDNA3 in wave64, v_permlane64 swaps the wave's halves and a 32-lane
  /// shuffle (ds_bpermute) does the rest: LLVM 22's convert-gpu-to-rocdl
  /// would turn 64-lane xor 16 and 32 into gfx950's permlane swaps, which
  /// gfx11 lacks.
  Value xorLanes(Location loc, Value v, int64_t offset);

  LogicalResult lowerHalfLoad(LoadOp op);
  LogicalResult lowerReduce(ReduceOp op);
  LogicalResult lowerGemm(GemmOp op);

  Value tid;
  const AmdMatrixCore &core;
  int64_t waves, threads;
  function_ref<void(Operation *)> fence;
  /// The wave, the lane's column of the instruction (l % R) and its group
  /// (l / R).
  Value wave, laneRow, group;
};

} // namespace

void MatrixCoreLowering::setUpLane(Location loc) {
  int64_t w = core.waveSize();
  wave = arith::DivUIOp::create(b, loc, tid, cst(loc, w));
  Value lane = arith::RemUIOp::create(b, loc, tid, cst(loc, w));
  laneRow = arith::RemUIOp::create(b, loc, lane, cst(loc, core.tile()));
  group = arith::DivUIOp::create(b, loc, lane, cst(loc, core.tile()));
}

Value MatrixCoreLowering::itemColumn(Location loc, int64_t v) {
  switch (core.kind) {
  case AmdMatrixCore::Kind::Mfma16x16x16:
    return add(loc, mul(loc, group, cst(loc, 4)), cst(loc, v));
  case AmdMatrixCore::Kind::Mfma32x32x8:
    return add(loc, mul(loc, group, cst(loc, 4)),
               cst(loc, 8 * (v / 4) + v % 4));
  case AmdMatrixCore::Kind::Wmma16x16x16:
    return add(loc, group, cst(loc, core.groups() * v));
  }
  llvm_unreachable("unknown matrix core");
}

void MatrixCoreLowering::forEachRegister(
    Location loc, Value tile, function_ref<void(int64_t, Value, Value)> body) {
  CoreShape shape = shapeOf(tile);
  bool rowGuard = rowsPadded(shape);
  bool colGuard = shape.rank == 2 && shape.cols % core.tile() != 0;
  auto visit = [&](int64_t r, Value row, Value col) {
    Value ok;
    if (rowGuard)
      ok = lessThan(loc, row, shape.rows);
    if (colGuard) {
      Value c = lessThan(loc, col, shape.cols);
      ok = ok ? arith::AndIOp::create(b, loc, ok, c).getResult() : c;
    }
    guarded(loc, ok, [&] { body(r, row, col); });
  };
  for (int64_t s = 0; s < shape.slots; ++s) {
    Value row = rowOf(loc, s);
    if (shape.rank == 1) {
      visit(s, row, Value());
      continue;
    }
    for (int64_t nt = 0; nt < shape.nTiles; ++nt)
      for (int64_t v = 0; v < shape.perBlock; ++v)
        visit(shape.index(s, nt, v), row, colOf(loc, nt, v));
  }
}

Value MatrixCoreLowering::xorLanes(Location loc, Value v, int64_t offset) {
  if (!(core.isWmma() && core.waveSize() == 64))
    return gpu::ShuffleOp::create(b, loc, v, i32(loc, offset),
                                  i32(loc, core.waveSize()),
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  if (offset & 32) {
    Type type = v.getType();
    Value bits =
        type.isInteger(32)
            ? v
            : arith::BitcastOp::create(b, loc, b.getI32Type(), v).getResult();
    Value swapped =
        LLVM::CallIntrinsicOp::create(b, loc, b.getI32Type(),
                                      b.getStringAttr("llvm.amdgcn.permlane64"),
                                      ValueRange{bits})
            .getResult(0);
    v = type.isInteger(32)
            ? swapped
            : arith::BitcastOp::create(b, loc, type, swapped).getResult();
  }
  if (offset & 31)
    v = gpu::ShuffleOp::create(b, loc, v, i32(loc, offset & 31), i32(loc, 32),
                               gpu::ShuffleMode::XOR)
            .getShuffleResult();
  return v;
}

/// A 16-bit LDS tile: every thread of the block copies 8-element pieces of
/// global rows, one 16-byte load where the piece is 16-byte aligned (the
/// usual case: rows of a multiple of 8 elements), element by element
/// otherwise; rows past `valid` are padding. The elements are not
/// converted (the tile has the source's type).
LogicalResult MatrixCoreLowering::lowerHalfLoad(LoadOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  MemRefType type = logicalType(op.getDest());
  bool transpose = op.getTranspose();
  int64_t rows = type.getDimSize(transpose ? 1 : 0);
  int64_t cols = type.getDimSize(transpose ? 0 : 1);
  int64_t pieces = cols / kCopyVector; // cols % 8 == 0 (planFragments)
  Type element = plan.mmaType;
  auto vectorType = VectorType::get({kCopyVector}, element);
  auto forOp = scf::ForOp::create(b, loc, tid, cst(loc, rows * pieces),
                                  cst(loc, threads));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  Value e = forOp.getInductionVar();
  Value r = arith::DivUIOp::create(b, loc, e, cst(loc, pieces));
  Value c = mul(loc, arith::RemUIOp::create(b, loc, e, cst(loc, pieces)),
                cst(loc, kCopyVector));
  auto [base, inBounds] = globalRow(op, r);
  Value start = add(loc, base, c);
  Value aligned = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::RemUIOp::create(b, loc, start, cst(loc, kCopyVector)),
      cst(loc, 0));
  Value vectorLoad = arith::AndIOp::create(b, loc, inBounds, aligned);
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{vectorType}, vectorLoad,
                                /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value v = vector::LoadOp::create(b, loc, vectorType, op.getSource(),
                                     ValueRange{start});
    scf::YieldOp::create(b, loc, v);
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> items;
    for (int64_t i = 0; i < kCopyVector; ++i)
      items.push_back(
          loadOrPad(op, inBounds, add(loc, start, cst(loc, i)), element));
    scf::YieldOp::create(
        b, loc,
        vector::FromElementsOp::create(b, loc, vectorType, items).getResult());
  }
  Value piece = ifOp.getResult(0);
  for (int64_t i = 0; i < kCopyVector; ++i) {
    Value col = add(loc, c, cst(loc, i));
    Value v = vector::ExtractOp::create(b, loc, piece, ArrayRef<int64_t>{i});
    SmallVector<Value> at =
        transpose ? SmallVector<Value>{col, r} : SmallVector<Value>{r, col};
    memref::StoreOp::create(b, loc, v, op.getDest(), at);
  }
  b.setInsertionPointAfter(forOp);
  b.eraseOp(op);
  return success();
}

LogicalResult MatrixCoreLowering::lowerReduce(ReduceOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  CoreShape shape = shapeOf(op.getSource());
  Value identity = reduceIdentity(loc, op);
  auto combine = [&](Value x, Value y) {
    return FragmentOpsBase::combine(loc, op, x, y);
  };
  bool colGuard = shape.cols % core.tile() != 0;
  for (int64_t s = 0; s < shape.slots; ++s) {
    // The lane's part of the row, then the other groups' (lanes l ^ R,
    // l ^ 2R, ... hold the rest of row l % R).
    Value acc = identity;
    for (int64_t nt = 0; nt < shape.nTiles; ++nt)
      for (int64_t v = 0; v < shape.perBlock; ++v) {
        Value x = reg(loc, op.getSource(), shape.index(s, nt, v));
        if (colGuard)
          x = arith::SelectOp::create(
              b, loc, lessThan(loc, colOf(loc, nt, v), shape.cols), x,
              identity);
        acc = combine(acc, x);
      }
    for (int64_t offset = core.tile(); offset < core.waveSize(); offset *= 2)
      acc = combine(acc, xorLanes(loc, acc, offset));
    setReg(loc, op.getDest(), s, combine(reg(loc, op.getDest(), s), acc));
  }
  b.eraseOp(op);
  return success();
}

Value MatrixCoreLowering::operandVector(Location loc, ArrayRef<Value> items) {
  auto type = VectorType::get({int64_t(items.size())}, plan.mmaType);
  Value v = vector::FromElementsOp::create(b, loc, type, items);
  // The bf16 intrinsics (MFMA's _1k, WMMA's) take the bits as i16.
  if (plan.mmaType.isBF16())
    v = vector::BitCastOp::create(
        b, loc, VectorType::get({int64_t(items.size())}, b.getI16Type()), v);
  return v;
}

SmallVector<Value> MatrixCoreLowering::aItems(Location loc, GemmOp op,
                                              int64_t s, int64_t kk,
                                              Value row) {
  int64_t items = core.operandItems();
  SmallVector<Value> out;
  Value a = op.getA();
  if (!isFragment(a)) {
    Value k0 = firstK(loc, kk);
    for (int64_t j = 0; j < items; ++j)
      out.push_back(
          sharedElement(loc, a, row, add(loc, k0, cst(loc, j)), plan.mmaType));
    return out;
  }
  // A fragment in this same layout: the accumulator items of block kk.
  CoreShape aShape = shapeOf(a);
  auto truncated = [&](Value x) -> Value {
    return arith::TruncFOp::create(b, loc, plan.mmaType, x);
  };
  switch (core.kind) {
  case AmdMatrixCore::Kind::Mfma16x16x16:
    for (int64_t j = 0; j < 4; ++j)
      out.push_back(truncated(reg(loc, a, aShape.index(s, kk, j))));
    return out;
  case AmdMatrixCore::Kind::Mfma32x32x8:
    // Columns 8kk + 4q + j: block kk / 4, items 4 (kk % 4) + j.
    for (int64_t j = 0; j < 4; ++j)
      out.push_back(
          truncated(reg(loc, a, aShape.index(s, kk / 4, 4 * (kk % 4) + j))));
    return out;
  case AmdMatrixCore::Kind::Wmma16x16x16: {
    // Column G·v + p (G groups) is item v of group p, which lane l ^ 16·d
    // holds for d = p ^ q: the lane's own item for d = 0, a shuffle from
    // the lanes d groups away otherwise. Each lane places the G values of
    // item v by its own q.
    int64_t g = core.groups();
    SmallVector<Value> isGroup;
    for (int64_t q = 0; q < g; ++q)
      isGroup.push_back(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              group, cst(loc, q)));
    out.resize(16);
    for (int64_t v = 0; v < 16 / g; ++v) {
      SmallVector<Value> fromDistance{reg(loc, a, aShape.index(s, kk, v))};
      for (int64_t d = 1; d < g; ++d)
        fromDistance.push_back(xorLanes(loc, fromDistance[0], 16 * d));
      for (int64_t p = 0; p < g; ++p) {
        // Group q reads distance p ^ q.
        Value x = fromDistance[p ^ (g - 1)];
        for (int64_t q = g - 2; q >= 0; --q)
          x = arith::SelectOp::create(b, loc, isGroup[q], fromDistance[p ^ q],
                                      x);
        out[g * v + p] = truncated(x);
      }
    }
    return out;
  }
  }
  llvm_unreachable("unknown matrix core");
}

/// acc[M×N] += A[M×K] · B, one instruction per (row block, column block,
/// k-step) computing the transposed block: A_instr = the B block (rows of
/// Bᵀ), B_instr = the A block, C = the accumulator's registers.
LogicalResult MatrixCoreLowering::lowerGemm(GemmOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  CoreShape accShape = shapeOf(op.getAcc());
  MemRefType aType = logicalType(op.getA());
  int64_t kDim = aType.getDimSize(1);
  int64_t kSteps = kDim / core.k();
  bool transposeB = op.getTransposeB();
  int64_t r = core.tile(), items = core.operandItems(),
          accumulators = core.accumulators();
  auto accType = VectorType::get({accumulators}, b.getF32Type());
  Value zero = i32(loc, 0);
  int64_t mBlocks = llvm::divideCeil(accShape.rows, r);
  for (int64_t s = 0; s < accShape.slots; ++s) {
    // A block past the tile's rows (a wave with fewer blocks) is skipped by
    // the whole wave: the condition is wave-uniform.
    scf::IfOp slotIf;
    if (mBlocks % waves != 0) {
      Value block = add(loc, cst(loc, s * waves), wave);
      slotIf = scf::IfOp::create(b, loc, lessThan(loc, block, mBlocks),
                                 /*withElseRegion=*/false);
      b.setInsertionPointToStart(slotIf.thenBlock());
    }
    Value row = rowOf(loc, s);
    for (int64_t kk = 0; kk < kSteps; ++kk) {
      Value bInstr = operandVector(loc, aItems(loc, op, s, kk, row));
      Value k0 = firstK(loc, kk);
      for (int64_t nt = 0; nt < accShape.nTiles; ++nt) {
        // Bᵀ's row n = nt·R + l % R, at this lane's k of the step.
        Value n = add(loc, cst(loc, nt * r), laneRow);
        SmallVector<Value> bItems;
        for (int64_t j = 0; j < items; ++j) {
          Value k = add(loc, k0, cst(loc, j));
          bItems.push_back(
              transposeB ? sharedElement(loc, op.getB(), n, k, plan.mmaType)
                         : sharedElement(loc, op.getB(), k, n, plan.mmaType));
        }
        Value aInstr = operandVector(loc, bItems);
        SmallVector<Value> c;
        for (int64_t v = 0; v < accumulators; ++v)
          c.push_back(reg(loc, op.getAcc(), accShape.index(s, nt, v)));
        Value cVector = vector::FromElementsOp::create(b, loc, accType, c);
        SmallVector<Value> operands{aInstr, bInstr, cVector};
        if (!core.isWmma())
          operands.append({zero, zero, zero}); // cbsz, abid, blgp
        OperationState state(loc, core.intrinsic(plan.mmaType.isBF16()));
        state.addOperands(operands);
        state.addTypes(accType);
        Value d = b.create(state)->getResult(0);
        for (int64_t v = 0; v < accumulators; ++v)
          setReg(loc, op.getAcc(), accShape.index(s, nt, v),
                 vector::ExtractOp::create(b, loc, d, ArrayRef<int64_t>{v}));
      }
    }
    if (slotIf)
      b.setInsertionPointAfter(slotIf);
  }
  b.eraseOp(op);
  return success();
}

LogicalResult MatrixCoreLowering::lower(Operation *op) {
  if (touchesShared(op))
    fence(op);
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<FillOp>([&](auto o) { return lowerFill(o); })
      .Case<LoadOp>([&](LoadOp o) {
        return halfTile(o.getDest()) ? lowerHalfLoad(o) : lowerFragmentLoad(o);
      })
      .Case<StoreOp>([&](auto o) { return lowerFragmentStore(o); })
      .Case<MapOp>([&](auto o) { return lowerMap(o); })
      .Case<ReduceOp>([&](auto o) { return lowerReduce(o); })
      .Case<GemmOp>([&](auto o) { return lowerGemm(o); })
      .Default([](Operation *o) {
        return o->emitOpError("has no matrix-core lowering");
      });
}

LogicalResult mlir::skim::lowerMatrixCoreOps(
    gpu::GPUFuncOp func, RewriterBase &rewriter, Value tid, int64_t threads,
    const FragmentPlan &plan, const llvm::DenseMap<Value, Operation *> &tiles,
    function_ref<void(Operation *)> fence) {
  MatrixCoreLowering lowering(rewriter, tid, threads, plan, tiles, fence);
  rewriter.setInsertionPointAfter(tid.getDefiningOp());
  lowering.setUpLane(tid.getLoc());
  for (Operation *op : lowering.opsToLower(func))
    if (failed(lowering.lower(op)))
      return failure();
  return success();
}
