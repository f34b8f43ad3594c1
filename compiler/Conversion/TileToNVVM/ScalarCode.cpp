//===- ScalarCode.cpp - scalar kernel code on a 128-thread CTA ------------===//
//
// skim-tile writes the code between tile ops as if one thread ran the grid
// block (docs/TileLevel.md §4): it collects selection lists, accumulates
// per-tile score rows and picks top-k blocks in memref.alloca scratch. On a
// CTA every thread runs that code. Computing a uniform value redundantly is
// fine, but a read-modify-write of memory the threads share is not: a slow
// thread would read what a fast one already changed. So:
//
//   - Every *statement* (an op outside tile ops, with whatever it nests) that
//     writes memory runs on thread 0 alone, between two barriers: the first
//     lets every thread finish reading what it is about to change, the
//     second publishes its writes. Results it defines go to the other threads
//     through shared memory. Statements that only read run everywhere.
//   - All scratch is shared by the CTA, since thread 0 writes what the others
//     then read. skim-tile's allocas of a static size, up to a budget
//     (selection lists, membership flags, top-k state), live in shared
//     memory with the cells that publish thread 0's values
//     (placeSharedScratch): thread 0 walks them in serial loops, where each
//     global access would be an L2 round trip. Scratch that grows with the
//     sequence (the per-tile score rows), or past the budget, goes to a
//     global scratch slot the CTA takes from a pool (ScratchPool.cpp).
//
//===----------------------------------------------------------------------===//

#include "ScalarCode.h"
#include "ScratchPool.h"

#include "SkimTile/IR/SkimTileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::skim;

namespace {

/// Shared-memory bytes that static scratch may take next to the tiles.
constexpr int64_t kSharedScratchBudget = 8 * 1024;

int64_t scratchBytes(MemRefType type) {
  Type element = type.getElementType();
  // index is 64-bit on the GPU (convert-gpu-to-nvvm{index-bitwidth=64}).
  int64_t bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
  return llvm::alignTo(type.getNumElements() * llvm::divideCeil(bits, 8), 16);
}

bool isTileCompute(Operation *op) {
  return isa<tile::FillOp, tile::LoadOp, tile::StoreOp, tile::GemmOp,
             tile::ReduceOp, tile::MapOp>(op);
}

bool containsTileCompute(Operation *op) {
  return op->walk([](Operation *nested) {
             return isTileCompute(nested) ? WalkResult::interrupt()
                                          : WalkResult::advance();
           })
      .wasInterrupted();
}

bool writesMemory(Operation *op) {
  return op->walk([](Operation *nested) {
             auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
             return effects && effects.hasEffect<MemoryEffects::Write>()
                        ? WalkResult::interrupt()
                        : WalkResult::advance();
           })
      .wasInterrupted();
}

/// Puts each memory-writing statement on thread 0 (see the file comment).
class StatementGuard {
public:
  /// `first`: whether this thread is thread 0, and `zero`, an index 0, both
  /// computed at entry.
  StatementGuard(OpBuilder &b, Value first, Value zero)
      : b(b), first(first), zero(zero) {}

  void visit(Block &block) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (isTileCompute(&op))
        continue;
      if (containsTileCompute(&op)) {
        // Control flow around tile ops stays on every thread (its bounds are
        // uniform); the statements inside it are guarded one by one.
        for (Region &region : op.getRegions())
          for (Block &inner : region)
            visit(inner);
        continue;
      }
      if (writesMemory(&op))
        guard(&op);
    }
  }

private:
  void guard(Operation *op) {
    Location loc = op->getLoc();
    // One shared cell per result, allocated at entry so that every thread
    // reads the same one.
    SmallVector<Value> cells;
    for (Value result : op->getResults()) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointAfter(first.getDefiningOp());
      cells.push_back(memref::AllocaOp::create(
          b, loc, MemRefType::get({1}, result.getType())));
    }
    b.setInsertionPoint(op);
    gpu::BarrierOp::create(b, loc);
    auto ifOp = scf::IfOp::create(b, loc, first, /*withElse=*/false);
    op->moveBefore(ifOp.thenBlock()->getTerminator());
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    for (auto [result, cell] : llvm::zip(op->getResults(), cells))
      memref::StoreOp::create(b, loc, result, cell, ValueRange{zero});
    b.setInsertionPointAfter(ifOp);
    gpu::BarrierOp::create(b, loc);
    for (auto [result, cell] : llvm::zip(op->getResults(), cells)) {
      Value shared = memref::LoadOp::create(b, loc, cell, ValueRange{zero});
      result.replaceUsesWithIf(shared, [&](OpOperand &use) {
        return !ifOp->isProperAncestor(use.getOwner());
      });
    }
  }

  OpBuilder &b;
  Value first, zero;
};

} // namespace

FailureOr<ScalarScratch> mlir::skim::prepareScalarCode(func::FuncOp kernel,
                                                       StringRef planText) {
  Block &entry = kernel.getBody().front();
  OpBuilder b(kernel.getContext());
  b.setInsertionPointToStart(&entry);
  Location loc = kernel.getLoc();
  // skim-tile's scratch, before the guard adds cells of its own.
  SmallVector<memref::AllocaOp> scratch;
  kernel.walk([&](memref::AllocaOp op) { scratch.push_back(op); });
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, zero);
  StatementGuard(b, first, zero).visit(entry);
  ScalarScratch result;
  SmallVector<memref::AllocaOp> pooled;
  int64_t sharedBytes = 0;
  for (memref::AllocaOp op : scratch) {
    if (op.getType().hasStaticShape() &&
        sharedBytes + scratchBytes(op.getType()) <= kSharedScratchBudget) {
      sharedBytes += scratchBytes(op.getType());
      continue; // stays an alloca: placeSharedScratch puts it in shared memory
    }
    pooled.push_back(op);
  }
  if (!pooled.empty()) {
    FailureOr<std::string> words = placeScratchPool(kernel, pooled, first, planText);
    if (failed(words))
      return failure();
    result.wordsPerSlot = *words;
  }
  kernel.walk([&](memref::AllocaOp op) { result.shared.push_back(op); });
  return result;
}

int64_t mlir::skim::placeSharedScratch(gpu::GPUFuncOp func,
                                       ArrayRef<memref::AllocaOp> allocas,
                                       int64_t offset, RewriterBase &rewriter) {
  if (allocas.empty())
    return offset;
  MLIRContext *ctx = func.getContext();
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Location loc = func.getLoc();
  rewriter.setInsertionPointToStart(&func.getBody().front());
  Value smem = gpu::DynamicSharedMemoryOp::create(
      rewriter, loc,
      MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type(),
                      MemRefLayoutAttrInterface(), workgroup));
  for (memref::AllocaOp op : allocas) {
    MemRefType type = op.getType();
    Type element = type.getElementType();
    rewriter.setInsertionPoint(op);
    Value shift = arith::ConstantIndexOp::create(rewriter, op.getLoc(), offset);
    auto viewType = MemRefType::get(type.getShape(), element,
                                    MemRefLayoutAttrInterface(), workgroup);
    Value view = memref::ViewOp::create(rewriter, op.getLoc(), viewType, smem,
                                        shift, ValueRange{});
    rewriter.replaceOp(op, view);
    offset += scratchBytes(type);
  }
  return offset;
}
