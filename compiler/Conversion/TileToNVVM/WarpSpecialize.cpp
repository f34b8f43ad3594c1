//===- WarpSpecialize.cpp - a TMA producer warpgroup and its consumers ----===//
//
// The producer is a slice of the kernel: each TMA load's coordinates, the
// loops and branches around it and, transitively, what those need. Because
// it re-computes that scalar code itself instead of receiving it, it may
// only read the kernel's inputs: a coordinate that comes from a selection
// list the consumers build in scratch memory keeps the kernel unsplit.
//
//===----------------------------------------------------------------------===//

#include "WarpSpecialize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

namespace {

constexpr int64_t kRegistersPerSM = 65536;

/// The ops of a kernel body the producer needs (see the file comment). Only
/// the iteration arguments of a loop that something needs are kept; other
/// region ops keep every result.
class ProducerSlice {
public:
  ProducerSlice(Operation *bodyStart) {
    for (Operation *op = bodyStart; op; op = op->getNextNode())
      body.insert(op);
  }

  void needOp(Operation *op) {
    if (!inBody(op) || !ops.insert(op).second)
      return;
    if (auto load = dyn_cast<LoadOp>(op)) {
      // A TMA copy needs its box coordinates and nothing else.
      for (Value c : load.getCoords())
        needValue(c);
    } else {
      for (Value v : op->getOperands())
        needValue(v);
    }
    if (Operation *parent = op->getParentOp(); parent && inBody(parent))
      needOp(parent);
    if (op->getNumRegions() && !isa<scf::ForOp>(op))
      for (Region &region : op->getRegions())
        for (Block &block : region)
          needOp(block.getTerminator());
  }

  bool contains(Operation *op) const { return ops.contains(op); }
  bool iterArgNeeded(scf::ForOp loop, unsigned i) const {
    auto it = iterArgs.find(loop);
    return it != iterArgs.end() && it->second.test(i);
  }

private:
  bool inBody(Operation *op) const {
    while (op && !body.contains(op))
      op = op->getParentOp();
    return op != nullptr;
  }
  void needValue(Value v) {
    if (auto result = dyn_cast<OpResult>(v)) {
      Operation *owner = result.getOwner();
      if (auto loop = dyn_cast<scf::ForOp>(owner))
        needIterArg(loop, result.getResultNumber());
      needOp(owner);
      return;
    }
    auto arg = cast<BlockArgument>(v);
    Operation *owner = arg.getOwner()->getParentOp();
    if (!owner || !inBody(owner))
      return;
    if (auto loop = dyn_cast<scf::ForOp>(owner); loop && arg.getArgNumber())
      needIterArg(loop, arg.getArgNumber() - 1);
    needOp(owner);
  }
  void needIterArg(scf::ForOp loop, unsigned i) {
    llvm::SmallBitVector &bits = iterArgs[loop];
    bits.resize(loop.getNumRegionIterArgs());
    if (bits.test(i))
      return;
    bits.set(i);
    needValue(loop.getBody()->getTerminator()->getOperand(i));
  }

  llvm::DenseSet<Operation *> body;
  llvm::DenseSet<Operation *> ops;
  llvm::DenseMap<Operation *, llvm::SmallBitVector> iterArgs;
};

/// Why the producer cannot run `op` on its own, or "" when it can.
std::string refusal(Operation *op, const FragmentPlan &plan,
                    const llvm::DenseSet<Value> &written) {
  if (auto load = dyn_cast<LoadOp>(op))
    return plan.tensorMaps.contains(op) ? "" : "a load that is not a TMA copy";
  if (isa<scf::ForOp, scf::IfOp, scf::YieldOp, scf::WhileOp, scf::ConditionOp>(
          op))
    return "";
  if (auto read = dyn_cast<memref::LoadOp>(op)) {
    // Kernel inputs only: their descriptors are built above the body.
    Value buffer = read.getMemRef();
    if (isa<BlockArgument>(buffer) || written.contains(buffer) ||
        !isa_and_nonnull<UnrealizedConversionCastOp>(buffer.getDefiningOp()))
      return "a read of memory the consumers write";
    return "";
  }
  if (isa<memref::AllocaOp>(op))
    return "a scratch buffer the consumers fill (the selection list)";
  if (isMemoryEffectFree(op) && op->getNumRegions() == 0)
    return "";
  return "'" + op->getName().getStringRef().str() + "' (it has effects)";
}

} // namespace

RegisterSplit mlir::skim::defaultRegisterSplit(int64_t consumers) {
  constexpr int64_t kProducerRegisters = 24;
  int64_t threads = consumers + kWarpgroupThreads;
  int64_t ctasPerSM = consumers == kWarpgroupThreads ? 2 : 1;
  RegisterSplit split;
  split.producer = kProducerRegisters;
  split.launch =
      std::min<int64_t>(kRegistersPerSM / (ctasPerSM * threads), 255) / 8 * 8;
  int64_t freed = (split.launch - split.producer) * kWarpgroupThreads;
  split.consumer =
      std::min<int64_t>((split.launch + freed / consumers) / 8 * 8, 256);
  return split;
}

std::optional<RegisterSplit> mlir::skim::registerSplit(int64_t consumers,
                                                       int64_t producerRegs,
                                                       int64_t consumerRegs,
                                                       std::string &why) {
  if (producerRegs > consumerRegs) {
    why = "producer_regs " + std::to_string(producerRegs) +
          " exceeds consumer_regs " + std::to_string(consumerRegs);
    return std::nullopt;
  }
  int64_t threads = consumers + kWarpgroupThreads;
  int64_t total = consumerRegs * consumers + producerRegs * kWarpgroupThreads;
  RegisterSplit split{
      static_cast<int64_t>(llvm::alignTo(llvm::divideCeil(total, threads), 8)),
      producerRegs, consumerRegs};
  if (split.launch > 255 || split.launch * threads > kRegistersPerSM) {
    why = "the split needs " + std::to_string(split.launch) +
          " registers per thread for " + std::to_string(threads) +
          " threads at launch; an SM has " + std::to_string(kRegistersPerSM) +
          " and a thread at most 255";
    return std::nullopt;
  }
  return split;
}

bool mlir::skim::splitProducer(gpu::GPUFuncOp func, Operation *bodyStart,
                               Value tid, int64_t consumers, FragmentPlan &plan,
                               std::string &why) {
  if (plan.tensorMaps.empty()) {
    why = "no TMA copies";
    return false;
  }
  Block &entry = func.getBody().front();
  // Tile allocs are shared by both roles: above the split.
  for (Operation &op : llvm::make_early_inc_range(
           llvm::make_range(bodyStart->getIterator(), entry.end())))
    if (isa<AllocOp>(op)) {
      if (&op == bodyStart)
        bodyStart = op.getNextNode();
      op.moveBefore(bodyStart);
    }

  // What the producer needs, and whether it can have it.
  ProducerSlice slice(bodyStart);
  for (auto &entryMap : plan.tensorMaps)
    slice.needOp(entryMap.first);
  llvm::DenseSet<Value> written;
  for (Operation *op = bodyStart; op; op = op->getNextNode())
    op->walk([&](Operation *inner) {
      if (auto store = dyn_cast<memref::StoreOp>(inner))
        written.insert(store.getMemRef());
      else if (auto store = dyn_cast<StoreOp>(inner))
        written.insert(store.getDest());
    });
  // The first obstacle in program order, so that the message is stable.
  for (Operation *top = bodyStart; top != entry.getTerminator() && why.empty();
       top = top->getNextNode())
    top->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (!slice.contains(op))
        return WalkResult::advance();
      std::string reason = refusal(op, plan, written);
      if (reason.empty())
        return WalkResult::advance();
      why = "the TMA coordinates need " + reason;
      return WalkResult::interrupt();
    });
  if (!why.empty())
    return false;

  // scf.if (tid < consumers) { body } else { producer slice }.
  Location loc = func.getLoc();
  OpBuilder b(bodyStart);
  Value isConsumer =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid,
                            arith::ConstantIndexOp::create(b, loc, consumers));
  auto branch = scf::IfOp::create(b, loc, isConsumer, /*withElseRegion=*/true);
  Block *consumerBlock = branch.thenBlock();
  Operation *terminator = entry.getTerminator();
  for (Operation &op : llvm::make_early_inc_range(llvm::make_range(
           bodyStart->getIterator(), terminator->getIterator())))
    op.moveBefore(consumerBlock->getTerminator());

  // The producer's copy, pruned to the slice: thread `consumers` alone.
  b.setInsertionPointToStart(branch.elseBlock());
  Value isProducer =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid,
                            arith::ConstantIndexOp::create(b, loc, consumers));
  auto producer = scf::IfOp::create(b, loc, isProducer, false);
  b.setInsertionPointToStart(producer.thenBlock());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  IRMapping mapping;
  SmallVector<Operation *> originals;
  for (Operation &op : consumerBlock->without_terminator())
    op.walk<WalkOrder::PreOrder>([&](Operation *o) { originals.push_back(o); });
  for (Operation &op : consumerBlock->without_terminator())
    b.clone(op, mapping);
  SmallVector<Operation *> clones;
  for (Operation &op :
       llvm::make_range(std::next(zero.getDefiningOp()->getIterator()),
                        producer.thenBlock()->getTerminator()->getIterator()))
    op.walk<WalkOrder::PreOrder>([&](Operation *o) { clones.push_back(o); });
  assert(clones.size() == originals.size() &&
         "a clone walks like its original");

  SmallVector<Operation *> dead;
  for (auto [original, clone] : llvm::zip(originals, clones)) {
    if (!slice.contains(original)) {
      if (!clone->hasTrait<OpTrait::IsTerminator>())
        dead.push_back(clone);
      continue;
    }
    if (auto loop = dyn_cast<scf::ForOp>(original)) {
      // An iteration argument nothing needs passes through unchanged.
      Operation *yield = cast<scf::ForOp>(clone).getBody()->getTerminator();
      for (unsigned i = 0; i < loop.getNumRegionIterArgs(); ++i)
        if (!slice.iterArgNeeded(loop, i))
          yield->setOperand(i, cast<scf::ForOp>(clone).getRegionIterArg(i));
    } else if (auto load = dyn_cast<LoadOp>(original)) {
      // The producer copies a box: the row addressing is the consumers'.
      auto copy = cast<LoadOp>(clone);
      copy.getOffsetMutable().assign(zero);
      copy.getOuterStrideMutable().assign(zero);
      copy.getInnerStrideMutable().assign(zero);
      copy.getValidMutable().assign(zero);
      plan.producerLoads.insert(clone);
      plan.tensorMaps[clone] = plan.tensorMaps.lookup(original);
    }
  }
  for (Operation *op : llvm::reverse(dead)) {
    op->dropAllUses();
    op->erase();
  }
  plan.consumerBranch = branch;
  return true;
}

void mlir::skim::finishWarpRoles(gpu::GPUFuncOp func, const FragmentPlan &plan,
                                 int64_t consumers, const RegisterSplit &split,
                                 RewriterBase &rewriter) {
  auto branch = cast<scf::IfOp>(plan.consumerBranch);
  Location loc = branch.getLoc();
  SmallVector<gpu::BarrierOp> barriers;
  branch.getThenRegion().walk(
      [&](gpu::BarrierOp op) { barriers.push_back(op); });
  for (gpu::BarrierOp op : barriers) {
    rewriter.setInsertionPoint(op);
    auto i32 = [&](int64_t v) {
      return arith::ConstantOp::create(rewriter, op.getLoc(),
                                       rewriter.getI32IntegerAttr(v));
    };
    NVVM::BarrierOp::create(rewriter, op.getLoc(), Type(), i32(1),
                            i32(consumers), NVVM::BarrierReductionAttr(),
                            Value());
    rewriter.eraseOp(op);
  }
  rewriter.setInsertionPointToStart(branch.thenBlock());
  NVVM::SetMaxRegisterOp::create(rewriter, loc, split.consumer,
                                 NVVM::SetMaxRegisterAction::increase);
  rewriter.setInsertionPointToStart(branch.elseBlock());
  NVVM::SetMaxRegisterOp::create(rewriter, loc, split.producer,
                                 NVVM::SetMaxRegisterAction::decrease);
}
