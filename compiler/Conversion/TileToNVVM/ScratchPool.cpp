//===- ScratchPool.cpp - a kernel's scratch in global memory slots -------===//
//
// skim-tile's kernels keep scratch in memref.alloca: the collected selection
// list and its membership flags, top-k state, and per-tile score rows whose
// size grows with the sequence (NSA: tokens × ⌈L / l'⌉ f32 per CTA, 16 KiB at
// 64k tokens for the paper's shape, 256 KiB with 64-token tiles; MoBA with
// 64-token blocks: 64 rows × 1024). The CPU has them on its stack. On a GPU
// the whole CTA shares them (ScalarCode.cpp), and shared memory cannot hold
// them next to the tiles (227 KiB on sm_90, ~150 KiB taken by NSA's tiles),
// so they live in global memory.
//
// One region per grid block would be the T × blocks score tensor that fusion
// exists to avoid (1 GiB for NSA's paper shape at 64k tokens). Instead the
// kernel takes a slot from a pool of min(grid, N) (N = 1024 by default: more
// than the CTAs that run at once), and the plan declares the pool:
//
//   buffer L workspace -1 i32 1 <slots> zero      lock words
//   buffer P workspace -1 f32 2 <slots> <words>   the slots
//   kernel ... args ... tL tP e<slots> e<words>
//
// Thread 0 takes a free slot with an atomic exchange on its lock word,
// probing from a start its block id picks, and frees it after the kernel's
// last barrier. A CTA that finds every slot taken spins until a running CTA
// frees one, which it always does: no deadlock. NVPTX emits the exchanges as
// relaxed atom.exch whatever their ordering, so explicit fences order the
// last owner's accesses before the next owner's, as __threadfence() does in
// CUDA's lock idiom. Each alloca is a view at a 64-byte aligned offset of the
// slot: the static ones first, then the dynamically sized ones, whose sizes
// the plan computes from the same kernel arguments.
//
//===----------------------------------------------------------------------===//

#include "ScratchPool.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/TypeSwitch.h"

#include <sstream>

using namespace mlir;
using namespace mlir::skim;

FailureOr<SmallVector<std::string>>
mlir::skim::planKernelArguments(StringRef planText, StringRef kernel) {
  std::istringstream in(planText.str());
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string what, name, word;
    words >> what >> name;
    if (what != "kernel" || name != kernel)
      continue;
    while (words >> word && word != "args") {
    }
    size_t count = 0;
    if (!(words >> count))
      return failure();
    SmallVector<std::string> args;
    for (size_t i = 0; i < count && words >> word; ++i)
      args.push_back(word);
    if (args.size() != count)
      return failure();
    return args;
  }
  return failure();
}

namespace {

/// The expressions of a kernel's arguments in the plan text: `e<expr>` gives
/// expr, other arguments (tensors, TMA descriptors) an empty string.
FailureOr<SmallVector<std::string>> planArguments(StringRef planText,
                                                  StringRef kernel) {
  FailureOr<SmallVector<std::string>> args =
      planKernelArguments(planText, kernel);
  if (succeeded(args))
    for (std::string &arg : *args)
      arg = arg[0] == 'e' ? arg.substr(1) : std::string();
  return args;
}

/// The plan expression (reverse Polish, comma-joined) that index value `v`
/// computes from the kernel's index arguments.
FailureOr<std::string> planExpr(Value v, ArrayRef<std::string> args) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (!arg.getOwner()->isEntryBlock() || arg.getArgNumber() >= args.size() ||
        args[arg.getArgNumber()].empty())
      return failure();
    return args[arg.getArgNumber()];
  }
  Operation *op = v.getDefiningOp();
  if (auto c = dyn_cast<arith::ConstantIndexOp>(op))
    return std::to_string(c.value());
  StringRef name =
      llvm::TypeSwitch<Operation *, StringRef>(op)
          .Case<arith::AddIOp>([](auto) { return "+"; })
          .Case<arith::SubIOp>([](auto) { return "-"; })
          .Case<arith::MulIOp>([](auto) { return "*"; })
          .Case<arith::FloorDivSIOp>([](auto) { return "/"; })
          .Case<arith::CeilDivSIOp>([](auto) { return "cdiv"; })
          .Case<arith::MaxSIOp>([](auto) { return "max"; })
          .Case<arith::MinSIOp>([](auto) { return "min"; })
          .Default([](Operation *) { return ""; });
  if (name.empty())
    return failure();
  FailureOr<std::string> lhs = planExpr(op->getOperand(0), args);
  FailureOr<std::string> rhs = planExpr(op->getOperand(1), args);
  if (failed(lhs) || failed(rhs))
    return failure();
  return *lhs + "," + *rhs + "," + name.str();
}

/// Each alloca's region starts on a 64-byte boundary.
constexpr int64_t kAlignBytes = 64;

/// Bytes of one element, or 0 for a type without a size here. index is 64-bit
/// on the GPU (convert-gpu-to-nvvm{index-bitwidth=64}).
int64_t elementBytes(Type t) {
  if (t.isIndex())
    return 8;
  if (t.isIntOrFloat())
    return llvm::divideCeil(t.getIntOrFloatBitWidth(), 8);
  return 0;
}

/// Thread 0 takes a free slot of `locks` (`slots` of them); returns the slot,
/// published to every thread through a shared cell.
Value takeSlot(OpBuilder &b, Location loc, Value isFirst, Value locks,
               Value slots) {
  Type index = b.getIndexType();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value cell = memref::AllocaOp::create(b, loc, MemRefType::get({1}, index));
  auto take = scf::IfOp::create(b, loc, isFirst, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(take.thenBlock()->getTerminator());
    // Neighbouring CTAs start at different slots: the block id mixed by two
    // primes (the grid's shape is not needed, and any start is correct).
    auto id = [&](gpu::Dimension d, int64_t factor) -> Value {
      Value v = gpu::BlockIdOp::create(b, loc, d);
      return factor == 1 ? v
                         : arith::MulIOp::create(
                               b, loc, v, arith::ConstantIndexOp::create(b, loc, factor));
    };
    Value mixed = arith::AddIOp::create(
        b, loc, id(gpu::Dimension::x, 1),
        arith::AddIOp::create(b, loc, id(gpu::Dimension::y, 1031),
                              id(gpu::Dimension::z, 65537)));
    Value start = arith::RemUIOp::create(b, loc, mixed, slots);
    Value one = arith::ConstantIntOp::create(b, loc, 1, 32);
    Value zero32 = arith::ConstantIntOp::create(b, loc, 0, 32);
    auto probe = scf::WhileOp::create(
        b, loc, TypeRange{index}, ValueRange{start},
        [&](OpBuilder &w, Location l, ValueRange s) {
          // A 0 read back means the slot is ours.
          Value old = memref::AtomicRMWOp::create(w, l, arith::AtomicRMWKind::assign,
                                                  one, locks, s);
          Value busy = arith::CmpIOp::create(w, l, arith::CmpIPredicate::ne, old, zero32);
          Value next = arith::RemUIOp::create(
              w, l, arith::AddIOp::create(w, l, s[0], c1), slots);
          scf::ConditionOp::create(w, l, busy,
                                   ValueRange{arith::SelectOp::create(w, l, busy, next, s[0])});
        },
        [&](OpBuilder &w, Location l, ValueRange s) {
          scf::YieldOp::create(w, l, s);
        });
    LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::acq_rel);
    memref::StoreOp::create(b, loc, probe.getResult(0), cell, ValueRange{c0});
  }
  gpu::BarrierOp::create(b, loc);
  return memref::LoadOp::create(b, loc, cell, ValueRange{c0});
}

} // namespace

FailureOr<std::string> mlir::skim::placeScratchPool(func::FuncOp kernel,
                                                    ArrayRef<memref::AllocaOp> allocas,
                                                    Value isFirst, StringRef planText) {
  auto fail = [&](memref::AllocaOp op, const Twine &why) {
    op.emitError() << "kernel '" << kernel.getSymName() << "': " << why;
    return failure();
  };
  Block &entry = kernel.getBody().front();
  // Static allocas first, at constant offsets; then the dynamic ones, whose
  // sizes must be plan expressions of the kernel's arguments.
  int64_t staticBytes = 0;
  SmallVector<std::pair<memref::AllocaOp, int64_t>> statics;
  SmallVector<memref::AllocaOp> dynamics;
  for (memref::AllocaOp op : allocas) {
    MemRefType type = op.getType();
    int64_t bytes = elementBytes(type.getElementType());
    if (!bytes) {
      std::string name;
      llvm::raw_string_ostream(name) << type.getElementType();
      return fail(op, "scratch of element type " + name + " has no size in bytes");
    }
    if (type.hasStaticShape()) {
      statics.push_back({op, staticBytes});
      staticBytes += llvm::alignTo(type.getNumElements() * bytes, kAlignBytes);
    } else {
      dynamics.push_back(op);
    }
  }
  std::string words = std::to_string(staticBytes / 4);
  if (!dynamics.empty()) {
    FailureOr<SmallVector<std::string>> args =
        planArguments(planText, kernel.getSymName());
    if (failed(args))
      return kernel.emitError() << "kernel '" << kernel.getSymName()
                                << "': per-tile scratch is sized by the launch "
                                   "plan, and the module's plan lacks the kernel";
    for (memref::AllocaOp op : dynamics) {
      if (op->getBlock() != &entry)
        return fail(op, "dynamically sized scratch inside a loop or branch");
      if (op.getType().getRank() != 1)
        return fail(op, "dynamically sized scratch of rank other than 1");
      FailureOr<std::string> size = planExpr(op.getDynamicSizes()[0], *args);
      if (failed(size))
        return fail(op, "the scratch size is not an expression of the kernel's "
                        "size arguments");
      // ⌈size · bytes / 64⌉ · 16 words.
      words += "," + *size + ",0,max," +
               std::to_string(elementBytes(op.getType().getElementType())) +
               ",*," + std::to_string(kAlignBytes) + ",cdiv," +
               std::to_string(kAlignBytes / 4) + ",*,+";
    }
  }

  // The pool's arguments: lock words, slots (bytes), slot count, words a slot.
  MLIRContext *ctx = kernel.getContext();
  Location loc = kernel.getLoc();
  Type index = IndexType::get(ctx);
  auto locksType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 32));
  auto poolType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
  unsigned first = kernel.getNumArguments();
  for (Type t : {Type(locksType), Type(poolType), index, index})
    (void)kernel.insertArgument(kernel.getNumArguments(), t, {}, loc);
  Value locks = entry.getArgument(first), pool = entry.getArgument(first + 1);
  Value slots = entry.getArgument(first + 2), wordsPerSlot = entry.getArgument(first + 3);

  OpBuilder b(ctx);
  b.setInsertionPointAfter(isFirst.getDefiningOp());
  Value slot = takeSlot(b, loc, isFirst, locks, slots);
  Value base = arith::MulIOp::create(
      b, loc, slot,
      arith::MulIOp::create(b, loc, wordsPerSlot, arith::ConstantIndexOp::create(b, loc, 4)));

  auto view = [&](memref::AllocaOp op, Value offset) {
    Value v = memref::ViewOp::create(b, op.getLoc(), op.getType(), pool, offset,
                                     op.getDynamicSizes());
    op.getResult().replaceAllUsesWith(v);
    op.erase();
  };
  for (auto [op, at] : statics) {
    b.setInsertionPoint(op);
    view(op, arith::AddIOp::create(b, loc, base, arith::ConstantIndexOp::create(b, loc, at)));
  }
  b.setInsertionPointAfter(base.getDefiningOp());
  Value offset = arith::AddIOp::create(b, loc, base,
                                       arith::ConstantIndexOp::create(b, loc, staticBytes));
  for (memref::AllocaOp op : dynamics) {
    b.setInsertionPoint(op);
    Value size = op.getDynamicSizes()[0];
    Value bytes = arith::MulIOp::create(
        b, loc, size,
        arith::ConstantIndexOp::create(b, loc, elementBytes(op.getType().getElementType())));
    Value align = arith::ConstantIndexOp::create(b, loc, kAlignBytes);
    Value rounded = arith::MulIOp::create(
        b, loc, arith::CeilDivSIOp::create(b, loc, bytes, align), align);
    Value next = arith::AddIOp::create(b, loc, offset, rounded);
    view(op, offset);
    offset = next;
  }

  // Give the slot back once every thread is done with it.
  b.setInsertionPoint(entry.getTerminator());
  gpu::BarrierOp::create(b, loc);
  auto give = scf::IfOp::create(b, loc, isFirst, /*withElse=*/false);
  b.setInsertionPoint(give.thenBlock()->getTerminator());
  LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::acq_rel);
  memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::assign,
                              arith::ConstantIntOp::create(b, loc, 0, 32), locks,
                              ValueRange{slot});
  return words;
}
