//===- TileToGPU.cpp - skim_tile kernels to NVIDIA gpu.func kernels -------===//
//
// The pass, and its SIMT half: correct, not fast. Kernels with 16-bit gemms
// go to the tensor-core half first (FragmentLowering.cpp: mma.sync, and
// wgmma on sm_90a); what it leaves, and f32 kernels, are lowered here. One
// grid block is one CTA of `block-size` threads (128, or the schedule's
// warps). In the SIMT distribution every tile, fragment or shared, lives in
// workgroup memory (views of one dynamic shared-memory buffer), and every
// tile op becomes a loop over the tile's elements strided by threadIdx.x,
// between two gpu.barrier ops:
//   - load/store/fill/map: element-wise, consecutive threads on consecutive
//     columns (coalesced global accesses); a load keeps up to 8 of a
//     thread's elements in flight (forEachOwnedBatched);
//   - gemm: each thread computes output elements (i, j), looping over k;
//   - reduce: each thread owns rows r = tid, tid + 128, ... and loops over
//     the columns.
// Scalar code outside tile ops (index math, the KV-chunk loops, reads of
// selection indices) is uniform and runs redundantly on every thread; a
// statement that writes memory (selection lists, score rows, top-k outputs)
// runs on thread 0 between barriers, and skim-tile's scratch (allocas) lives
// in a global scratch slot the CTA takes from a pool (ScalarCode.cpp,
// ScratchPool.cpp).
//
// math ops never reach libdevice: exp2 and log2 become the
// llvm.nvvm.{ex2,lg2}.approx.f32 intrinsics, exp, log and tanh are built on
// them, and fma, fabs and sqrt become LLVM intrinsics.
//
//===----------------------------------------------------------------------===//

#include "Conversion/Passes.h"
#include "Conversion/TileLowering.h"
#include "FragmentLowering.h"
#include "ScalarCode.h"
#include "ScratchPool.h"
#include "Skim/IR/SkimAttrs.h"
#include "WarpSpecialize.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <limits>
#include <map>

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMLOWERTILETOGPUPASS
#include "Conversion/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

namespace {

/// What the launch plan says of one kernel's arguments: the buffer each
/// passes (-1 for a scalar) and every buffer's rank.
struct PlanArgs {
  SmallVector<int> buffers;
  llvm::DenseMap<int, int> ranks;
};

/// Erases each gpu.barrier that follows another in its block with only
/// memory-effect-free ops between them: every tile op fences itself on both
/// sides, so two neighbouring tile ops leave a barrier pair that orders
/// nothing the first barrier does not (bench/NOTES.md: eight CTA barriers a
/// chunk in the causal kernel, two of them back to back). Upstream's
/// gpu-eliminate-barriers reasons about more, but it runs on func.func, not
/// on a gpu.module's kernels, and would see the TMA and wgmma inline asm as
/// unknown effects; this only drops what is plainly redundant.
void eraseRepeatedBarriers(gpu::GPUFuncOp func, RewriterBase &rewriter) {
  SmallVector<gpu::BarrierOp> repeated;
  func.walk([&](gpu::BarrierOp barrier) {
    for (Operation *op = barrier->getPrevNode(); op; op = op->getPrevNode()) {
      if (isa<gpu::BarrierOp>(op)) {
        repeated.push_back(barrier);
        return;
      }
      if (!isMemoryEffectFree(op))
        return;
    }
  });
  for (gpu::BarrierOp barrier : repeated)
    rewriter.eraseOp(barrier);
}

PlanArgs readPlanArgs(StringRef planText, StringRef kernel) {
  PlanArgs result;
  SmallVector<StringRef> lines;
  planText.split(lines, '\n');
  for (StringRef line : lines) {
    SmallVector<StringRef> tokens;
    line.split(tokens, ' ', -1, /*KeepEmpty=*/false);
    // buffer <i> <kind> <index> <dtype> <rank> <dims>...
    int buffer, rank;
    if (tokens.size() >= 6 && tokens[0] == "buffer" &&
        !tokens[1].getAsInteger(10, buffer) &&
        !tokens[5].getAsInteger(10, rank))
      result.ranks[buffer] = rank;
  }
  FailureOr<SmallVector<std::string>> args =
      planKernelArguments(planText, kernel);
  if (succeeded(args))
    for (StringRef arg : *args) {
      int b = -1;
      if (!arg.consume_front("t") || arg.getAsInteger(10, b))
        b = -1;
      result.buffers.push_back(b);
    }
  return result;
}

/// Elements of a SIMT copy whose loads one thread keeps in flight at once.
constexpr int64_t kLoadBatch = 8;

class GpuLowering : TileLoweringBase {
public:
  GpuLowering(RewriterBase &rewriter, Value tid, int64_t threads)
      : TileLoweringBase(rewriter), tid(tid), threads(threads) {}

  void lowerFill(FillOp op);
  void lowerLoad(LoadOp op);
  void lowerStore(StoreOp op);
  void lowerGemm(GemmOp op);
  void lowerReduce(ReduceOp op);
  void lowerMap(MapOp op);

  /// gpu.barrier before `op` and after it: a tile op reads what earlier
  /// threads wrote (tile ops and uniform scalar code alike) and the next
  /// reader waits for every thread's part.
  void fence(Operation *op) {
    b.setInsertionPoint(op);
    gpu::BarrierOp::create(b, op->getLoc());
    b.setInsertionPointAfter(op);
    gpu::BarrierOp::create(b, op->getLoc());
  }

private:
  /// for (e = tid; e < n; e += threads) body(e), built at the insertion point.
  void forEachOwned(Location loc, int64_t n, function_ref<void(Value)> body) {
    auto forOp =
        scf::ForOp::create(b, loc, tid, cst(loc, n), cst(loc, threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    body(forOp.getInductionVar());
  }
  /// forEachOwned for a copy: each thread computes the values of up to
  /// kLoadBatch of its elements (e, e + threads, ...) before storing any, so
  /// that their global loads are in flight together; one load per
  /// iteration would wait out a memory latency per element (the merge
  /// kernel measured 37 us for 16 elements a thread, bench/NOTES.md).
  void forEachOwnedBatched(Location loc, int64_t n,
                           function_ref<Value(Value)> value,
                           function_ref<void(Value, Value)> store) {
    int64_t batch =
        std::clamp<int64_t>(llvm::divideCeil(n, threads), 1, kLoadBatch);
    auto forOp =
        scf::ForOp::create(b, loc, tid, cst(loc, n), cst(loc, threads * batch));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    Value first = forOp.getInductionVar();
    SmallVector<Value> elements, owned, values;
    for (int64_t k = 0; k < batch; ++k) {
      Value e = add(loc, first, cst(loc, k * threads));
      Value mine = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, e,
                                         cst(loc, n));
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{b.getF32Type()}, mine,
                                    /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(b, loc, value(e));
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, loc,
                             ValueRange{arith::ConstantOp::create(
                                 b, loc, b.getF32FloatAttr(0.0f))});
      }
      elements.push_back(e);
      owned.push_back(mine);
      values.push_back(ifOp.getResult(0));
    }
    for (int64_t k = 0; k < batch; ++k) {
      auto ifOp = scf::IfOp::create(b, loc, owned[k], /*withElseRegion=*/false);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      store(elements[k], values[k]);
    }
  }
  /// Splits element e of a rows × cols tile into (e / cols, e % cols).
  std::pair<Value, Value> split(Location loc, Value e, int64_t cols) {
    Value c = cst(loc, cols);
    return {arith::DivUIOp::create(b, loc, e, c),
            arith::RemUIOp::create(b, loc, e, c)};
  }

  Value tid;
  int64_t threads;
};

void GpuLowering::lowerFill(FillOp op) {
  Location loc = op.getLoc();
  auto type = cast<MemRefType>(op.getDest().getType());
  b.setInsertionPoint(op);
  Value v = f32(loc, op.getValue().convertToDouble());
  if (type.getRank() == 1) {
    forEachOwned(loc, type.getDimSize(0), [&](Value e) {
      memref::StoreOp::create(b, loc, v, op.getDest(), ValueRange{e});
    });
  } else {
    int64_t cols = type.getDimSize(1);
    forEachOwned(loc, type.getNumElements(), [&](Value e) {
      auto [r, c] = split(loc, e, cols);
      memref::StoreOp::create(b, loc, v, op.getDest(), ValueRange{r, c});
    });
  }
  b.eraseOp(op);
}

void GpuLowering::lowerLoad(LoadOp op) {
  Location loc = op.getLoc();
  auto tileType = cast<MemRefType>(op.getDest().getType());
  bool transpose = op.getTranspose();
  // Global rows and the elements of each, whichever way they land.
  int64_t rows = tileType.getDimSize(transpose ? 1 : 0);
  int64_t cols = tileType.getDimSize(transpose ? 0 : 1);
  b.setInsertionPoint(op);
  // Element e of the tile: its global row and column.
  auto place = [&](Value e) {
    auto [r, c] = split(loc, e, cols);
    return transpose ? SmallVector<Value>{c, r} : SmallVector<Value>{r, c};
  };
  forEachOwnedBatched(
      loc, rows * cols,
      [&](Value e) {
        auto [r, c] = split(loc, e, cols);
        Value base, inBounds;
        std::tie(base, inBounds) = globalRow(op, r);
        return loadOrPad(op, inBounds, add(loc, base, c), b.getF32Type());
      },
      [&](Value e, Value v) {
        memref::StoreOp::create(b, loc, v, op.getDest(), place(e));
      });
  b.eraseOp(op);
}

void GpuLowering::lowerStore(StoreOp op) {
  Location loc = op.getLoc();
  auto tileType = cast<MemRefType>(op.getSource().getType());
  int64_t rows = tileType.getDimSize(0), cols = tileType.getDimSize(1);
  b.setInsertionPoint(op);
  forEachOwned(loc, rows * cols, [&](Value e) {
    auto [r, c] = split(loc, e, cols);
    Value base, inBounds;
    std::tie(base, inBounds) = globalRow(op, r);
    Value at[] = {r, c};
    storeIfInBounds(op, inBounds, add(loc, base, c), [&]() -> Value {
      return memref::LoadOp::create(b, loc, op.getSource(), at);
    });
  });
  b.eraseOp(op);
}

void GpuLowering::lowerGemm(GemmOp op) {
  Location loc = op.getLoc();
  ArrayRef<int64_t> aShape = cast<MemRefType>(op.getA().getType()).getShape();
  ArrayRef<int64_t> cShape = cast<MemRefType>(op.getAcc().getType()).getShape();
  int64_t m = aShape[0], k = aShape[1], n = cShape[1];
  bool transposeB = op.getTransposeB();
  b.setInsertionPoint(op);
  // SIMT: thread tid computes acc[i, j] for e = i * n + j ≡ tid (mod
  // threads), one dot product each (f32 gemms; 16-bit ones take mma.sync or
  // wgmma in FragmentLowering.cpp).
  forEachOwned(loc, m * n, [&](Value e) {
    auto [i, j] = split(loc, e, n);
    Value old = memref::LoadOp::create(b, loc, op.getAcc(), ValueRange{i, j});
    auto kLoop = scf::ForOp::create(b, loc, cst(loc, 0), cst(loc, k),
                                    cst(loc, 1), ValueRange{old});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kLoop.getBody());
      Value kk = kLoop.getInductionVar();
      Value av = memref::LoadOp::create(b, loc, op.getA(), ValueRange{i, kk});
      Value bv = memref::LoadOp::create(b, loc, op.getB(),
                                        transposeB ? ValueRange{j, kk}
                                                   : ValueRange{kk, j});
      Value sum =
          LLVM::FMAOp::create(b, loc, av, bv, kLoop.getRegionIterArgs()[0]);
      scf::YieldOp::create(b, loc, sum);
    }
    memref::StoreOp::create(b, loc, kLoop.getResult(0), op.getAcc(),
                            ValueRange{i, j});
  });
  b.eraseOp(op);
}

void GpuLowering::lowerReduce(ReduceOp op) {
  Location loc = op.getLoc();
  ArrayRef<int64_t> shape =
      cast<MemRefType>(op.getSource().getType()).getShape();
  bool isMax = op.getKind() == ReduceKind::max;
  double identity = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
  b.setInsertionPoint(op);
  auto combine = [&](Value x, Value y) -> Value {
    return isMax ? arith::MaximumFOp::create(b, loc, x, y).getResult()
                 : arith::AddFOp::create(b, loc, x, y).getResult();
  };
  // Thread tid owns rows tid, tid + threads, ...: in-thread loops only, no
  // shuffles (the mma layouts bring xor shuffles later).
  forEachOwned(loc, shape[0], [&](Value i) {
    auto nLoop =
        scf::ForOp::create(b, loc, cst(loc, 0), cst(loc, shape[1]), cst(loc, 1),
                           ValueRange{f32(loc, identity)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(nLoop.getBody());
      Value v = memref::LoadOp::create(b, loc, op.getSource(),
                                       ValueRange{i, nLoop.getInductionVar()});
      scf::YieldOp::create(b, loc, combine(nLoop.getRegionIterArgs()[0], v));
    }
    Value old = memref::LoadOp::create(b, loc, op.getDest(), ValueRange{i});
    memref::StoreOp::create(b, loc, combine(old, nLoop.getResult(0)),
                            op.getDest(), ValueRange{i});
  });
  b.eraseOp(op);
}

void GpuLowering::lowerMap(MapOp op) {
  Location loc = op.getLoc();
  auto destType = cast<MemRefType>(op.getDest().getType());
  bool rank2 = destType.getRank() == 2;
  int64_t cols = destType.getDimSize(rank2 ? 1 : 0);
  Block &body = op.getBody().front();
  b.setInsertionPoint(op);
  forEachOwned(loc, destType.getNumElements(), [&](Value e) {
    Value i, j;
    if (rank2)
      std::tie(i, j) = split(loc, e, cols);
    else
      j = e;
    SmallVector<Value> at =
        rank2 ? SmallVector<Value>{i, j} : SmallVector<Value>{j};
    IRMapping mapping;
    unsigned arg = 0;
    if (rank2)
      mapping.map(body.getArgument(arg++), i);
    mapping.map(body.getArgument(arg++), j);
    for (auto [input, kind] :
         llvm::zip(op.getInputs(), op.getIndexing().getAsRange<StringAttr>())) {
      Value v;
      if (kind.getValue() == "i" && rank2) {
        // A row vector, or an Mx1 tile read at column 0.
        SmallVector<Value> index{i};
        if (cast<MemRefType>(input.getType()).getRank() == 2)
          index.push_back(cst(loc, 0));
        v = memref::LoadOp::create(b, loc, input, index);
      } else if (kind.getValue() == "ij") {
        v = memref::LoadOp::create(b, loc, input, at);
      } else { // "j", or "i" on a rank-1 map: read along the vector.
        v = memref::LoadOp::create(b, loc, input, ValueRange{j});
      }
      mapping.map(body.getArgument(arg++), v);
    }
    mapping.map(body.getArgument(arg++),
                memref::LoadOp::create(b, loc, op.getDest(), at));
    // The body is scalar already: clone it once per element. Values from
    // outside it are uniform scalars and are used as they are.
    for (Operation &inner : body.without_terminator())
      b.clone(inner, mapping);
    Value result =
        mapping.lookup(cast<YieldOp>(body.getTerminator()).getValue());
    memref::StoreOp::create(b, loc, result, op.getDest(), at);
  });
  b.eraseOp(op);
}

/// math ops without libdevice (or AMD's ocml): the vendor's exp2 and log2
/// approximations and LLVM intrinsics.
LogicalResult lowerMath(gpu::GPUFuncOp func, RewriterBase &b, bool amd) {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "math")
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    Location loc = op->getLoc();
    b.setInsertionPoint(op);
    Type type = op->getResult(0).getType();
    if (!type.isF32())
      return op->emitOpError(
                 "only f32 math lowers without a device math library, got ")
             << type;
    auto intrinsic = [&](StringRef name, Value x) -> Value {
      return LLVM::CallIntrinsicOp::create(b, loc, type, b.getStringAttr(name),
                                           ValueRange{x})
          .getResult(0);
    };
    auto c = [&](double v) -> Value {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
    };
    // v_exp_f32 / v_log_f32 on AMD, ex2.approx / lg2.approx on NVIDIA.
    auto ex2 = [&](Value x) {
      return intrinsic(
          amd ? "llvm.amdgcn.exp2.f32" : "llvm.nvvm.ex2.approx.f32", x);
    };
    auto lg2 = [&](Value x) {
      return intrinsic(amd ? "llvm.amdgcn.log.f32" : "llvm.nvvm.lg2.approx.f",
                       x);
    };
    const double log2e = 1.4426950408889634, ln2 = 0.6931471805599453;
    Value result =
        llvm::TypeSwitch<Operation *, Value>(op)
            .Case<math::Exp2Op>([&](auto o) { return ex2(o.getOperand()); })
            .Case<math::ExpOp>([&](auto o) {
              return ex2(
                  arith::MulFOp::create(b, loc, o.getOperand(), c(log2e)));
            })
            .Case<math::Log2Op>([&](auto o) { return lg2(o.getOperand()); })
            .Case<math::LogOp>([&](auto o) {
              return arith::MulFOp::create(b, loc, lg2(o.getOperand()), c(ln2))
                  .getResult();
            })
            .Case<math::TanhOp>([&](auto o) {
              // tanh x = 1 − 2 / (2^(2x·log2 e) + 1): ±1 at the extremes, where
              // the power is inf or 0.
              Value y = ex2(
                  arith::MulFOp::create(b, loc, o.getOperand(), c(2 * log2e)));
              Value q = arith::DivFOp::create(
                  b, loc, c(2.0), arith::AddFOp::create(b, loc, y, c(1.0)));
              return arith::SubFOp::create(b, loc, c(1.0), q).getResult();
            })
            .Case<math::FmaOp>([&](auto o) {
              return LLVM::FMAOp::create(b, loc, o.getA(), o.getB(), o.getC())
                  .getResult();
            })
            .Case<math::AbsFOp>([&](auto o) {
              return LLVM::FAbsOp::create(b, loc, o.getOperand()).getResult();
            })
            .Case<math::SqrtOp>([&](auto o) {
              return LLVM::SqrtOp::create(b, loc, o.getOperand()).getResult();
            })
            .Default([](Operation *) { return Value(); });
    if (!result)
      return op->emitOpError("has no NVVM lowering without libdevice yet");
    b.replaceOp(op, result);
  }
  return success();
}

struct SkimLowerTileToGpuPass
    : skim::impl::SkimLowerTileToGpuPassBase<SkimLowerTileToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);
    SmallVector<func::FuncOp> kernels;
    for (auto kernel : module.getOps<func::FuncOp>())
      if (kernel->hasAttr("skim_tile.kernel"))
        kernels.push_back(kernel);
    if (kernels.empty())
      return;
    if (vendor != "nvidia" && vendor != "amd") {
      module.emitError()
          << "skim-lower-tile-to-gpu: vendor is nvidia or amd, got '"
          << vendor.getValue() << "'";
      return signalPassFailure();
    }
    if (vendor == "amd" && (wgmma || tma || warpSpecialize)) {
      module.emitError("skim-lower-tile-to-gpu: wgmma, tma and warp-specialize "
                       "are NVIDIA's (sm_90a); vendor=amd takes none of them");
      return signalPassFailure();
    }
    if (vendor == "amd") {
      std::optional<AmdMatrixCore::Kind> kind =
          llvm::StringSwitch<std::optional<AmdMatrixCore::Kind>>(amdMatrix)
              .Case("mfma_16x16x16", AmdMatrixCore::Kind::Mfma16x16x16)
              .Case("mfma_32x32x8", AmdMatrixCore::Kind::Mfma32x32x8)
              .Case("wmma_16x16x16", AmdMatrixCore::Kind::Wmma16x16x16)
              .Case("simt", std::nullopt)
              .Default(std::nullopt);
      if (!kind && amdMatrix != "simt") {
        module.emitError() << "skim-lower-tile-to-gpu: amd-matrix is "
                              "mfma_16x16x16, mfma_32x32x8, wmma_16x16x16 or "
                              "simt, got '"
                           << amdMatrix.getValue() << "'";
        return signalPassFailure();
      }
      if (waveSize != 32 && waveSize != 64) {
        module.emitError() << "skim-lower-tile-to-gpu: wave-size is 32 or 64, "
                              "got "
                           << waveSize.getValue();
        return signalPassFailure();
      }
      if (kind) {
        matrixCore = AmdMatrixCore{*kind, waveSize};
        if (matrixCore->waveSize() != waveSize) {
          module.emitError()
              << "skim-lower-tile-to-gpu: " << amdMatrix.getValue()
              << " runs on waves of " << matrixCore->waveSize()
              << " lanes, not wave-size=" << waveSize.getValue();
          return signalPassFailure();
        }
      }
      module->setAttr("skim.gpu_wave_size",
                      IntegerAttr::get(IntegerType::get(ctx, 64), waveSize));
    }
    // The schedule's warps (skim-tile records the largest): exactly on
    // NVIDIA, where one warp suits a 16-row mma.sync tile (each CTA's warp
    // lands on its own SM sub-partition, where one warp of four would leave
    // three idle); AMD keeps the option's as a floor (256, four wave64
    // waves).
    threads = blockSize;
    if (auto warps = module->getAttrOfType<IntegerAttr>("skim.gpu_warps"))
      threads = vendor == "amd"
                    ? std::max<int64_t>(threads, warps.getInt() * 32)
                    : warps.getInt() * 32;
    if (threads < 32 || threads > 1024 || threads % 32 != 0) {
      module.emitError() << "a CTA of " << threads
                         << " threads: schedules may ask for 1 to 32 warps";
      return signalPassFailure();
    }

    rewriter.setInsertionPointToEnd(module.getBody());
    auto gpuModule =
        gpu::GPUModuleOp::create(rewriter, module.getLoc(), "skim_kernels");
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    rewriter.getUnitAttr());
    SmallVector<NamedAttribute> sharedBytes;

    for (func::FuncOp kernel : kernels) {
      FailureOr<int64_t> bytes = lowerKernel(kernel, gpuModule, rewriter);
      if (failed(bytes))
        return signalPassFailure();
      sharedBytes.push_back(rewriter.getNamedAttr(
          kernel.getSymName(), rewriter.getI64IntegerAttr(*bytes)));
    }
    for (func::FuncOp kernel : kernels)
      kernel.erase();
    // What the plan's `smem` and `block` fields say; the gpu.module is gone
    // once it is serialised.
    module->setAttr("skim.gpu_shared_bytes",
                    rewriter.getDictionaryAttr(sharedBytes));
    module->setAttr("skim.gpu_block", rewriter.getI64IntegerAttr(threads));
    if (!tensorMaps.empty())
      module->setAttr("skim.gpu_tensor_maps",
                      rewriter.getDictionaryAttr(tensorMaps));
    if (!blockSizes.empty())
      module->setAttr("skim.gpu_blocks",
                      rewriter.getDictionaryAttr(blockSizes));
    if (!scratchWords.empty()) {
      module->setAttr("skim.gpu_scratch",
                      rewriter.getDictionaryAttr(scratchWords));
      module->setAttr("skim.gpu_scratch_slots",
                      rewriter.getI64IntegerAttr(scratchSlots));
    }
  }

  FailureOr<int64_t> lowerKernel(func::FuncOp kernel,
                                 gpu::GPUModuleOp gpuModule,
                                 IRRewriter &rewriter) {
    MLIRContext *ctx = &getContext();
    // Scalar code that writes memory runs on thread 0, and the kernel's
    // scratch (its allocas) takes a global scratch slot (ScalarCode.cpp),
    // which adds arguments the plan learns of here.
    auto planText =
        kernel->getParentOfType<ModuleOp>()->getAttrOfType<StringAttr>(
            "skim.plan");
    FailureOr<ScalarScratch> scalar =
        prepareScalarCode(kernel, planText ? planText.getValue() : "");
    if (failed(scalar))
      return failure();
    if (!scalar->wordsPerSlot.empty())
      scratchWords.push_back(rewriter.getNamedAttr(
          kernel.getSymName(), rewriter.getStringAttr(scalar->wordsPerSlot)));
    for (Type t : kernel.getArgumentTypes()) {
      auto m = dyn_cast<MemRefType>(t);
      if (!m ? !t.isIndex()
             : (m.getRank() != 1 || !m.getLayout().isIdentity())) {
        kernel.emitError() << "kernel '" << kernel.getSymName()
                           << "': unexpected argument type " << t;
        return failure();
      }
    }

    // The gpu.func takes one pointer per tensor (the runtime's bare device
    // address) and one i64 per index scalar.
    Location loc = kernel.getLoc();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    SmallVector<Type> argTypes;
    for (Type t : kernel.getArgumentTypes())
      argTypes.push_back(isa<MemRefType>(t) ? Type(ptrType) : t);
    rewriter.setInsertionPointToEnd(gpuModule.getBody());
    auto func = gpu::GPUFuncOp::create(rewriter, loc, kernel.getSymName(),
                                       FunctionType::get(ctx, argTypes, {}));
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                  rewriter.getUnitAttr());
    func.setKnownBlockSizeAttr(
        rewriter.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
    func.getBody().takeBody(kernel.getBody());
    Block &entry = func.getBody().front();
    Operation *bodyStart = &entry.front();
    rewriter.setInsertionPointToStart(&entry);
    Value tid = gpu::ThreadIdOp::create(rewriter, loc, gpu::Dimension::x);

    // The argument each box load reads, before arguments become pointers.
    llvm::DenseMap<Operation *, unsigned> boxSources;
    func.walk([&](LoadOp op) {
      if (auto arg = dyn_cast<BlockArgument>(op.getSource());
          arg && !op.getCoords().empty())
        boxSources[op] = arg.getArgNumber();
    });

    // Globals: rebuild memref<?xT> descriptors from the pointers; the casts
    // fold away against the NVVM lowering of the memref.
    auto i64 = rewriter.getI64Type();
    for (BlockArgument arg : entry.getArguments()) {
      auto memrefType = dyn_cast<MemRefType>(arg.getType());
      if (!memrefType)
        continue;
      auto descType = LLVM::LLVMStructType::getLiteral(
          ctx, {ptrType, ptrType, i64, LLVM::LLVMArrayType::get(i64, 1),
                LLVM::LLVMArrayType::get(i64, 1)});
      arg.setType(ptrType);
      auto c64 = [&](int64_t v) {
        return LLVM::ConstantOp::create(rewriter, loc, i64,
                                        rewriter.getI64IntegerAttr(v));
      };
      Value d = LLVM::PoisonOp::create(rewriter, loc, descType);
      auto first = LLVM::InsertValueOp::create(rewriter, loc, d, arg,
                                               ArrayRef<int64_t>{0});
      auto second = LLVM::InsertValueOp::create(rewriter, loc, first, arg,
                                                ArrayRef<int64_t>{1});
      d = LLVM::InsertValueOp::create(rewriter, loc, second, c64(0),
                                      ArrayRef<int64_t>{2});
      // The size is unknown and unused (no bounds checks): the largest i32.
      d = LLVM::InsertValueOp::create(rewriter, loc, d,
                                      c64(std::numeric_limits<int32_t>::max()),
                                      ArrayRef<int64_t>{3, 0});
      d = LLVM::InsertValueOp::create(rewriter, loc, d, c64(1),
                                      ArrayRef<int64_t>{4, 0});
      Value m = UnrealizedConversionCastOp::create(rewriter, loc, memrefType, d)
                    .getResult(0);
      arg.replaceUsesWithIf(m, [&](OpOperand &use) {
        return use.getOwner() != first && use.getOwner() != second;
      });
    }

    // Where each tile lives: mma.sync registers when the kernel fits the
    // fragment distribution, shared memory otherwise.
    FragmentPlan plan;
    std::string simtReason;
    plan.amd = matrixCore;
    // A schedule's #skim.amd picks this kernel's matrix instruction and
    // occupancy target.
    if (auto amd = kernel->getAttrOfType<AmdScheduleAttr>("skim.amd");
        amd && vendor == "amd") {
      if (amd.getWaveSize() != waveSize) {
        kernel.emitError() << "kernel '" << kernel.getSymName()
                           << "': the schedule asks for waves of "
                           << amd.getWaveSize() << " lanes (" << amd
                           << ") but the target's are " << waveSize.getValue();
        return failure();
      }
      if (matrixCore && matrixCore->isWmma() && amd.getMmaM() != 16) {
        kernel.emitError() << "kernel '" << kernel.getSymName()
                           << "': the schedule asks for " << amd.getMmaM()
                           << "x" << amd.getMmaN()
                           << " matrix blocks, but WMMA's are 16x16";
        return failure();
      }
      if (matrixCore)
        plan.amd = AmdMatrixCore{
            matrixCore->isWmma()  ? AmdMatrixCore::Kind::Wmma16x16x16
            : amd.getMmaM() == 32 ? AmdMatrixCore::Kind::Mfma32x32x8
                                  : AmdMatrixCore::Kind::Mfma16x16x16,
            waveSize};
      func->setAttr("rocdl.waves_per_eu",
                    rewriter.getI32IntegerAttr(
                        static_cast<int32_t>(amd.getWavesPerEu())));
    }
    if (plan.amd && plan.amd->kind == AmdMatrixCore::Kind::Mfma32x32x8 &&
        waveSize == 32) {
      kernel.emitError() << "kernel '" << kernel.getSymName()
                         << "': MFMA 32x32x8 needs waves of 64 lanes";
      return failure();
    }
    bool useFragments =
        vendor == "amd" && !matrixCore
            ? (simtReason = "amd-matrix=simt", false)
            : planFragments(func, threads, wgmma, tma, plan, simtReason);
    // MFMA 32x32x8 wants N and the rows in 32s; smaller tiles take 16x16x16.
    if (!useFragments && plan.amd &&
        plan.amd->kind == AmdMatrixCore::Kind::Mfma32x32x8) {
      plan = FragmentPlan();
      plan.amd = AmdMatrixCore{AmdMatrixCore::Kind::Mfma16x16x16, waveSize};
      std::string why;
      useFragments = planFragments(func, threads, wgmma, tma, plan, why);
      if (!useFragments)
        simtReason += "; with mfma_16x16x16: " + why;
    }
    plan.overlapWgmma = overlapWgmma || kernel->hasAttr("skim.overlap_wgmma");
    if (useFragments && !plan.tmaTiles.empty())
      addTensorMaps(func, plan, boxSources,
                    readPlanArgs(planText ? planText.getValue() : "",
                                 kernel.getSymName()),
                    rewriter);
    std::string distribution = plan.amd ? plan.amd->intrinsic(
                                              plan.mmaType && plan.mmaType.isBF16())
                               : plan.wgmmaGemms.empty() ? "mma.sync"
                                                         : "wgmma";
    func->setAttr("skim.distribution",
                  rewriter.getStringAttr(useFragments ? distribution
                                                      : "simt: " + simtReason));
    // A producer warpgroup for the TMA copies: where the schedule asks for
    // it (`skim.sm90`, an error if it cannot be had), or for every kernel
    // that allows it with `warp-specialize`. Other targets ignore it.
    auto sm90 = kernel->getAttrOfType<Sm90ScheduleAttr>("skim.sm90");
    std::optional<RegisterSplit> split;
    if (wgmma && (warpSpecialize || sm90)) {
      std::string why;
      if (!sm90)
        split = defaultRegisterSplit(threads);
      else if (sm90.getCluster() != 1)
        why = "thread-block clusters (cluster = " +
              std::to_string(sm90.getCluster()) + ") are not implemented yet";
      else if (sm90.getConsumerWarpgroups() * kWarpgroupThreads != threads)
        why = "the module's CTAs have " + std::to_string(threads / 32) +
              " warps (the largest schedule's `warps`), not its " +
              std::to_string(sm90.getConsumerWarpgroups()) +
              " consumer warpgroups' " +
              std::to_string(sm90.getConsumerWarpgroups() * 4);
      else
        split = registerSplit(threads, sm90.getProducerRegs(),
                              sm90.getConsumerRegs(), why);
      if (why.empty() && !tma)
        why = "it needs TMA copies (--tma=false keeps cp.async)";
      else if (why.empty() && !useFragments)
        why = "the kernel is SIMT (" + simtReason + ")";
      else if (why.empty() && plan.tmaTiles.empty())
        why = "no tile of the kernel is filled by TMA";
      if (why.empty())
        splitProducer(func, bodyStart, tid, threads, plan, why);
      if (!why.empty()) {
        split.reset();
        if (sm90) {
          kernel.emitError()
              << "kernel '" << kernel.getSymName()
              << "': the schedule asks for a producer warpgroup (" << sm90
              << ") but " << why;
          return failure();
        }
        func->setAttr("skim.warp_specialized",
                      rewriter.getStringAttr("no: " + why));
      } else {
        int64_t block = threads + kWarpgroupThreads;
        func.setKnownBlockSizeAttr(
            rewriter.getDenseI32ArrayAttr({static_cast<int32_t>(block), 1, 1}));
        // The launch bound setmaxnreg redistributes: ptxas must not take
        // fewer registers, or the consumers' increase would never be met.
        func->setAttr("nvvm.maxnreg", rewriter.getI32IntegerAttr(
                                          static_cast<int32_t>(split->launch)));
        blockSizes.push_back(rewriter.getNamedAttr(
            kernel.getSymName(), rewriter.getI64IntegerAttr(block)));
        func->setAttr("skim.warp_specialized", rewriter.getStringAttr("yes"));
      }
    }
    FailureOr<int64_t> sharedBytes =
        placeTiles(func, rewriter, tid, useFragments ? &plan : nullptr);
    if (succeeded(sharedBytes))
      sharedBytes =
          placeSharedScratch(func, scalar->shared, *sharedBytes, rewriter);

    // Tile ops: the fragment ones first, then the rest as SIMT loops.
    GpuLowering lowering(rewriter, tid, threads);
    auto fence = [&](Operation *op) { lowering.fence(op); };
    if (useFragments &&
        failed(plan.amd ? lowerMatrixCoreOps(func, rewriter, tid, threads, plan,
                                             tileOwners, fence)
                        : lowerFragmentOps(func, rewriter, tid, threads, plan,
                                           tileOwners, fence)))
      return failure();
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<FillOp, LoadOp, StoreOp, GemmOp, ReduceOp, MapOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      lowering.fence(op);
      llvm::TypeSwitch<Operation *>(op)
          .Case<FillOp>([&](auto o) { lowering.lowerFill(o); })
          .Case<LoadOp>([&](auto o) { lowering.lowerLoad(o); })
          .Case<StoreOp>([&](auto o) { lowering.lowerStore(o); })
          .Case<GemmOp>([&](auto o) { lowering.lowerGemm(o); })
          .Case<ReduceOp>([&](auto o) { lowering.lowerReduce(o); })
          .Case<MapOp>([&](auto o) { lowering.lowerMap(o); });
    }
    for (Operation *alloc : tileOwners.values())
      rewriter.eraseOp(alloc);
    tileOwners.clear();
    eraseRepeatedBarriers(func, rewriter);
    if (plan.consumerBranch)
      finishWarpRoles(func, plan, threads, *split, rewriter);

    // Block ids and the return.
    func.walk([&](BlockIdOp op) {
      rewriter.setInsertionPoint(op);
      auto dim = op.getDim() == 0   ? gpu::Dimension::x
                 : op.getDim() == 1 ? gpu::Dimension::y
                                    : gpu::Dimension::z;
      rewriter.replaceOp(op,
                         gpu::BlockIdOp::create(rewriter, op.getLoc(), dim));
    });
    func.walk([&](func::ReturnOp op) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<gpu::ReturnOp>(op);
    });
    if (failed(lowerMath(func, rewriter, vendor == "amd")))
      return failure();
    return sharedBytes;
  }

  /// Gives each TMA load of `plan` its CUtensorMap: one pointer argument
  /// per (buffer, box), appended to the kernel and named in the plan as
  /// `m<buffer>:<box>:128` (recorded in `tensorMaps` for the pipeline). A
  /// tile whose loads the plan cannot name (a source that is not a plan
  /// buffer of the coordinates' rank) keeps cp.async.
  void addTensorMaps(gpu::GPUFuncOp func, FragmentPlan &plan,
                     const llvm::DenseMap<Operation *, unsigned> &boxSources,
                     const PlanArgs &planArgs, RewriterBase &rewriter) {
    auto bufferOf = [&](LoadOp load) -> int {
      auto it = boxSources.find(load);
      if (it == boxSources.end() || it->second >= planArgs.buffers.size())
        return -1;
      int buffer = planArgs.buffers[it->second];
      auto rank = planArgs.ranks.find(buffer);
      if (rank == planArgs.ranks.end() ||
          rank->second != int(load.getCoords().size()))
        return -1;
      return buffer;
    };
    SmallVector<Operation *> unnamed;
    for (auto &entry : plan.tmaTiles)
      for (Operation *user : entry.first->getUsers())
        if (auto load = dyn_cast<LoadOp>(user); load && bufferOf(load) < 0)
          unnamed.push_back(entry.first);
    for (Operation *alloc : unnamed)
      plan.tmaTiles.erase(alloc);

    auto ptrType = LLVM::LLVMPointerType::get(&getContext());
    std::map<std::string, Value> maps;
    SmallVector<int64_t> argNumbers;
    std::string tokens;
    for (auto &entry : plan.tmaTiles) {
      auto tileType = cast<MemRefType>(entry.first->getResult(0).getType());
      const HalfTile &half = plan.halfTiles.lookup(entry.first);
      for (Operation *user : entry.first->getUsers()) {
        auto load = dyn_cast<LoadOp>(user);
        if (!load)
          continue;
        std::string token = "m" + std::to_string(bufferOf(load)) + ":";
        SmallVector<int64_t> box = tmaBox(load, tileType, half);
        for (size_t i = 0; i < box.size(); ++i)
          token += (i ? "x" : "") + std::to_string(box[i]);
        token += ":128";
        Value &map = maps[token];
        if (!map) {
          unsigned n = func.getNumArguments();
          if (failed(func.insertArgument(n, ptrType, DictionaryAttr(),
                                         func.getLoc())))
            return;
          map = func.getArgument(n);
          argNumbers.push_back(n);
          tokens += (tokens.empty() ? "" : " ") + token;
        }
        plan.tensorMaps[load] = map;
      }
    }
    if (argNumbers.empty())
      return;
    func->setAttr("skim.tensor_map_args",
                  rewriter.getDenseI64ArrayAttr(argNumbers));
    tensorMaps.push_back(
        rewriter.getNamedAttr(func.getName(), rewriter.getStringAttr(tokens)));
  }

  /// Replaces every skim_tile.alloc by its storage: a private register array
  /// for fragment tiles of `plan`, else a view of the dynamic shared-memory
  /// buffer (16-byte aligned; 16-bit with padded rows for the plan's half
  /// tiles). The allocs stay, unused, in `tileOwners` until the tile ops are
  /// lowered. Returns the shared-memory bytes.
  FailureOr<int64_t> placeTiles(gpu::GPUFuncOp func, RewriterBase &rewriter,
                                Value tid, FragmentPlan *plan) {
    MLIRContext *ctx = &getContext();
    auto workgroup =
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    Location loc = func.getLoc();
    rewriter.setInsertionPointAfter(tid.getDefiningOp());
    Value smem = gpu::DynamicSharedMemoryOp::create(
        rewriter, loc,
        MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type(),
                        MemRefLayoutAttrInterface(), workgroup));
    int64_t offset = 0;
    SmallVector<AllocOp> allocs;
    func.walk([&](AllocOp op) { allocs.push_back(op); });
    for (AllocOp op : allocs) {
      auto type = cast<MemRefType>(op.getType());
      Value storage;
      if (plan && plan->fragments.contains(op)) {
        int64_t registers = planRegisters(type, threads, *plan);
        storage = memref::AllocaOp::create(
            rewriter, op.getLoc(),
            MemRefType::get({registers}, rewriter.getF32Type()));
      } else {
        const HalfTile *halfTile = nullptr;
        if (plan)
          if (auto it = plan->halfTiles.find(op); it != plan->halfTiles.end())
            halfTile = &it->second;
        bool isHalf = halfTile != nullptr;
        Value shift =
            arith::ConstantIndexOp::create(rewriter, op.getLoc(), offset);
        int64_t bytes;
        if (isHalf) {
          // A flat 16-bit buffer: padded rows seen through a strided view, or
          // swizzled panels that only address arithmetic can see.
          int64_t elements = halfTileElements(type, *halfTile);
          if (halfTile->swizzled) {
            offset = llvm::alignTo(offset, kSwizzleAtomBytes);
            shift =
                arith::ConstantIndexOp::create(rewriter, op.getLoc(), offset);
          }
          auto flatType =
              MemRefType::get({elements}, halfTile->elementType,
                              MemRefLayoutAttrInterface(), workgroup);
          Value flat = memref::ViewOp::create(rewriter, op.getLoc(), flatType,
                                              smem, shift, ValueRange{});
          storage = flat;
          if (!halfTile->swizzled) {
            MemRefType viewType = halfTileViewType(type, *halfTile, workgroup);
            storage = memref::ReinterpretCastOp::create(
                rewriter, op.getLoc(), viewType, flat, 0, type.getShape(),
                viewType.getStridesAndOffset().first);
          }
          bytes = elements * 2;
        } else {
          auto viewType =
              MemRefType::get(type.getShape(), type.getElementType(),
                              MemRefLayoutAttrInterface(), workgroup);
          storage = memref::ViewOp::create(rewriter, op.getLoc(), viewType,
                                           smem, shift, ValueRange{});
          bytes = type.getNumElements() *
                  llvm::divideCeil(type.getElementTypeBitWidth(), 8);
        }
        offset += llvm::alignTo(bytes, 16);
      }
      op.getResult().replaceAllUsesWith(storage);
      tileOwners[storage] = op;
    }
    if (plan) {
      plan->sharedBuffer = smem;
      // TMA tiles' mbarriers: 8 bytes each, 8-aligned.
      offset = llvm::alignTo(offset, 8);
      for (auto &entry : plan->tmaTiles) {
        entry.second.barrierOffset = offset;
        offset += 8;
        if (plan->consumerBranch) {
          entry.second.emptyBarrierOffset = offset;
          offset += 8;
        }
      }
    }
    return offset;
  }

  /// Threads per CTA for this module.
  int64_t threads = 128;
  /// vendor=amd: the matrix instruction of `amd-matrix` (none for simt).
  std::optional<AmdMatrixCore> matrixCore;
  /// Tile storage → the alloc it replaced, for the fragment lowering.
  llvm::DenseMap<Value, Operation *> tileOwners;
  /// Kernel name → words of global scratch per slot (a plan expression).
  SmallVector<NamedAttribute> scratchWords;
  /// Kernel name → its tensor-map arguments in plan form.
  SmallVector<NamedAttribute> tensorMaps;
  /// Kernel name → threads per CTA, for kernels with a producer warpgroup.
  SmallVector<NamedAttribute> blockSizes;
};

} // namespace
