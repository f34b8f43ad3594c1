//===- FragmentLowering.cpp - fragment tiles in mma.sync registers --------===//
//
// A `fragment` tile of M rows is spread over the warps the way mma.sync
// m16n8k16 spreads its accumulator (PTX ISA, "Matrix Fragments for
// mma.m16n8k16"): the M rows are cut into 16-row m-tiles, m-tile mi belongs
// to warp mi % W, and inside an m-tile lane l (g = l / 4, t = l % 4) holds
// rows g and g + 8 at columns 2t and 2t + 1 of every 8-column n-tile. Each
// lane keeps its elements in a private array indexed by constants only, so
// LLVM's SROA turns it into registers:
//
//   2-D tile, register (s, nt, k) = row (s·W + warp)·16 + g + 8·(k / 2),
//                                   column nt·8 + 2t + k % 2
//   row vector, register (s, h)   = row (s·W + warp)·16 + g + 8·h
//
// A row is then held by the four lanes of a quad: row reductions are a loop
// inside the lane and two xor shuffles (1, 2); the accumulator of Q·Kᵀ is,
// register for register, the A operand of P·V (FlashAttention-2's trick), so
// P never leaves the registers. B operands come from shared memory with
// ldmatrix (shared tiles that only feed gemms are kept in 16-bit form, their
// rows padded by 16 bytes against bank conflicts, and filled by cp.async).
//
// Everything a tile op does is unrolled at compile time (tile shapes are
// static); only the lane's own position is a runtime value.
//
//===----------------------------------------------------------------------===//

#include "FragmentLowering.h"
#include "Conversion/TileLowering.h"
#include "FragmentOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

static constexpr int64_t kWarpSize = 32;
/// Row padding of 16-bit shared tiles, in elements: 16 bytes.
static constexpr int64_t kHalfRowPad = 8;
/// f32 registers per lane that fragment tiles may take (see planFragments).
static constexpr int64_t kFragmentRegisterBudget = 192;
/// 16-bit elements of one 128-byte swizzle panel (a swizzled tile's column
/// block, and a TMA box's innermost extent).
static constexpr int64_t kSwizzlePanelElements = 64;
/// The most elements a TMA box spans in one dimension.
static constexpr int64_t kTmaMaxBoxRows = 256;
/// The suspend-time hint of mbarrier.try_wait, in nanoseconds (CUTLASS's).
static constexpr int32_t kTryWaitTicks = 0x989680;

static MemoryKind memoryOf(AllocOp alloc) {
  return alloc.getTile().getMemory();
}

//===----------------------------------------------------------------------===//
// Planning
//===----------------------------------------------------------------------===//

namespace {

/// Why a kernel stays SIMT; the first reason found wins.
struct Refusal {
  std::string &why;
  bool fail(const Twine &reason) {
    if (why.empty())
      why = reason.str();
    return false;
  }
};

bool is16Bit(Type t) { return t.isBF16() || t.isF16(); }

} // namespace

/// Marks the gemms of `plan` that wgmma m64nNk16 can run and swizzles their
/// B tiles. A gemm qualifies when every warp's m-tiles make whole 64-row
/// warpgroup slices (so all four warps of a warpgroup issue it together), N
/// is a multiple of 8 up to 256, and B is a 16-bit tile whose physical rows
/// are 64-element multiples; a B tile is swizzled only when every gemm that
/// reads it qualifies.
static void planWarpgroupGemms(gpu::GPUFuncOp func, int64_t warps,
                               FragmentPlan &plan) {
  if (warps % 4 != 0)
    return;
  auto allocOf = [](Value v) { return v.getDefiningOp<AllocOp>(); };
  llvm::SmallPtrSet<Operation *, 4> candidates;
  func.walk([&](GemmOp op) {
    AllocOp acc = allocOf(op.getAcc()), bAlloc = allocOf(op.getB());
    if (!acc || !plan.fragments.contains(acc) || !bAlloc)
      return;
    auto accType = cast<MemRefType>(acc.getType());
    int64_t rows = accType.getDimSize(0), n = accType.getDimSize(1);
    if (rows % 16 != 0 || (rows / 16) % warps != 0 || n % 8 != 0 || n > 256)
      return;
    auto it = plan.halfTiles.find(bAlloc);
    if (it == plan.halfTiles.end())
      return;
    auto bType = cast<MemRefType>(bAlloc.getType());
    bool tr = it->second.physicallyTransposed;
    int64_t physRows = bType.getDimSize(tr ? 1 : 0);
    int64_t physCols = bType.getDimSize(tr ? 0 : 1);
    if (physCols % 64 == 0 && physRows % 8 == 0)
      candidates.insert(op);
  });
  for (auto &[alloc, half] : plan.halfTiles) {
    bool onlyWgmmaB = llvm::all_of(alloc->getUses(), [&](OpOperand &use) {
      if (auto load = dyn_cast<LoadOp>(use.getOwner()))
        return load.getDest() == use.get();
      return candidates.contains(use.getOwner()) && use.getOperandNumber() == 1;
    });
    half.swizzled = onlyWgmmaB;
  }
  for (Operation *op : candidates)
    if (plan.halfTiles.lookup(allocOf(cast<GemmOp>(op).getB())).swizzled)
      plan.wgmmaGemms.insert(op);
}

/// Marks the swizzled tiles that TMA can fill: every load into them names
/// its box (coordinates), pads with 0 (TMA fills zeros, and only past the
/// tensor), and the rows fit one box (at most 256).
static void planTmaTiles(gpu::GPUFuncOp func, FragmentPlan &plan) {
  func.walk([&](AllocOp op) {
    Operation *alloc = op;
    auto it = plan.halfTiles.find(alloc);
    if (it == plan.halfTiles.end() || !it->second.swizzled)
      return;
    const HalfTile &half = it->second;
    auto type = cast<MemRefType>(alloc->getResult(0).getType());
    int64_t physRows = type.getDimSize(half.physicallyTransposed ? 1 : 0);
    bool boxes = physRows <= kTmaMaxBoxRows;
    for (Operation *user : alloc->getUsers())
      if (auto load = dyn_cast<LoadOp>(user))
        boxes &= !load.getCoords().empty() && load.getPadding().isZero();
    if (boxes)
      plan.tmaTiles[alloc] = TmaTile{};
  });
}

Value mlir::skim::mapFragmentLayout(MapOp op,
                                    function_ref<bool(Value)> isFragment,
                                    function_ref<MemRefType(Value)> typeOf) {
  MemRefType destType = typeOf(op.getDest());
  if (destType.getRank() != 2)
    return Value();
  for (auto [input, kind] :
       llvm::zip(op.getInputs(), op.getIndexing().getAsRange<StringAttr>()))
    if (kind.getValue() == "ij" && isFragment(input) &&
        typeOf(input).getShape() == destType.getShape())
      return input;
  return Value();
}

SmallVector<int64_t> mlir::skim::tmaBox(LoadOp load, MemRefType tileType,
                                        const HalfTile &half) {
  SmallVector<int64_t> box(load.getCoords().size(), 1);
  box[*load.getRowDim()] =
      tileType.getDimSize(half.physicallyTransposed ? 1 : 0);
  box.back() = kSwizzlePanelElements;
  return box;
}

bool mlir::skim::planFragments(gpu::GPUFuncOp func, int64_t threads, bool wgmma,
                               bool tma, FragmentPlan &plan, std::string &why) {
  Refusal refuse{why};
  plan.vectorAtomics = wgmma;
  int64_t laneGroup = plan.amd ? plan.amd->waveSize() : kWarpSize;
  if (threads % laneGroup != 0)
    return refuse.fail(plan.amd ? "the block is not a whole number of waves"
                                : "the block is not a whole number of warps");
  SmallVector<AllocOp> allocs;
  func.walk([&](AllocOp op) { allocs.push_back(op); });
  auto allocOf = [](Value v) { return v.getDefiningOp<AllocOp>(); };
  // A fragment that scalar code reads or writes (the per-row masks of
  // selection tiles) is demoted to shared memory: a register array indexed
  // by a runtime row would not stay in registers, and a row lives in lanes
  // that the uniform scalar code does not know.
  llvm::SmallPtrSet<Operation *, 8> candidates;
  for (AllocOp alloc : allocs)
    if (memoryOf(alloc) == MemoryKind::fragment &&
        llvm::all_of(alloc->getUsers(), [](Operation *user) {
          return isa<FillOp, LoadOp, StoreOp, ReduceOp, GemmOp, MapOp>(user);
        }))
      candidates.insert(alloc);
  auto isFragment = [&](Value v) {
    AllocOp a = allocOf(v);
    return a && candidates.contains(a);
  };
  auto rankOf = [](Value v) { return cast<MemRefType>(v.getType()).getRank(); };
  auto fragmentLayoutOf = [&](MapOp op) {
    return static_cast<bool>(mapFragmentLayout(
        op, isFragment, [](Value v) { return cast<MemRefType>(v.getType()); }));
  };
  auto shapeOf = [](Value v) {
    return cast<MemRefType>(v.getType()).getShape();
  };

  bool hasGemm = false;
  int64_t rows = 0; // the M every fragment tile shares
  for (AllocOp alloc : allocs) {
    if (!candidates.contains(alloc))
      continue;
    Value tile = alloc.getResult();
    ArrayRef<int64_t> shape = shapeOf(tile);
    if (rows == 0)
      rows = shape[0];
    if (shape[0] != rows)
      return refuse.fail("fragment tiles of different row counts");
    for (OpOperand &use : tile.getUses()) {
      Operation *user = use.getOwner();
      bool ok =
          llvm::TypeSwitch<Operation *, bool>(user)
              .Case<FillOp>([](auto) { return true; })
              .Case<LoadOp>([&](LoadOp op) {
                if (op.getTranspose() || rankOf(tile) != 2)
                  return refuse.fail(
                      "a transposed or 1-D load into a fragment");
                return true;
              })
              .Case<StoreOp>([&](StoreOp) {
                return rankOf(tile) == 2 ||
                       refuse.fail("a 1-D fragment stored");
              })
              .Case<ReduceOp>([&](ReduceOp op) {
                if (!isFragment(op.getSource()) || !isFragment(op.getDest()))
                  return refuse.fail(
                      "a reduce between fragment and shared tiles");
                return true;
              })
              .Case<GemmOp>([&](GemmOp op) {
                if (use.getOperandNumber() == 1 || !isFragment(op.getAcc()))
                  return refuse.fail(
                      "a fragment as gemm B or a shared accumulator");
                hasGemm = true;
                return true;
              })
              .Case<MapOp>([&](MapOp op) {
                if (tile == op.getDest())
                  return true;
                int64_t i = use.getOperandNumber();
                StringRef kind =
                    cast<StringAttr>(op.getIndexing()[i]).getValue();
                // Into a shared tile, the map walks the registers of a
                // fragment input of the destination's shape, and each lane
                // stores the elements it holds.
                if (!isFragment(op.getDest()) && !fragmentLayoutOf(op))
                  return refuse.fail("a fragment read by a map into a shared "
                                     "tile of another shape");
                if (rankOf(op.getDest()) == 2 && rankOf(tile) == 2 &&
                    (kind != "ij" || shapeOf(tile) != shapeOf(op.getDest())))
                  return refuse.fail(
                      "a 2-D fragment read other than element-wise");
                if (rankOf(op.getDest()) == 2 && rankOf(tile) == 1 &&
                    kind != "i")
                  return refuse.fail(
                      "a fragment row vector read along columns");
                if (rankOf(op.getDest()) == 1 && rankOf(tile) == 2)
                  return refuse.fail("a 2-D fragment read by a 1-D map");
                return true;
              })
              .Default([&](Operation *op) {
                return refuse.fail("a fragment used by '" +
                                   op->getName().getStringRef() + "'");
              });
      if (!ok)
        return false;
    }
  }
  if (!hasGemm)
    return refuse.fail("no gemm into a fragment");

  // Map bodies see only scalars: a fragment captured inside one would be read
  // by a lane that does not hold it.
  bool captured = false;
  func.walk([&](MapOp op) {
    op.getBody().walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (isFragment(v))
          captured = true;
    });
  });
  if (captured)
    return refuse.fail("a fragment used inside a map body");

  // Gemm operands: 16-bit loads in shared memory (or fragments for A).
  auto sourceType = [&](Value tile) -> Type {
    Type type;
    for (Operation *user : tile.getUsers())
      if (auto load = dyn_cast<LoadOp>(user); load && load.getDest() == tile) {
        Type t = cast<MemRefType>(load.getSource().getType()).getElementType();
        if (type && type != t)
          return Type();
        type = t;
      }
    return type;
  };
  bool operandsOk = true;
  func.walk([&](GemmOp op) {
    // A gemm of shared tiles only (f32 helpers beside the matrix-unit ones)
    // runs SIMT.
    if (!operandsOk || !isFragment(op.getAcc()))
      return;
    ArrayRef<int64_t> a = shapeOf(op.getA()), acc = shapeOf(op.getAcc());
    int64_t nStep = plan.amd ? plan.amd->tile() : 8;
    if (a[1] % 16 != 0 || acc[1] % nStep != 0) {
      operandsOk = refuse.fail(
          "a gemm whose K is not a multiple of 16 or N of " +
          std::to_string(nStep));
      return;
    }
    for (Value operand : {op.getA(), op.getB()}) {
      if (isFragment(operand))
        continue;
      AllocOp alloc = allocOf(operand);
      Type type = alloc ? sourceType(operand) : Type();
      if (!type || !is16Bit(type)) {
        operandsOk = refuse.fail("a gemm operand not loaded from bf16 or f16");
        return;
      }
      if (plan.mmaType && plan.mmaType != type) {
        operandsOk = refuse.fail("gemm operands of two element types");
        return;
      }
      plan.mmaType = type;
    }
  });
  if (!operandsOk)
    return false;
  if (!plan.mmaType)
    return refuse.fail("no 16-bit gemm operand to take mma.sync's type from");

  // Register budget: a lane has 255 registers, and addresses, masks and the
  // mma operands need some 50 of them. Past the budget, fragments that are
  // only loaded and then read as gemm A (Q) move to shared memory, where
  // ldmatrix reads them each time: D = 192 would spill otherwise.
  int64_t registers = 0;
  for (Operation *alloc : candidates)
    registers += planRegisters(cast<MemRefType>(alloc->getResult(0).getType()),
                               threads, plan);
  // WMMA's B operand takes all 16 k of a row in every lane: from 16-bit LDS
  // that is two 16-byte reads, from a register tile in the accumulator
  // layout one shuffle a register in wave32 and three in wave64, every
  // k-step. With Q in registers the D = 128 attention of gfx1100 spilled
  // in wave32 and (200 VGPRs) in wave64 (lit: amd-code-object), so on WMMA
  // Q always goes to LDS.
  bool wmma = plan.amd && plan.amd->isWmma();
  if (wmma || registers > kFragmentRegisterBudget) {
    SmallVector<Operation *> demoted;
    for (Operation *alloc : candidates) {
      bool aOnly = llvm::all_of(alloc->getUses(), [&](OpOperand &use) {
        if (auto load = dyn_cast<LoadOp>(use.getOwner()))
          return !load.getTranspose() &&
                 cast<MemRefType>(load.getSource().getType())
                         .getElementType() == plan.mmaType;
        return isa<GemmOp>(use.getOwner()) && use.getOperandNumber() == 0;
      });
      if (aOnly)
        demoted.push_back(alloc);
    }
    for (Operation *alloc : demoted)
      candidates.erase(alloc);
  }

  for (AllocOp alloc : allocs) {
    if (candidates.contains(alloc)) {
      plan.fragments.insert(alloc);
      continue;
    }
    // A shared tile is kept in 16-bit form when it is only loaded (from the
    // mma type, 8-element aligned rows) and read by gemms.
    Value tile = alloc.getResult();
    bool halfOk = shapeOf(tile).size() == 2;
    std::optional<bool> transposed;
    for (OpOperand &use : tile.getUses()) {
      if (auto load = dyn_cast<LoadOp>(use.getOwner())) {
        Type t = cast<MemRefType>(load.getSource().getType()).getElementType();
        bool tr = load.getTranspose();
        int64_t cols = shapeOf(tile)[tr ? 0 : 1];
        halfOk &= t == plan.mmaType && cols % 8 == 0 &&
                  (!transposed || *transposed == tr);
        transposed = tr;
      } else if (auto gemm = dyn_cast<GemmOp>(use.getOwner())) {
        halfOk &= use.getOperandNumber() != 2 && isFragment(gemm.getAcc());
      } else {
        halfOk = false;
      }
    }
    if (halfOk && transposed)
      plan.halfTiles[alloc] = HalfTile{plan.mmaType, *transposed};
  }
  if (wgmma)
    planWarpgroupGemms(func, threads / kWarpSize, plan);
  if (wgmma && tma)
    planTmaTiles(func, plan);
  return true;
}

int64_t mlir::skim::halfTileElements(MemRefType tileType,
                                     const HalfTile &half) {
  int64_t physRows = tileType.getDimSize(half.physicallyTransposed ? 1 : 0);
  if (half.swizzled)
    return tileType.getNumElements();
  return physRows * halfTileRowStride(tileType, half);
}

int64_t mlir::skim::halfTileRowStride(MemRefType tileType,
                                      const HalfTile &half) {
  return tileType.getDimSize(half.physicallyTransposed ? 0 : 1) + kHalfRowPad;
}

int64_t mlir::skim::fragmentRegisters(MemRefType tileType, int64_t warps) {
  int64_t slots =
      llvm::divideCeil(llvm::divideCeil(tileType.getDimSize(0), 16), warps);
  if (tileType.getRank() == 1)
    return slots * 2;
  return slots * llvm::divideCeil(tileType.getDimSize(1), 8) * 4;
}

MemRefType mlir::skim::halfTileViewType(MemRefType tileType,
                                        const HalfTile &half,
                                        Attribute memorySpace) {
  ArrayRef<int64_t> shape = tileType.getShape();
  int64_t stride = halfTileRowStride(tileType, half);
  auto layout = StridedLayoutAttr::get(tileType.getContext(), 0,
                                       half.physicallyTransposed
                                           ? ArrayRef<int64_t>{1, stride}
                                           : ArrayRef<int64_t>{stride, 1});
  return MemRefType::get(shape, half.elementType, layout, memorySpace);
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

namespace {

/// Register positions of a fragment tile.
struct FragmentShape {
  int64_t rank, rows, cols;
  int64_t slots;  // m-tiles per warp
  int64_t nTiles; // 8-column tiles (rank 2)

  int64_t size() const { return rank == 2 ? slots * nTiles * 4 : slots * 2; }
  int64_t index(int64_t s, int64_t nt, int64_t k) const {
    return (s * nTiles + nt) * 4 + k;
  }
};

class FragmentLowering : FragmentOpsBase {
public:
  FragmentLowering(RewriterBase &rewriter, Value tid, int64_t threads,
                   const FragmentPlan &plan,
                   const llvm::DenseMap<Value, Operation *> &tiles,
                   function_ref<void(Operation *)> fence)
      : FragmentOpsBase(rewriter, plan, tiles), tid(tid),
        warps(threads / kWarpSize), fence(fence) {}

  /// Lane coordinates, built once at the entry of the kernel.
  void setUpLane(Location loc);
  /// The TMA tiles' mbarriers, initialised once by thread 0 right after the
  /// shared buffer is defined, and each thread's phase records.
  void setUpTma();
  /// Waits for every TMA copy still in flight, before `op` (the kernel's
  /// return): no copy may outlive the CTA whose shared memory it writes.
  void drainTma(Operation *op);
  /// Waits for the wgmma groups still running that are left behind: every
  /// group of a block is waited for before the block ends.
  void finishWgmmaGroups();
  LogicalResult lower(Operation *op);
  using FragmentOpsBase::opsToLower;
  /// Notes the tiles of carried loads among `ops` before any is lowered:
  /// their readers come first in program order.
  void findCarriedTiles(ArrayRef<Operation *> ops) {
    for (Operation *op : ops)
      if (auto load = dyn_cast<LoadOp>(op);
          load && load.getStage() && halfTile(load.getDest()) &&
          !tmaOf(load.getDest()) && isCarried(op)) {
        carriedTiles.insert(load.getDest());
        carriedLoads.insert(op);
      }
  }

private:
  FragmentShape shapeOf(Value tile) const {
    MemRefType type = logicalType(tile);
    FragmentShape s;
    s.rank = type.getRank();
    s.rows = type.getDimSize(0);
    s.cols = s.rank == 2 ? type.getDimSize(1) : 1;
    int64_t mTiles = llvm::divideCeil(s.rows, 16);
    s.slots = llvm::divideCeil(mTiles, warps);
    s.nTiles = llvm::divideCeil(s.cols, 8);
    return s;
  }

  // FragmentOpsBase's questions.
  void forEachRegister(Location loc, Value tile,
                       function_ref<void(int64_t, Value, Value)> body) override {
    forEachRegister(loc, shapeOf(tile), body);
  }
  int64_t rowRegister(Value tile, int64_t r) const override {
    // Register (slot, n-tile, k) holds rows g + 8 (k / 2) of its slot.
    return (r / (shapeOf(tile).nTiles * 4)) * 2 + (r % 4) / 2;
  }
  int64_t registerCount(Value tile) const override {
    return shapeOf(tile).size();
  }

  /// The tile row of register slot s, half h (rows g and g + 8).
  Value rowOf(Location loc, int64_t s, int64_t h) {
    Value mTile = add(loc, cst(loc, s * warps), warp);
    return add(loc, mul(loc, mTile, cst(loc, 16)),
               add(loc, g, cst(loc, 8 * h)));
  }
  Value colOf(Location loc, int64_t nt, int64_t e) {
    return add(loc, cst(loc, nt * 8 + e), twoT);
  }
  /// Whether register rows/columns can fall past the tile (padding).
  bool rowsPadded(const FragmentShape &s) const {
    return s.rows % 16 != 0 || llvm::divideCeil(s.rows, 16) % warps != 0;
  }
  /// Calls body(register, row, col) for every register of `tile`, under a
  /// bounds check where the register can be padding.
  void forEachRegister(Location loc, const FragmentShape &shape,
                       function_ref<void(int64_t, Value, Value)> body);
  /// The i-th lane slot of an m-tile exists (warp-uniform): when the m-tiles
  /// do not divide among the warps, the last slots of some warps are empty.
  Value slotExists(Location loc, const FragmentShape &shape, int64_t s);

  /// Packs two f32 into the i32 register of two 16-bit mma operands.
  Value pack(Location loc, Value lo, Value hi);
  /// The element index of physical (row, col) in a 16-bit shared tile's
  /// storage (padded rows or swizzled panels).
  Value halfElement(Location loc, Value tile, Value row, Value col);
  /// A pointer into a 16-bit shared tile at physical (row, col).
  Value halfPointer(Location loc, Value tile, Value row, Value col);
  /// Makes this thread's generic-proxy writes of a swizzled tile visible to
  /// wgmma, which reads shared memory through the async proxy.
  void fenceForWgmma(Location loc, Value tile);
  /// ldmatrix of `num` 8x8 matrices; returns the `num` i32 registers.
  SmallVector<Value> ldmatrix(Location loc, Value pointer, int num, bool trans);
  /// An element of a shared tile (either form) as f32, at logical (r, c).
  Value sharedElement(Location loc, Value tile, Value r, Value c);

  /// Whether a gemm reads `tile` after `load` in its block, before any other
  /// load into it: only then may the copy stay in flight.
  bool hasLaterReader(Operation *load, Value tile) const;
  /// A staged load whose reader is the next iteration of its loop.
  bool isCarried(Operation *load) const;
  /// cp.async.wait_group before `reader` if `tile`'s copy is in flight (an
  /// mbarrier wait for a TMA tile).
  void waitForCopy(Operation *reader, Value tile);

  /// A TMA tile's mbarrier, and two per-thread words that every thread keeps
  /// alike (all run the same uniform code): the parity of the barrier phase
  /// the next copy completes, and whether a copy is in flight. They live in
  /// allocas that LLVM promotes to registers; a flag rather than static
  /// counting, because the last one-ahead copy of a loop is never read.
  struct TmaState {
    Value barrier, phase, inFlight;
    /// Warp-specialised kernels: the barrier the consumers arrive at when
    /// done with the tile, and the producer's parity of its next phase.
    Value empty, emptyPhase;
  };
  const TmaState *tmaOf(Value tile) const {
    auto it = tmaStates.find(allocOf(tile));
    return it == tmaStates.end() ? nullptr : &it->second;
  }
  /// Waits for the phase of `barrier` whose parity `parityWord` holds,
  /// then flips it.
  void waitForPhase(Location loc, Value barrier, Value parityWord);
  /// If a copy is in flight: wait for its phase, flip the parity. With
  /// `beforeReissue`, a barrier follows the wait (see lowerTmaLoad).
  void waitForTma(Location loc, const TmaState &state,
                  bool beforeReissue = false);
  LogicalResult lowerTmaLoad(LoadOp op, const HalfTile &half);
  /// expect_tx on the tile's barrier and one copy per 64-column panel,
  /// under `predicate` (null: unconditionally).
  void issueTmaCopy(LoadOp op, const HalfTile &half, const TmaState &state,
                    Value predicate);

  /// A wgmma group committed and not yet waited for: its gemm's operand
  /// tiles and the block it was issued in. A group stays in flight until an
  /// op touches one of its tiles (FlashAttention-3's overlap: P·V runs
  /// under the next softmax), or its block ends.
  struct WgmmaGroup {
    Value a, b, acc;
    int64_t accRegisters;
    Block *block;
  };
  /// wgmma.wait_group before `op` (or before its ancestor in the group's
  /// block) for the newest pending group it touches, and for the groups of
  /// blocks `op` is not inside.
  void waitForWgmma(Operation *op);
  /// wait_group `newer` at the current insertion point, completing the
  /// first `count` pending groups; after a partial wait their accumulators
  /// pass through an empty asm so that no use of them moves above it.
  void completeWgmmaGroups(Location loc, size_t count, int64_t newer);

  LogicalResult lowerLoad(LoadOp op);
  LogicalResult lowerHalfLoad(LoadOp op, const HalfTile &half);
  LogicalResult lowerStore(StoreOp op);
  LogicalResult lowerPairedAccumulate(StoreOp op, const FragmentShape &shape);
  LogicalResult lowerReduce(ReduceOp op);
  LogicalResult lowerGemm(GemmOp op);
  /// `accIsZero`: the accumulator was zero-filled (zeroFilled), so the
  /// first k-step overwrites it.
  LogicalResult lowerWarpgroupGemm(GemmOp op, bool accIsZero);
  /// The four A registers of the m16n8k16 (and wgmma m64nNk16) A fragment
  /// at slot s, k-step kk: rows (g, g+8) × columns (2t, 8+2t).
  std::array<Value, 4> aFragment(Location loc, GemmOp op, int64_t s, int64_t kk,
                                 Value mBase);

  Value tid;
  int64_t warps;
  function_ref<void(Operation *)> fence;
  Value warp, lane, g, twoT;
  /// ldmatrix address parts: l % 8, l % 16, 8 · ((l / 8) % 2), 8 · (l / 16).
  Value l8, l16, hi8, hi16;
  /// cp.async groups committed and not yet waited for, oldest first.
  SmallVector<std::pair<Value, Block *>> pendingCopies;
  /// Tiles that some loop fills for its next iteration (isCarried).
  llvm::SmallPtrSet<Value, 4> carriedTiles;
  llvm::SmallPtrSet<Operation *, 4> carriedLoads;
  llvm::MapVector<Operation *, TmaState> tmaStates;
  /// tid == 0, set up with the TMA state: thread 0 alone issues copies.
  Value firstThread;
  /// wgmma groups in flight, oldest first.
  SmallVector<WgmmaGroup> pendingGroups;
  /// Fragments whose registers all hold 0 from a fill that no op since has
  /// touched, with the fill's block: a wgmma into one starts with
  /// scale-d = 0 instead of reading the zeros (no register moves).
  llvm::DenseMap<Value, Block *> zeroFilled;
};

} // namespace

void FragmentLowering::setUpLane(Location loc) {
  warp = arith::DivUIOp::create(b, loc, tid, cst(loc, kWarpSize));
  lane = arith::RemUIOp::create(b, loc, tid, cst(loc, kWarpSize));
  g = arith::DivUIOp::create(b, loc, lane, cst(loc, 4));
  twoT =
      mul(loc, arith::RemUIOp::create(b, loc, lane, cst(loc, 4)), cst(loc, 2));
  l8 = arith::RemUIOp::create(b, loc, lane, cst(loc, 8));
  l16 = arith::RemUIOp::create(b, loc, lane, cst(loc, 16));
  hi8 = mul(loc,
            arith::RemUIOp::create(
                b, loc, arith::DivUIOp::create(b, loc, lane, cst(loc, 8)),
                cst(loc, 2)),
            cst(loc, 8));
  hi16 =
      mul(loc, arith::DivUIOp::create(b, loc, lane, cst(loc, 16)), cst(loc, 8));
}

Value FragmentLowering::slotExists(Location loc, const FragmentShape &shape,
                                   int64_t s) {
  int64_t mTiles = llvm::divideCeil(shape.rows, 16);
  Value mTile = add(loc, cst(loc, s * warps), warp);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, mTile,
                               cst(loc, mTiles));
}

void FragmentLowering::forEachRegister(
    Location loc, const FragmentShape &shape,
    function_ref<void(int64_t, Value, Value)> body) {
  bool rowGuard = rowsPadded(shape);
  bool colGuard = shape.rank == 2 && shape.cols % 8 != 0;
  auto visit = [&](int64_t r, Value row, Value col) {
    Value ok;
    auto both = [&](Value c) {
      ok = ok ? arith::AndIOp::create(b, loc, ok, c) : c;
    };
    if (rowGuard)
      both(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                 cst(loc, shape.rows)));
    if (colGuard)
      both(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col,
                                 cst(loc, shape.cols)));
    if (!ok) {
      body(r, row, col);
      return;
    }
    auto ifOp = scf::IfOp::create(b, loc, ok, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body(r, row, col);
  };
  for (int64_t s = 0; s < shape.slots; ++s) {
    if (shape.rank == 1) {
      for (int64_t h = 0; h < 2; ++h)
        visit(s * 2 + h, rowOf(loc, s, h), Value());
      continue;
    }
    for (int64_t nt = 0; nt < shape.nTiles; ++nt)
      for (int64_t k = 0; k < 4; ++k)
        visit(shape.index(s, nt, k), rowOf(loc, s, k / 2),
              colOf(loc, nt, k % 2));
  }
}

Value FragmentLowering::pack(Location loc, Value lo, Value hi) {
  // Two scalar truncations, shifted together. One vector truncation
  // (cvt.rn.bf16x2.f32, fewer instructions a pair) gave wrong results on the
  // H200 at D = 64 though its PTX reads right and the lane emulator agreed
  // (bench/NOTES.md, 2026-12-02); not used until that is understood.
  auto half = [&](Value x) -> Value {
    Value h = arith::TruncFOp::create(b, loc, plan.mmaType, x);
    Value bits = arith::BitcastOp::create(b, loc, b.getI16Type(), h);
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), bits);
  };
  Value high = arith::ShLIOp::create(b, loc, half(hi), i32(loc, 16));
  return arith::OrIOp::create(b, loc, half(lo), high);
}

Value FragmentLowering::halfElement(Location loc, Value tile, Value row,
                                    Value col) {
  const HalfTile *half = halfTile(tile);
  if (half && half->swizzled) {
    // Panel of 64 columns, then the row, then the 16-byte chunk XOR row % 8.
    MemRefType type = logicalType(tile);
    int64_t physRows = type.getDimSize(half->physicallyTransposed ? 1 : 0);
    Value panel = arith::DivUIOp::create(b, loc, col, cst(loc, 64));
    Value inPanel = arith::RemUIOp::create(b, loc, col, cst(loc, 64));
    Value chunk = arith::DivUIOp::create(b, loc, inPanel, cst(loc, 8));
    Value swizzledChunk = arith::XOrIOp::create(
        b, loc, chunk, arith::RemUIOp::create(b, loc, row, cst(loc, 8)));
    Value element = add(loc, mul(loc, panel, cst(loc, physRows * 64)),
                        mul(loc, row, cst(loc, 64)));
    element = add(loc, element, mul(loc, swizzledChunk, cst(loc, 8)));
    return add(loc, element,
               arith::RemUIOp::create(b, loc, inPanel, cst(loc, 8)));
  }
  auto type = cast<MemRefType>(tile.getType());
  auto [strides, offset] = type.getStridesAndOffset();
  (void)offset;
  // The physical row stride: the larger of the two (the other is 1).
  int64_t stride = std::max(strides[0], strides[1]);
  return add(loc, mul(loc, row, cst(loc, stride)), col);
}

Value FragmentLowering::halfPointer(Location loc, Value tile, Value row,
                                    Value col) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, tile);
  Value element = halfElement(loc, tile, row, col);
  Value address = add(loc, base, mul(loc, element, cst(loc, 2)));
  Value address64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  auto shared = LLVM::LLVMPointerType::get(b.getContext(), 3);
  return LLVM::IntToPtrOp::create(b, loc, shared, address64);
}

SmallVector<Value> FragmentLowering::ldmatrix(Location loc, Value pointer,
                                              int num, bool trans) {
  Type i32Type = b.getI32Type();
  Type resultType = i32Type;
  if (num > 1)
    resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(num, i32Type));
  Value result = NVVM::LdMatrixOp::create(
      b, loc, resultType, pointer, num,
      trans ? NVVM::MMALayout::col : NVVM::MMALayout::row,
      NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
      NVVM::LdStMatrixEltType::B16);
  if (num == 1)
    return {result};
  SmallVector<Value> regs;
  for (int i = 0; i < num; ++i)
    regs.push_back(
        LLVM::ExtractValueOp::create(b, loc, result, ArrayRef<int64_t>{i}));
  return regs;
}

Value FragmentLowering::sharedElement(Location loc, Value tile, Value r,
                                      Value c) {
  Value v = memref::LoadOp::create(b, loc, tile, ValueRange{r, c});
  return convert(loc, v, b.getF32Type());
}

LogicalResult FragmentLowering::lowerLoad(LoadOp op) {
  if (const HalfTile *half = halfTile(op.getDest()))
    return lowerHalfLoad(op, *half);
  return lowerFragmentLoad(op);
}

/// A 16-bit shared tile: global rows copied as they are (no conversion), 16
/// bytes per cp.async when the rows are 16-byte aligned, element by element
/// otherwise. Rows past `valid` are zero-filled by cp.async itself (a
/// source size of 0).
LogicalResult FragmentLowering::lowerHalfLoad(LoadOp op, const HalfTile &half) {
  if (tmaOf(op.getDest()))
    return lowerTmaLoad(op, half);
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  // A copy into this tile still in flight (a previous loop's one-ahead K)
  // must land first: two asynchronous writes of one address are unordered.
  if (llvm::any_of(pendingCopies,
                   [&](auto &p) { return p.first == op.getDest(); }))
    waitForCopy(op, op.getDest());
  MemRefType tileType = logicalType(op.getDest());
  // Physical rows are global rows either way.
  int64_t rows = tileType.getDimSize(half.physicallyTransposed ? 1 : 0);
  int64_t cols = tileType.getDimSize(half.physicallyTransposed ? 0 : 1);
  int64_t chunksPerRow = cols / 8;
  int64_t chunks = rows * chunksPerRow;
  Value source = op.getSource();

  // Alignment of every row start, known only at run time: the base address,
  // the offset and both strides, all in bytes, must be multiples of 16.
  Value sourceBase =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, source);
  Value two = cst(loc, 2);
  Value misaligned =
      arith::OrIOp::create(b, loc, sourceBase, mul(loc, op.getOffset(), two));
  misaligned = arith::OrIOp::create(b, loc, misaligned,
                                    mul(loc, op.getOuterStride(), two));
  if (op.getGroup() > 1)
    misaligned = arith::OrIOp::create(b, loc, misaligned,
                                      mul(loc, op.getInnerStride(), two));
  misaligned = arith::AndIOp::create(b, loc, misaligned, cst(loc, 15));
  auto chunkLoop = [&](function_ref<void(Value, Value, Value, Value)> body) {
    auto loop =
        scf::ForOp::create(b, loc, tid, cst(loc, chunks),
                           cst(loc, static_cast<int64_t>(warps * kWarpSize)));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    Value r = arith::DivUIOp::create(b, loc, e, cst(loc, chunksPerRow));
    Value c =
        mul(loc, arith::RemUIOp::create(b, loc, e, cst(loc, chunksPerRow)),
            cst(loc, 8));
    Value base, inBounds;
    std::tie(base, inBounds) = globalRow(op, r);
    body(r, c, add(loc, base, c), inBounds);
  };
  auto copyAsync = [&] {
    chunkLoop([&](Value r, Value c, Value global, Value inBounds) {
      Value dst = halfPointer(loc, op.getDest(), r, c);
      Value srcAddress = add(loc, sourceBase, mul(loc, global, two));
      // Rows out of bounds read nothing: point them at the tensor's start.
      srcAddress =
          arith::SelectOp::create(b, loc, inBounds, srcAddress, sourceBase);
      Value src64 =
          arith::IndexCastOp::create(b, loc, b.getI64Type(), srcAddress);
      Value src = LLVM::IntToPtrOp::create(
          b, loc, LLVM::LLVMPointerType::get(b.getContext(), 1), src64);
      Value srcBytes =
          arith::SelectOp::create(b, loc, inBounds, i32(loc, 16), i32(loc, 0));
      NVVM::CpAsyncOp::create(b, loc, dst, src, 16,
                              NVVM::LoadCacheModifierKind::CG, srcBytes);
    });
  };
  auto copyElements = [&] {
    chunkLoop([&](Value r, Value c, Value global, Value inBounds) {
      for (int64_t e = 0; e < 8; ++e) {
        Value col = add(loc, c, cst(loc, e));
        Value v = loadOrPad(op, inBounds, add(loc, global, cst(loc, e)),
                            half.elementType);
        SmallVector<Value> at = half.physicallyTransposed
                                    ? SmallVector<Value>{col, r}
                                    : SmallVector<Value>{r, col};
        if (half.swizzled)
          at = {halfElement(loc, op.getDest(), r, col)};
        memref::StoreOp::create(b, loc, v, op.getDest(), at);
      }
    });
  };
  // cp.async zero-fills: a non-zero padding takes the element copies. A
  // gather's row groups start at multiples of the outer stride, so the same
  // test covers its rows.
  if (op.getPadding().isZero()) {
    Value aligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          misaligned, cst(loc, 0));
    auto ifOp = scf::IfOp::create(b, loc, aligned, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    copyAsync();
    b.setInsertionPointToStart(ifOp.elseBlock());
    copyElements();
  } else {
    copyElements();
  }
  // One group per load on every path (an empty one when the copy was
  // synchronous), so that wait_group counts mean the same either way.
  NVVM::CpAsyncCommitGroupOp::create(b, loc);
  if (op.getStage() && hasLaterReader(op, op.getDest())) {
    pendingCopies.push_back({op.getDest(), op->getBlock()});
  } else {
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
    fenceForWgmma(loc, op.getDest());
  }
  b.eraseOp(op);
  return success();
}

void FragmentLowering::setUpTma() {
  if (plan.tmaTiles.empty())
    return;
  Operation *buffer = plan.sharedBuffer.getDefiningOp();
  Location loc = buffer->getLoc();
  b.setInsertionPointAfter(buffer);
  Value base =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, plan.sharedBuffer);
  auto shared = LLVM::LLVMPointerType::get(b.getContext(), 3);
  auto word = MemRefType::get({1}, b.getI32Type());
  Value zero = cst(loc, 0);
  for (auto &[alloc, tma] : plan.tmaTiles) {
    Value address = add(loc, base, cst(loc, tma.barrierOffset));
    TmaState state;
    Value address64 =
        arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
    state.barrier = LLVM::IntToPtrOp::create(b, loc, shared, address64);
    state.phase = memref::AllocaOp::create(b, loc, word);
    state.inFlight = memref::AllocaOp::create(b, loc, word);
    memref::StoreOp::create(b, loc, i32(loc, 0), state.phase, zero);
    memref::StoreOp::create(b, loc, i32(loc, 0), state.inFlight, zero);
    if (plan.consumerBranch) {
      Value empty = arith::IndexCastOp::create(
          b, loc, b.getI64Type(),
          add(loc, base, cst(loc, tma.emptyBarrierOffset)));
      state.empty = LLVM::IntToPtrOp::create(b, loc, shared, empty);
      state.emptyPhase = memref::AllocaOp::create(b, loc, word);
      memref::StoreOp::create(b, loc, i32(loc, 0), state.emptyPhase, zero);
    }
    tmaStates[alloc] = state;
  }
  // One arrival (thread 0's expect_tx) per phase; the bytes do the rest.
  // Thread 0 alone initialises, through a PTX predicate rather than an
  // scf.if: the entry block must stay one block, or the register arrays'
  // allocas after it would leave it and LLVM would not promote them.
  firstThread =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, cst(loc, 0));
  for (auto &entry : tmaStates) {
    NVVM::MBarrierInitOp::create(b, loc, entry.second.barrier, i32(loc, 1),
                                 firstThread);
    // Every consumer thread arrives once it is done with the tile.
    if (entry.second.empty)
      NVVM::MBarrierInitOp::create(b, loc, entry.second.empty,
                                   i32(loc, warps * kWarpSize), firstThread);
  }
  // The initialisation must be visible to the async proxy (TMA's
  // complete_tx) as well as to the other threads.
  NVVM::FenceMbarrierInitOp::create(b, loc);
  gpu::BarrierOp::create(b, loc);
}

void FragmentLowering::waitForPhase(Location loc, Value barrier,
                                    Value parityWord) {
  Value zero = cst(loc, 0);
  Value parity = memref::LoadOp::create(b, loc, parityWord, zero);
  NVVM::MBarrierTryWaitParityOp::create(b, loc, barrier, parity,
                                        i32(loc, kTryWaitTicks));
  memref::StoreOp::create(b, loc,
                          arith::XOrIOp::create(b, loc, parity, i32(loc, 1)),
                          parityWord, zero);
}

void FragmentLowering::waitForTma(Location loc, const TmaState &state,
                                  bool beforeReissue) {
  Value zero = cst(loc, 0);
  Value flag = memref::LoadOp::create(b, loc, state.inFlight, zero);
  Value inFlight = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, flag,
                                         i32(loc, 0));
  auto ifOp = scf::IfOp::create(b, loc, inFlight, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  waitForPhase(loc, state.barrier, state.phase);
  memref::StoreOp::create(b, loc, i32(loc, 0), state.inFlight, zero);
  // Every thread must see this phase complete before thread 0 starts the
  // next one: a parity wait cannot tell phase p from p + 2, so a thread
  // that waits only after the next copy has also landed would wait for a
  // phase that never comes. (The flag is the same in every thread, so the
  // barrier is in uniform control flow.)
  if (beforeReissue)
    gpu::BarrierOp::create(b, loc);
}

void FragmentLowering::drainTma(Operation *op) {
  b.setInsertionPoint(op);
  for (auto &entry : tmaStates)
    waitForTma(op->getLoc(), entry.second);
}

/// A TMA tile: thread 0 posts the tile's bytes on its mbarrier and copies
/// one box per 64-column panel; the box lands in the 128-byte-swizzled
/// panel layout wgmma's descriptors walk (HalfTile::swizzled), because the
/// tensor map asks for that swizzle and each panel starts 1024-aligned.
/// Rows past `valid` receive the tensor's own elements (zeros past its
/// end), which the load's coordinates allow: every consumer masks them.
LogicalResult FragmentLowering::lowerTmaLoad(LoadOp op, const HalfTile &half) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  const TmaState &state = *tmaOf(op.getDest());
  if (!plan.tensorMaps.lookup(op))
    return op.emitOpError("has no tensor map for its TMA copy");
  Value zero = cst(loc, 0);
  if (plan.producerLoads.contains(op)) {
    // The producer thread: once every consumer is done with the tile (the
    // empty barrier's next phase), the copy.
    waitForPhase(loc, state.empty, state.emptyPhase);
    issueTmaCopy(op, half, state, Value());
    b.eraseOp(op);
    return success();
  }
  if (plan.consumerBranch) {
    // A consumer: the copy's phase, if it was never read, is consumed first
    // (every thread must see each phase before the producer starts the
    // next); then this thread is done with the tile.
    waitForTma(loc, state);
    NVVM::MBarrierArriveOp::create(b, loc, Type(), state.empty, Value());
    memref::StoreOp::create(b, loc, i32(loc, 1), state.inFlight, zero);
    b.eraseOp(op);
    return success();
  }
  // Two asynchronous writes of one tile are unordered: the last must land
  // (and its phase be consumed by every thread) before the next is issued.
  waitForTma(loc, state, /*beforeReissue=*/true);
  // Thread 0 issues, under PTX predicates rather than a branch: ptxas
  // allocates registers across a branch in the loop less well (an scf.if
  // here made D = 128 with 128 rows spill).
  issueTmaCopy(op, half, state, firstThread);
  memref::StoreOp::create(b, loc, i32(loc, 1), state.inFlight, zero);
  b.eraseOp(op);
  return success();
}

void FragmentLowering::issueTmaCopy(LoadOp op, const HalfTile &half,
                                    const TmaState &state, Value predicate) {
  Location loc = op.getLoc();
  Value map = plan.tensorMaps.lookup(op);
  MemRefType tileType = logicalType(op.getDest());
  int64_t rows = tileType.getDimSize(half.physicallyTransposed ? 1 : 0);
  int64_t cols = tileType.getDimSize(half.physicallyTransposed ? 0 : 1);
  NVVM::MBarrierArriveExpectTxOp::create(
      b, loc, Type(), state.barrier, i32(loc, rows * cols * 2),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, predicate);
  // TMA coordinates go innermost first.
  SmallVector<Value> coords;
  for (Value c : llvm::reverse(op.getCoords()))
    coords.push_back(arith::IndexCastOp::create(b, loc, b.getI32Type(), c));
  Value innermost = coords.front();
  auto cluster = LLVM::LLVMPointerType::get(b.getContext(), 7);
  for (int64_t p = 0; p < cols / kSwizzlePanelElements; ++p) {
    // Panel p starts at its first row's first element.
    Value dst = halfPointer(loc, op.getDest(), cst(loc, 0),
                            cst(loc, p * kSwizzlePanelElements));
    dst = LLVM::AddrSpaceCastOp::create(b, loc, cluster, dst);
    coords.front() = arith::AddIOp::create(b, loc, innermost,
                                           i32(loc, p * kSwizzlePanelElements));
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, loc, dst, map, coords, state.barrier, ValueRange(), Value(), Value(),
        NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false, NVVM::CTAGroupKindAttr(),
        predicate);
  }
}

void FragmentLowering::fenceForWgmma(Location loc, Value tile) {
  const HalfTile *half = halfTile(tile);
  if (!half || !half->swizzled)
    return;
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

/// What reads or rewrites `tile` first among `ops` (nested regions
/// included): 1 for a gemm reading it, -1 for a load into it, 0 for
/// neither.
static int firstUse(iterator_range<Block::iterator> ops, Value tile) {
  for (Operation &top : ops) {
    int found = 0;
    top.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (auto gemm = dyn_cast<GemmOp>(op);
          gemm && (gemm.getA() == tile || gemm.getB() == tile))
        found = 1;
      else if (auto load = dyn_cast<LoadOp>(op); load && load.getDest() == tile)
        found = -1;
      return found ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (found)
      return found;
  }
  return 0;
}

bool FragmentLowering::hasLaterReader(Operation *load, Value tile) const {
  Block *block = load->getBlock();
  // A gemm after it (in this block, or inside a loop that follows: the
  // prologue of a prefetching loop) reads it before it is reloaded.
  if (firstUse({std::next(load->getIterator()), block->end()}, tile) == 1)
    return true;
  return carriedLoads.contains(load);
}

bool FragmentLowering::isCarried(Operation *load) const {
  // A load into a tile that a gemm earlier in the same loop body read: the
  // next iteration's reader (skim-tile's one-chunk-ahead K).
  if (!isa_and_nonnull<scf::ForOp>(load->getParentOp()))
    return false;
  Value tile = cast<LoadOp>(load).getDest();
  for (Operation &op :
       llvm::make_range(load->getBlock()->begin(), load->getIterator()))
    if (auto gemm = dyn_cast<GemmOp>(&op);
        gemm && (gemm.getA() == tile || gemm.getB() == tile))
      return true;
  return false;
}

void FragmentLowering::waitForCopy(Operation *reader, Value tile) {
  Block *block = reader->getBlock();
  Location loc = reader->getLoc();
  if (const TmaState *state = tmaOf(tile)) {
    waitForTma(loc, *state);
    return;
  }
  // Copy groups complete in the order they were committed, so waiting for
  // one leaves exactly the groups committed after it in flight. That count
  // is known when they were all committed unconditionally, in the reader's
  // block, between the copy and the reader.
  auto rit = llvm::find_if(llvm::reverse(pendingCopies),
                           [&](auto &p) { return p.first == tile; });
  bool carried = carriedTiles.contains(tile);
  if (rit != pendingCopies.rend() && (!carried || rit->second == block)) {
    auto it = std::prev(rit.base());
    bool counted =
        it->second == block &&
        llvm::all_of(llvm::make_range(std::next(it), pendingCopies.end()),
                     [&](auto &p) { return p.second == block; });
    int64_t later = pendingCopies.end() - it - 1;
    NVVM::CpAsyncWaitGroupOp::create(b, loc, counted ? later : 0);
    fenceForWgmma(loc, tile);
    if (counted)
      pendingCopies.erase(pendingCopies.begin(), it + 1);
    else
      pendingCopies.clear();
    return;
  }
  if (!carried)
    return;
  // The copy was committed by the previous iteration (or the loop's
  // prologue), before every copy this iteration has committed so far.
  int64_t later =
      llvm::count_if(pendingCopies, [&](auto &p) { return p.second == block; });
  NVVM::CpAsyncWaitGroupOp::create(b, loc, later);
  fenceForWgmma(loc, tile);
  llvm::erase_if(pendingCopies, [&](auto &p) { return p.second != block; });
}

LogicalResult FragmentLowering::lowerStore(StoreOp op) {
  FragmentShape shape = shapeOf(op.getSource());
  if (op.getAccumulate() && plan.vectorAtomics && shape.rank == 2 &&
      shape.cols % 8 == 0) {
    b.setInsertionPoint(op);
    return lowerPairedAccumulate(op, shape);
  }
  return lowerFragmentStore(op);
}

/// An accumulating store of an accumulator-layout fragment: each lane's two
/// registers of one row and adjacent columns (k = 0, 1 and k = 2, 3 of an
/// n-tile) are added with one red.global.v2.f32.add, a full 32-byte sector
/// per row of a warp instead of half of one for each of two scalar adds
/// (pass 2 of the KV-major order is bound by these additions in L2). A pair
/// that starts at an odd float (8-byte alignment) takes two scalar adds.
LogicalResult
FragmentLowering::lowerPairedAccumulate(StoreOp op,
                                        const FragmentShape &shape) {
  Location loc = op.getLoc();
  Value dest = op.getDest();
  Value destBase = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dest);
  Value four = cst(loc, 4);
  bool rowGuard = rowsPadded(shape);
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext(), 1);
  // A lane's rows are g and g + 8 of each slot: their start (a gather's
  // row-group lookup) once per row, then the pairs of every n-tile.
  for (int64_t s = 0; s < shape.slots; ++s)
    for (int64_t h = 0; h < 2; ++h) {
      Value row = rowOf(loc, s, h);
      Value base, inBounds;
      std::tie(base, inBounds) = globalRow(op, row);
      if (rowGuard)
        inBounds = arith::AndIOp::create(
            b, loc, inBounds,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                  cst(loc, shape.rows)));
      auto rowIf =
          scf::IfOp::create(b, loc, inBounds, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(rowIf.thenBlock());
      for (int64_t nt = 0; nt < shape.nTiles; ++nt) {
        int64_t r = shape.index(s, nt, 2 * h);
        Value element = add(loc, base, colOf(loc, nt, 0));
        Value address = add(loc, destBase, mul(loc, element, four));
        Value aligned = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq,
            arith::AndIOp::create(b, loc, address, cst(loc, 7)), cst(loc, 0));
        auto pairIf =
            scf::IfOp::create(b, loc, aligned, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard pairGuard(b);
        b.setInsertionPointToStart(pairIf.thenBlock());
        Value address64 =
            arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
        Value ptr = LLVM::IntToPtrOp::create(b, loc, ptrType, address64);
        LLVM::InlineAsmOp::create(
            b, loc, TypeRange{},
            ValueRange{ptr, reg(loc, op.getSource(), r),
                       reg(loc, op.getSource(), r + 1)},
            "red.global.v2.f32.add [$0], {$1, $2};", "l,f,f",
            /*has_side_effects=*/true, /*is_align_stack=*/false,
            LLVM::tailcallkind::TailCallKind::None,
            /*asm_dialect=*/LLVM::AsmDialectAttr(),
            /*operand_attrs=*/ArrayAttr());
        // An odd start: the two adds one by one.
        b.setInsertionPointToStart(pairIf.elseBlock());
        for (int64_t i = 0; i < 2; ++i)
          memref::AtomicRMWOp::create(
              b, loc, arith::AtomicRMWKind::addf,
              reg(loc, op.getSource(), r + i), dest,
              ValueRange{add(loc, element, cst(loc, i))});
      }
    }
  b.eraseOp(op);
  return success();
}

LogicalResult FragmentLowering::lowerReduce(ReduceOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  FragmentShape shape = shapeOf(op.getSource());
  Value identity = reduceIdentity(loc, op);
  auto combine = [&](Value x, Value y) {
    return FragmentOpsBase::combine(loc, op, x, y);
  };
  bool colGuard = shape.cols % 8 != 0;
  for (int64_t s = 0; s < shape.slots; ++s) {
    for (int64_t h = 0; h < 2; ++h) {
      // The lane's part of the row, then the quad's: lanes 4g..4g+3 hold it.
      Value acc = identity;
      for (int64_t nt = 0; nt < shape.nTiles; ++nt) {
        for (int64_t e = 0; e < 2; ++e) {
          Value v = reg(loc, op.getSource(), shape.index(s, nt, 2 * h + e));
          if (colGuard) {
            Value ok =
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                      colOf(loc, nt, e), cst(loc, shape.cols));
            v = arith::SelectOp::create(b, loc, ok, v, identity);
          }
          acc = combine(acc, v);
        }
      }
      for (int64_t offset : {1, 2}) {
        Value other =
            gpu::ShuffleOp::create(b, loc, acc, i32(loc, offset),
                                   i32(loc, kWarpSize), gpu::ShuffleMode::XOR)
                .getShuffleResult();
        acc = combine(acc, other);
      }
      int64_t r = s * 2 + h;
      setReg(loc, op.getDest(), r, combine(reg(loc, op.getDest(), r), acc));
    }
  }
  b.eraseOp(op);
  return success();
}

std::array<Value, 4> FragmentLowering::aFragment(Location loc, GemmOp op,
                                                 int64_t s, int64_t kk,
                                                 Value mBase) {
  const HalfTile *aHalf = halfTile(op.getA());
  std::array<Value, 4> a;
  if (isFragment(op.getA())) {
    FragmentShape aShape = shapeOf(op.getA());
    for (int64_t r = 0; r < 4; ++r) {
      int64_t nt = 2 * kk + r / 2, k = 2 * (r % 2);
      a[r] = pack(loc, reg(loc, op.getA(), aShape.index(s, nt, k)),
                  reg(loc, op.getA(), aShape.index(s, nt, k + 1)));
    }
  } else if (aHalf && !aHalf->physicallyTransposed) {
    // Matrices 0..3 = (rows 0-7 | 8-15) × (k 0-7 | 8-15); lane l points
    // at row l % 16, column 8 · (l / 16).
    Value p = halfPointer(loc, op.getA(), add(loc, mBase, l16),
                          add(loc, cst(loc, 16 * kk), hi16));
    SmallVector<Value> r = ldmatrix(loc, p, 4, /*trans=*/false);
    a = {r[0], r[1], r[2], r[3]};
  } else if (aHalf) {
    // Stored [k][m]: the transposed ldmatrix of rows k.
    Value p = halfPointer(loc, op.getA(),
                          add(loc, cst(loc, 16 * kk), add(loc, l8, hi16)),
                          add(loc, mBase, hi8));
    SmallVector<Value> r = ldmatrix(loc, p, 4, /*trans=*/true);
    a = {r[0], r[1], r[2], r[3]};
  } else {
    for (int64_t r = 0; r < 4; ++r) {
      Value row = add(loc, mBase, add(loc, g, cst(loc, 8 * (r % 2))));
      Value col = add(loc, cst(loc, 16 * kk + 8 * (r / 2)), twoT);
      a[r] =
          pack(loc, sharedElement(loc, op.getA(), row, col),
               sharedElement(loc, op.getA(), row, add(loc, col, cst(loc, 1))));
    }
  }

  return a;
}

/// acc[M×N] += A[M×K] · B on sm_90a: per 64-row warpgroup slice and k-step
/// one `wgmma.mma_async m64nNk16`, A from registers (the same m16n8k16 A
/// fragment each warp would give mma.sync: PTX ISA, "Register Fragments" of
/// wgmma), B from the swizzled shared tile through a matrix descriptor. The
/// accumulator of slice s is, register for register, the fragment's slot s:
/// wgmma's value i sits at row 16·warp + g + 8·((i / 2) % 2), column
/// 8·(i / 4) + 2t + i % 2, which is (n-tile i / 4, register i % 4).
///
/// Upstream's nvvm.wgmma.mma_async takes A only as a shared-memory
/// descriptor in LLVM 22, so this form (register A, which keeps P out of
/// shared memory, as FlashAttention-3 does) is inline PTX.
LogicalResult FragmentLowering::lowerWarpgroupGemm(GemmOp op, bool accIsZero) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  FragmentShape accShape = shapeOf(op.getAcc());
  int64_t kSteps = logicalType(op.getA()).getDimSize(1) / 16;
  int64_t n = accShape.cols, values = n / 2;
  const HalfTile &half = *halfTile(op.getB());
  MemRefType bType = logicalType(op.getB());
  int64_t physRows = bType.getDimSize(half.physicallyTransposed ? 1 : 0);
  // B[k][n] physically [n][k] is K-major (wgmma's native B); [k][n] is
  // N-major, which wgmma reads with imm-trans-b = 1.
  bool kMajor = op.getTransposeB() != half.physicallyTransposed;

  // Descriptor (PTX ISA, "Matrix Descriptor Format"): start address >> 4 in
  // bits 0-13, leading byte offset >> 4 in 16-29, stride byte offset >> 4 in
  // 32-45, swizzle mode in 62-63 (1: 128 bytes). An 8-row swizzle atom is
  // 1024 bytes: the stride between 8-row groups either way. N-major B spans
  // several 64-column panels along N: the leading offset is the panel size.
  // K-major B reads one panel per k-step (its leading offset is unused).
  int64_t panelBytes = physRows * 128;
  uint64_t high = (uint64_t{1} << 62) |
                  (uint64_t{kSwizzleAtomBytes >> 4} << 32) |
                  (uint64_t(kMajor ? 1 : panelBytes >> 4) << 16);
  Type i64 = b.getI64Type();
  auto c64 = [&](uint64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  };
  Value base = arith::IndexCastOp::create(
      b, loc, i64,
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, op.getB()));
  Value start = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, base, c64(4)), c64(0x3fff));
  Value descriptor0 = arith::OrIOp::create(b, loc, start, c64(high));
  auto descriptorAt = [&](int64_t kk) -> Value {
    // K-major: k-step kk is 32 bytes into panel kk / 4 (the swizzle is
    // applied by the hardware on the final address, as for the rows).
    // N-major: it is rows 16·kk.. of every panel.
    int64_t bytes =
        kMajor ? (kk / 4) * panelBytes + (kk % 4) * 32 : kk * 16 * 128;
    return arith::AddIOp::create(b, loc, descriptor0, c64(bytes >> 4));
  };

  // The instruction adds to the accumulator (scale-d = 1, its registers
  // tied to the outputs) or, for the first k-step into a zero-filled one,
  // overwrites it (scale-d = 0, outputs only).
  StringRef type = plan.mmaType.isBF16() ? "bf16" : "f16";
  auto asmFor = [&](bool accumulate) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "wgmma.mma_async.sync.aligned.m64n" << n << "k16.f32." << type << "."
       << type << " {";
    for (int64_t i = 0; i < values; ++i)
      os << (i ? ", " : "") << "$" << i;
    // Operands count the outputs, then the tied accumulator inputs, then A
    // and the descriptor.
    int64_t aFirst = accumulate ? 2 * values : values;
    os << "}, {$" << aFirst << ", $" << aFirst + 1 << ", $" << aFirst + 2
       << ", $" << aFirst + 3 << "}, $" << aFirst + 4 << ", "
       << (accumulate ? 1 : 0) << ", 1, 1, " << (kMajor ? 0 : 1) << ";";
    std::string constraints;
    for (int64_t i = 0; i < values; ++i)
      constraints += "=f,";
    if (accumulate)
      for (int64_t i = 0; i < values; ++i)
        constraints += std::to_string(i) + ",";
    constraints += "r,r,r,r,l";
    return std::make_pair(text, constraints);
  };
  auto [text, constraints] = asmFor(/*accumulate=*/true);
  auto [zeroText, zeroConstraints] = asmFor(/*accumulate=*/false);
  Type f32Type = b.getF32Type();
  auto accStruct = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(values, f32Type));

  // Every A register and accumulator is written before the fence: wgmma may
  // read no register that other instructions write after it (PTX ISA,
  // wgmma.fence).
  SmallVector<SmallVector<std::array<Value, 4>>> aRegs(accShape.slots);
  SmallVector<SmallVector<Value>> results(accShape.slots);
  for (int64_t s = 0; s < accShape.slots; ++s) {
    Value mBase = mul(loc, add(loc, cst(loc, s * warps), warp), cst(loc, 16));
    for (int64_t kk = 0; kk < kSteps; ++kk)
      aRegs[s].push_back(aFragment(loc, op, s, kk, mBase));
    if (!accIsZero)
      for (int64_t i = 0; i < values; ++i)
        results[s].push_back(
            reg(loc, op.getAcc(), accShape.index(s, 0, 0) + i));
  }
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t s = 0; s < accShape.slots; ++s) {
    SmallVector<Value> &acc = results[s];
    for (int64_t kk = 0; kk < kSteps; ++kk) {
      const std::array<Value, 4> &a = aRegs[s][kk];
      bool overwrite = accIsZero && kk == 0;
      SmallVector<Value> operands(acc);
      operands.append(a.begin(), a.end());
      operands.push_back(descriptorAt(kk));
      Value d = LLVM::InlineAsmOp::create(
                    b, loc, accStruct, operands, overwrite ? zeroText : text,
                    overwrite ? zeroConstraints : constraints,
                    /*has_side_effects=*/true, /*is_align_stack=*/false,
                    LLVM::tailcallkind::TailCallKind::None,
                    /*asm_dialect=*/LLVM::AsmDialectAttr(),
                    /*operand_attrs=*/ArrayAttr())
                    .getResult(0);
      acc.resize(values);
      for (int64_t i = 0; i < values; ++i)
        acc[i] = LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i});
    }
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  // With overlapWgmma the first op that touches an operand of this gemm
  // waits (waitForWgmma); otherwise the group is waited for here.
  if (!plan.overlapWgmma)
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  for (int64_t s = 0; s < accShape.slots; ++s)
    for (int64_t i = 0; i < values; ++i)
      setReg(loc, op.getAcc(), accShape.index(s, 0, 0) + i, results[s][i]);
  if (plan.overlapWgmma)
    pendingGroups.push_back(
        {op.getA(), op.getB(), op.getAcc(), accShape.size(), op->getBlock()});
  b.eraseOp(op);
  return success();
}

/// acc[M×N] += A[M×K] · B, one m16n8k16 mma.sync per (m-tile, n-tile, k-step).
/// A comes from a fragment (its accumulator registers are A's registers) or
/// from shared memory; B from shared memory, through ldmatrix when 16-bit.
LogicalResult FragmentLowering::lowerGemm(GemmOp op) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  FragmentShape accShape = shapeOf(op.getAcc());
  MemRefType aType = logicalType(op.getA());
  int64_t kSteps = aType.getDimSize(1) / 16;
  int64_t nTiles = accShape.nTiles;
  bool transposeB = op.getTransposeB();
  NVVM::MMATypes mmaType =
      plan.mmaType.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Type f32Type = b.getF32Type();
  auto accStruct = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, f32Type));
  const HalfTile *bHalf = halfTile(op.getB());
  for (int64_t s = 0; s < accShape.slots; ++s) {
    scf::IfOp slotIf;
    if (llvm::divideCeil(accShape.rows, 16) % warps != 0) {
      slotIf = scf::IfOp::create(b, loc, slotExists(loc, accShape, s), false);
      b.setInsertionPointToStart(slotIf.thenBlock());
    }
    Value mBase = mul(loc, add(loc, cst(loc, s * warps), warp), cst(loc, 16));
    SmallVector<std::array<Value, 4>> acc(nTiles);
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t k = 0; k < 4; ++k)
        acc[nt][k] = reg(loc, op.getAcc(), accShape.index(s, nt, k));

    for (int64_t kk = 0; kk < kSteps; ++kk) {
      std::array<Value, 2> nextB; // the second n-tile of an ldmatrix.x4
      std::array<Value, 4> a = aFragment(loc, op, s, kk, mBase);

      for (int64_t nt = 0; nt < nTiles; ++nt) {
        // B: b0 = B[k = 2t, 2t+1][n = g], b1 = the same at k + 8.
        std::array<Value, 2> bReg;
        // Where the logical B[k][n] sits physically: [n][k] or [k][n].
        bool nMajor = bHalf && (transposeB != bHalf->physicallyTransposed);
        if (bHalf && nt % 2 == 0 && nt + 1 < nTiles) {
          // Two n-tiles per ldmatrix.x4: matrices (nt, k lo), (nt, k hi),
          // (nt+1, k lo), (nt+1, k hi).
          SmallVector<Value> r;
          if (nMajor) {
            Value p = halfPointer(
                loc, op.getB(), add(loc, cst(loc, 8 * nt), add(loc, l8, hi16)),
                add(loc, cst(loc, 16 * kk), hi8));
            r = ldmatrix(loc, p, 4, /*trans=*/false);
          } else {
            Value p = halfPointer(
                loc, op.getB(), add(loc, cst(loc, 16 * kk), add(loc, l8, hi8)),
                add(loc, cst(loc, 8 * nt), hi16));
            r = ldmatrix(loc, p, 4, /*trans=*/true);
          }
          bReg = {r[0], r[1]};
          // The next n-tile's registers, kept for the next iteration.
          nextB = {r[2], r[3]};
        } else if (bHalf && nt % 2 == 1) {
          bReg = nextB;
        } else if (bHalf) {
          // A last, odd n-tile: ldmatrix.x2 (lanes 0-15 give the addresses).
          Value p =
              nMajor
                  ? halfPointer(loc, op.getB(), add(loc, cst(loc, 8 * nt), l8),
                                add(loc, cst(loc, 16 * kk), hi8))
                  : halfPointer(loc, op.getB(),
                                add(loc, cst(loc, 16 * kk), add(loc, l8, hi8)),
                                cst(loc, 8 * nt));
          SmallVector<Value> r = ldmatrix(loc, p, 2, /*trans=*/!nMajor);
          bReg = {r[0], r[1]};
        } else {
          Value n = add(loc, cst(loc, 8 * nt), g);
          for (int64_t r = 0; r < 2; ++r) {
            Value k0 = add(loc, cst(loc, 16 * kk + 8 * r), twoT);
            Value k1 = add(loc, k0, cst(loc, 1));
            auto element = [&](Value k) {
              return transposeB ? sharedElement(loc, op.getB(), n, k)
                                : sharedElement(loc, op.getB(), k, n);
            };
            bReg[r] = pack(loc, element(k0), element(k1));
          }
        }
        // bf16 operands travel as i32, f16 ones as vector<2xf16> (what the
        // NVVM verifier wants of each).
        auto operand = [&](Value r) -> Value {
          if (plan.mmaType.isBF16())
            return r;
          return LLVM::BitcastOp::create(b, loc,
                                         VectorType::get({2}, plan.mmaType), r);
        };
        Value d = NVVM::MmaOp::create(
            b, loc, accStruct,
            ValueRange{operand(a[0]), operand(a[1]), operand(a[2]),
                       operand(a[3])},
            ValueRange{operand(bReg[0]), operand(bReg[1])},
            ValueRange{acc[nt][0], acc[nt][1], acc[nt][2], acc[nt][3]},
            ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
            std::array<NVVM::MMATypes, 2>{mmaType, mmaType},
            std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                           NVVM::MMALayout::col});
        for (int64_t k = 0; k < 4; ++k)
          acc[nt][k] =
              LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{k});
      }
    }
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t k = 0; k < 4; ++k)
        setReg(loc, op.getAcc(), accShape.index(s, nt, k), acc[nt][k]);
    if (slotIf)
      b.setInsertionPointAfter(slotIf);
  }
  b.eraseOp(op);
  return success();
}

void FragmentLowering::completeWgmmaGroups(Location loc, size_t count,
                                           int64_t newer) {
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, newer);
  // Only a partial wait pins: there, a use hoisted above the wait would make
  // ptxas wait for every group (C7517) and undo the overlap. A full wait
  // gains nothing from it (ptxas keeps any hoisted use correct by waiting
  // anyway), and the pins cost registers: three in the NSA-like kernel,
  // which crossed the 168 that three CTAs per SM allow.
  if (newer == 0) {
    pendingGroups.erase(pendingGroups.begin(), pendingGroups.begin() + count);
    return;
  }
  auto f32Type = b.getF32Type();
  for (const WgmmaGroup &group : ArrayRef(pendingGroups).take_front(count))
    for (int64_t i = 0; i < group.accRegisters; ++i) {
      Value v = reg(loc, group.acc, i);
      Value pinned = LLVM::InlineAsmOp::create(
                         b, loc, f32Type, ValueRange{v}, "", "=f,0",
                         /*has_side_effects=*/true, /*is_align_stack=*/false,
                         LLVM::tailcallkind::TailCallKind::None,
                         LLVM::AsmDialectAttr(), ArrayAttr())
                         .getResult(0);
      setReg(loc, group.acc, i, pinned);
    }
  pendingGroups.erase(pendingGroups.begin(), pendingGroups.begin() + count);
}

void FragmentLowering::waitForWgmma(Operation *op) {
  if (pendingGroups.empty())
    return;
  OpBuilder::InsertionGuard guard(b);
  // A group whose block does not hold `op` was left behind: its block's
  // end waits for everything (groups complete in order).
  for (const WgmmaGroup &group : pendingGroups)
    if (!group.block->findAncestorOpInBlock(*op)) {
      b.setInsertionPoint(group.block->getTerminator());
      completeWgmmaGroups(op->getLoc(), pendingGroups.size(), 0);
      return waitForWgmma(op);
    }
  int64_t touched = -1;
  for (auto [i, group] : llvm::enumerate(pendingGroups))
    for (Value v : op->getOperands())
      if (v == group.a || v == group.b || v == group.acc)
        touched = i;
  if (touched < 0)
    return;
  const WgmmaGroup &group = pendingGroups[touched];
  // Before the op, or the op of the group's block that holds it: the wait
  // then serves every path into it (both arms of a mask's scf.if).
  b.setInsertionPoint(group.block->findAncestorOpInBlock(*op));
  int64_t newer = llvm::count_if(
      ArrayRef(pendingGroups).drop_front(touched + 1),
      [&](const WgmmaGroup &g) { return g.block == group.block; });
  completeWgmmaGroups(op->getLoc(), touched + 1, newer);
}

void FragmentLowering::finishWgmmaGroups() {
  if (pendingGroups.empty())
    return;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(pendingGroups.back().block->getTerminator());
  completeWgmmaGroups(b.getUnknownLoc(), pendingGroups.size(), 0);
}

LogicalResult FragmentLowering::lower(Operation *op) {
  // The producer thread runs no wgmma and no barrier.
  if (plan.producerLoads.contains(op))
    return lowerLoad(cast<LoadOp>(op));
  waitForWgmma(op);
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    // The wait comes before the fence's barrier: each thread waits for its
    // own copies, the barrier then shows everyone's.
    b.setInsertionPoint(op);
    waitForCopy(op, gemm.getA());
    waitForCopy(op, gemm.getB());
  }
  // TMA tiles are read only by wgmma (they are swizzled B operands), and
  // each reader waits for the tile's mbarrier itself (waitForCopy), so:
  //  - a consumer's TMA load orders itself through the tile's mbarriers;
  //  - any other TMA load needs only the barrier before it, which tells
  //    thread 0 that every warp is done with the tile's old contents (their
  //    wgmma groups completed) and has seen the last copy's phase;
  //  - a wgmma with A in registers and B filled by TMA shares no memory
  //    that threads write, so it needs no barrier on either side.
  auto load = dyn_cast<LoadOp>(op);
  bool tmaCopy = load && tmaOf(load.getDest());
  auto gemm = dyn_cast<GemmOp>(op);
  bool tmaGemm = gemm && plan.wgmmaGemms.contains(gemm) &&
                 isFragment(gemm.getA()) && tmaOf(gemm.getB());
  if (tmaCopy && !plan.consumerBranch) {
    b.setInsertionPoint(op);
    gpu::BarrierOp::create(b, op->getLoc());
  } else if (touchesShared(op) && !tmaCopy && !tmaGemm) {
    fence(op);
  }
  // Only a wgmma in the fill's block reads a zero-filled fragment as zero;
  // any other op that names the fragment ends that (the gemm's own lowering
  // looks it up before this runs for it).
  bool zeroFill = false;
  if (auto fill = dyn_cast<FillOp>(op))
    zeroFill = isFragment(fill.getDest()) && fill.getValue().isZero();
  auto zeroedAcc = gemm ? zeroFilled.find(gemm.getAcc()) : zeroFilled.end();
  bool startsFromZero =
      zeroedAcc != zeroFilled.end() && zeroedAcc->second == op->getBlock();
  for (Value v : op->getOperands())
    zeroFilled.erase(v);
  if (zeroFill)
    zeroFilled[op->getOperand(0)] = op->getBlock();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<FillOp>([&](auto o) { return lowerFill(o); })
      .Case<LoadOp>([&](auto o) { return lowerLoad(o); })
      .Case<StoreOp>([&](auto o) { return lowerStore(o); })
      .Case<MapOp>([&](auto o) { return lowerMap(o); })
      .Case<ReduceOp>([&](auto o) { return lowerReduce(o); })
      .Case<GemmOp>([&](GemmOp o) {
        return plan.wgmmaGemms.contains(o)
                   ? lowerWarpgroupGemm(o, startsFromZero)
                   : lowerGemm(o);
      })
      .Default([](Operation *o) {
        return o->emitOpError("has no fragment lowering");
      });
}

LogicalResult mlir::skim::lowerFragmentOps(
    gpu::GPUFuncOp func, RewriterBase &rewriter, Value tid, int64_t threads,
    const FragmentPlan &plan, const llvm::DenseMap<Value, Operation *> &tiles,
    function_ref<void(Operation *)> fence) {
  FragmentLowering lowering(rewriter, tid, threads, plan, tiles, fence);
  rewriter.setInsertionPointAfter(tid.getDefiningOp());
  lowering.setUpLane(tid.getLoc());
  SmallVector<Operation *> ops = lowering.opsToLower(func);
  lowering.setUpTma();
  lowering.findCarriedTiles(ops);
  for (Operation *op : ops)
    if (failed(lowering.lower(op)))
      return failure();
  lowering.finishWgmmaGroups();
  func.walk([&](func::ReturnOp op) { lowering.drainTma(op); });
  return success();
}
