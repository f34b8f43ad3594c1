//===- TileToCPU.cpp - skim_tile kernels to loops over CPU vectors --------===//
//
// On the CPU one grid block runs on one thread, so every tile, fragment or
// shared, is a stack buffer and every tile op is a loop nest whose innermost
// loop works on vector<W x f32>. The loops are written so that LLVM keeps the
// accumulators in registers: gemm accumulates U vectors at once and reductions
// run along rows with one horizontal reduction per row.
//
//===----------------------------------------------------------------------===//

#include "Conversion/Passes.h"
#include "Conversion/TileLowering.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMLOWERTILETOCPUPASS
#include "Conversion/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

namespace {

/// The widest power-of-two vector (at most `maxWidth` lanes) that divides n.
int64_t laneWidth(int64_t n, int64_t maxWidth) {
  int64_t w = 1;
  while (w * 2 <= maxWidth && n % (w * 2) == 0)
    w *= 2;
  return w;
}

class CpuLowering : TileLoweringBase {
public:
  CpuLowering(RewriterBase &rewriter, int64_t maxWidth)
      : TileLoweringBase(rewriter), maxWidth(maxWidth) {}

  void lowerFill(FillOp op);
  void lowerLoad(LoadOp op);
  void lowerStore(StoreOp op);
  void lowerGemm(GemmOp op);
  void lowerReduce(ReduceOp op);
  LogicalResult lowerMap(MapOp op);

private:
  VectorType f32Vector(int64_t w) {
    return VectorType::get({w}, b.getF32Type());
  }
  Value splat(Location loc, VectorType type, Value scalar) {
    return vector::BroadcastOp::create(b, loc, type, scalar);
  }
  Value splatF32(Location loc, int64_t w, double value) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32Vector(w), b.getF32FloatAttr(value)));
  }
  /// for (iv = 0; iv < ub; iv += step) body(iv), built at the insertion point.
  void loop(Location loc, int64_t ub, int64_t step,
            function_ref<void(Value)> body) {
    auto forOp =
        scf::ForOp::create(b, loc, cst(loc, 0), cst(loc, ub), cst(loc, step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    body(forOp.getInductionVar());
  }
  /// Stores `value` (a vector or a splat) to every column chunk of row r.
  void storeRow(Location loc, Value tile, Value r, int64_t cols, int64_t w,
                function_ref<Value(Value)> chunk) {
    loop(loc, cols, w, [&](Value c) {
      vector::StoreOp::create(b, loc, chunk(c), tile, ValueRange{r, c});
    });
  }

  int64_t maxWidth;
};

void CpuLowering::lowerFill(FillOp op) {
  Location loc = op.getLoc();
  auto type = cast<MemRefType>(op.getDest().getType());
  b.setInsertionPoint(op);
  float value = op.getValue().convertToFloat();
  if (type.getRank() == 1) {
    int64_t w = laneWidth(type.getDimSize(0), maxWidth);
    Value v = splatF32(loc, w, value);
    loop(loc, type.getDimSize(0), w, [&](Value c) {
      vector::StoreOp::create(b, loc, v, op.getDest(), ValueRange{c});
    });
  } else {
    int64_t cols = type.getDimSize(1), w = laneWidth(cols, maxWidth);
    Value v = splatF32(loc, w, value);
    loop(loc, type.getDimSize(0), 1, [&](Value r) {
      storeRow(loc, op.getDest(), r, cols, w, [&](Value) { return v; });
    });
  }
  b.eraseOp(op);
}

void CpuLowering::lowerLoad(LoadOp op) {
  Location loc = op.getLoc();
  auto tileType = cast<MemRefType>(op.getDest().getType());
  auto srcType = cast<MemRefType>(op.getSource().getType());
  bool transpose = op.getTranspose();
  // Global rows and the elements of each, whichever way they land.
  int64_t rows = tileType.getDimSize(transpose ? 1 : 0);
  int64_t cols = tileType.getDimSize(transpose ? 0 : 1);
  int64_t w = laneWidth(cols, maxWidth);
  Type srcElt = srcType.getElementType();
  b.setInsertionPoint(op);
  Value pad = splatF32(loc, w, op.getPadding().convertToFloat());
  auto toF32 = [&](Value v) { return convert(loc, v, f32Vector(w)); };
  // Row r's chunk at column c: a vector store, or w scalar stores down
  // tile column r when transposing.
  auto put = [&](Value chunk, Value r, Value c) {
    if (!transpose) {
      vector::StoreOp::create(b, loc, chunk, op.getDest(), ValueRange{r, c});
      return;
    }
    for (int64_t l = 0; l < w; ++l) {
      Value x = vector::ExtractOp::create(b, loc, chunk, ArrayRef<int64_t>{l});
      memref::StoreOp::create(b, loc, x, op.getDest(),
                              ValueRange{add(loc, c, cst(loc, l)), r});
    }
  };
  loop(loc, rows, 1, [&](Value r) {
    Value base, inBounds;
    std::tie(base, inBounds) = globalRow(op, r);
    auto ifOp = scf::IfOp::create(b, loc, inBounds, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    loop(loc, cols, w, [&](Value c) {
      Value v =
          vector::LoadOp::create(b, loc, VectorType::get({w}, srcElt),
                                 op.getSource(), ValueRange{add(loc, base, c)});
      put(toF32(v), r, c);
    });
    b.setInsertionPointToStart(ifOp.elseBlock());
    loop(loc, cols, w, [&](Value c) { put(pad, r, c); });
  });
  b.eraseOp(op);
}

void CpuLowering::lowerStore(StoreOp op) {
  Location loc = op.getLoc();
  auto tileType = cast<MemRefType>(op.getSource().getType());
  Type dstElt = cast<MemRefType>(op.getDest().getType()).getElementType();
  int64_t rows = tileType.getDimSize(0), cols = tileType.getDimSize(1);
  int64_t w = laneWidth(cols, maxWidth);
  b.setInsertionPoint(op);
  loop(loc, rows, 1, [&](Value r) {
    Value base, inBounds;
    std::tie(base, inBounds) = globalRow(op, r);
    auto ifOp = scf::IfOp::create(b, loc, inBounds, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    if (op.getAccumulate()) {
      // Grid blocks run on several threads: element-wise atomic adds.
      loop(loc, cols, 1, [&](Value c) {
        Value v = memref::LoadOp::create(b, loc, op.getSource(), ValueRange{r, c});
        memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf, v,
                                    op.getDest(), ValueRange{add(loc, base, c)});
      });
      return;
    }
    loop(loc, cols, w, [&](Value c) {
      Value v = vector::LoadOp::create(b, loc, f32Vector(w), op.getSource(),
                                       ValueRange{r, c});
      if (!dstElt.isF32())
        v = arith::TruncFOp::create(b, loc, VectorType::get({w}, dstElt), v);
      vector::StoreOp::create(b, loc, v, op.getDest(),
                              ValueRange{add(loc, base, c)});
    });
  });
  b.eraseOp(op);
}

/// The largest of 4, 2, 1 that divides n: the unroll of a register block.
static int64_t blockOf(int64_t n) {
  return n % 4 == 0 ? 4 : n % 2 == 0 ? 2 : 1;
}

void CpuLowering::lowerGemm(GemmOp op) {
  Location loc = op.getLoc();
  ArrayRef<int64_t> aShape = cast<MemRefType>(op.getA().getType()).getShape();
  ArrayRef<int64_t> cShape = cast<MemRefType>(op.getAcc().getType()).getShape();
  int64_t m = aShape[0], k = aShape[1], n = cShape[1];
  Value a = op.getA(), bt = op.getB(), acc = op.getAcc();
  b.setInsertionPoint(op);
  // Register blocks of RI rows × U columns (or column chunks): each load of
  // a or b feeds several FMAs, so the loop is bound by FMAs, not loads.
  int64_t ri = blockOf(m);

  if (op.getTransposeB()) {
    // acc[i, j] += dot(a[i, :], b[j, :]): RI × U dot products share the
    // loads of their rows, then one horizontal add per output element.
    int64_t w = laneWidth(k, maxWidth);
    int64_t unroll = blockOf(n);
    loop(loc, m, ri, [&](Value i0) {
      loop(loc, n, unroll, [&](Value j0) {
        SmallVector<Value> init(ri * unroll, splatF32(loc, w, 0.0));
        auto kLoop = scf::ForOp::create(b, loc, cst(loc, 0), cst(loc, k),
                                        cst(loc, w), init);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(kLoop.getBody());
          Value kk = kLoop.getInductionVar();
          SmallVector<Value> av, bv, next;
          for (int64_t r = 0; r < ri; ++r)
            av.push_back(vector::LoadOp::create(
                b, loc, f32Vector(w), a,
                ValueRange{add(loc, i0, cst(loc, r)), kk}));
          for (int64_t u = 0; u < unroll; ++u)
            bv.push_back(vector::LoadOp::create(
                b, loc, f32Vector(w), bt,
                ValueRange{add(loc, j0, cst(loc, u)), kk}));
          for (int64_t r = 0; r < ri; ++r)
            for (int64_t u = 0; u < unroll; ++u)
              next.push_back(vector::FMAOp::create(
                  b, loc, av[r], bv[u],
                  kLoop.getRegionIterArgs()[r * unroll + u]));
          scf::YieldOp::create(b, loc, next);
        }
        for (int64_t r = 0; r < ri; ++r) {
          Value i = add(loc, i0, cst(loc, r));
          for (int64_t u = 0; u < unroll; ++u) {
            Value j = add(loc, j0, cst(loc, u));
            Value dot =
                vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                            kLoop.getResult(r * unroll + u));
            Value old = memref::LoadOp::create(b, loc, acc, ValueRange{i, j});
            memref::StoreOp::create(b, loc,
                                    arith::AddFOp::create(b, loc, old, dot),
                                    acc, ValueRange{i, j});
          }
        }
      });
    });
  } else {
    // acc[i, :] += Σ_k a[i, k] · b[k, :]: broadcast FMAs along rows of b,
    // RI rows × U column chunks of acc held in registers across the k loop.
    int64_t w = laneWidth(n, maxWidth);
    int64_t chunks = n / w;
    int64_t unroll = blockOf(chunks);
    loop(loc, m, ri, [&](Value i0) {
      loop(loc, n, w * unroll, [&](Value j0) {
        SmallVector<Value> rows, cols, init;
        for (int64_t r = 0; r < ri; ++r)
          rows.push_back(add(loc, i0, cst(loc, r)));
        for (int64_t u = 0; u < unroll; ++u)
          cols.push_back(add(loc, j0, cst(loc, u * w)));
        for (int64_t r = 0; r < ri; ++r)
          for (int64_t u = 0; u < unroll; ++u)
            init.push_back(vector::LoadOp::create(
                b, loc, f32Vector(w), acc, ValueRange{rows[r], cols[u]}));
        auto kLoop = scf::ForOp::create(b, loc, cst(loc, 0), cst(loc, k),
                                        cst(loc, 1), init);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(kLoop.getBody());
          Value kk = kLoop.getInductionVar();
          SmallVector<Value> av, bv, next;
          for (int64_t r = 0; r < ri; ++r)
            av.push_back(splat(
                loc, f32Vector(w),
                memref::LoadOp::create(b, loc, a, ValueRange{rows[r], kk})));
          for (int64_t u = 0; u < unroll; ++u)
            bv.push_back(vector::LoadOp::create(b, loc, f32Vector(w), bt,
                                                ValueRange{kk, cols[u]}));
          for (int64_t r = 0; r < ri; ++r)
            for (int64_t u = 0; u < unroll; ++u)
              next.push_back(vector::FMAOp::create(
                  b, loc, av[r], bv[u],
                  kLoop.getRegionIterArgs()[r * unroll + u]));
          scf::YieldOp::create(b, loc, next);
        }
        for (int64_t r = 0; r < ri; ++r)
          for (int64_t u = 0; u < unroll; ++u)
            vector::StoreOp::create(b, loc, kLoop.getResult(r * unroll + u),
                                    acc, ValueRange{rows[r], cols[u]});
      });
    });
  }
  b.eraseOp(op);
}

void CpuLowering::lowerReduce(ReduceOp op) {
  Location loc = op.getLoc();
  ArrayRef<int64_t> shape =
      cast<MemRefType>(op.getSource().getType()).getShape();
  int64_t w = laneWidth(shape[1], maxWidth);
  bool isMax = op.getKind() == ReduceKind::max;
  double identity = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
  b.setInsertionPoint(op);
  loop(loc, shape[0], 1, [&](Value i) {
    auto nLoop =
        scf::ForOp::create(b, loc, cst(loc, 0), cst(loc, shape[1]), cst(loc, w),
                           ValueRange{splatF32(loc, w, identity)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(nLoop.getBody());
      Value v = vector::LoadOp::create(b, loc, f32Vector(w), op.getSource(),
                                       ValueRange{i, nLoop.getInductionVar()});
      Value acc = nLoop.getRegionIterArgs()[0];
      Value next = isMax ? arith::MaximumFOp::create(b, loc, acc, v).getResult()
                         : arith::AddFOp::create(b, loc, acc, v).getResult();
      scf::YieldOp::create(b, loc, next);
    }
    auto kind =
        isMax ? vector::CombiningKind::MAXIMUMF : vector::CombiningKind::ADD;
    Value row = vector::ReductionOp::create(b, loc, kind, nLoop.getResult(0));
    Value old = memref::LoadOp::create(b, loc, op.getDest(), ValueRange{i});
    Value combined =
        isMax ? arith::MaximumFOp::create(b, loc, old, row).getResult()
              : arith::AddFOp::create(b, loc, old, row).getResult();
    memref::StoreOp::create(b, loc, combined, op.getDest(), ValueRange{i});
  });
  b.eraseOp(op);
}

LogicalResult CpuLowering::lowerMap(MapOp op) {
  Location loc = op.getLoc();
  auto destType = cast<MemRefType>(op.getDest().getType());
  bool rank2 = destType.getRank() == 2;
  int64_t rows = rank2 ? destType.getDimSize(0) : 1;
  int64_t cols = destType.getDimSize(rank2 ? 1 : 0);
  int64_t w = laneWidth(cols, maxWidth);
  Block &body = op.getBody().front();
  auto indexVector = VectorType::get({w}, b.getIndexType());

  // Only elementwise arith/math ops vectorise by changing result types.
  for (Operation &inner : body.without_terminator()) {
    StringRef ns = inner.getDialect() ? inner.getDialect()->getNamespace() : "";
    if ((ns != "arith" && ns != "math") || inner.getNumRegions() != 0)
      return op.emitOpError("cannot vectorise '")
             << inner.getName() << "' in a map body on the CPU";
  }

  b.setInsertionPoint(op);
  loop(loc, rows, 1, [&](Value i) {
    loop(loc, cols, w, [&](Value j) {
      IRMapping mapping;
      SmallVector<Value> at =
          rank2 ? SmallVector<Value>{i, j} : SmallVector<Value>{j};
      // Lane l of the vector is column j + l (rank 2) or element j + l.
      Value lanes = arith::AddIOp::create(
          b, loc, vector::StepOp::create(b, loc, indexVector),
          splat(loc, indexVector, j));
      unsigned arg = 0;
      if (rank2)
        mapping.map(body.getArgument(arg++), splat(loc, indexVector, i));
      mapping.map(body.getArgument(arg++), lanes);
      for (auto [input, kind] : llvm::zip(
               op.getInputs(), op.getIndexing().getAsRange<StringAttr>())) {
        Value v;
        if (kind.getValue() == "i" && rank2) {
          // A row vector, or an Mx1 tile read at column 0.
          SmallVector<Value> index{i};
          if (cast<MemRefType>(input.getType()).getRank() == 2)
            index.push_back(cst(loc, 0));
          v = splat(loc, f32Vector(w),
                    memref::LoadOp::create(b, loc, input, index));
        } else if (kind.getValue() == "ij")
          v = vector::LoadOp::create(b, loc, f32Vector(w), input, at);
        else // "j", or "i" on a rank-1 map: read along the vector.
          v = vector::LoadOp::create(b, loc, f32Vector(w), input,
                                     ValueRange{j});
        mapping.map(body.getArgument(arg++), v);
      }
      mapping.map(
          body.getArgument(arg++),
          vector::LoadOp::create(b, loc, f32Vector(w), op.getDest(), at));

      for (Operation &inner : body.without_terminator()) {
        // Scalars from outside the body are the same on every lane.
        for (Value operand : inner.getOperands()) {
          if (mapping.contains(operand))
            continue;
          if (isa<VectorType>(operand.getType()))
            continue;
          mapping.map(
              operand,
              splat(loc, VectorType::get({w}, operand.getType()), operand));
        }
        if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
          Value scalar = b.clone(inner)->getResult(0);
          mapping.map(
              constant.getResult(),
              splat(loc, VectorType::get({w}, scalar.getType()), scalar));
          continue;
        }
        Operation *vectorOp = b.clone(inner, mapping);
        for (OpResult result : vectorOp->getResults())
          result.setType(VectorType::get({w}, result.getType()));
      }
      Value result =
          mapping.lookup(cast<YieldOp>(body.getTerminator()).getValue());
      vector::StoreOp::create(b, loc, result, op.getDest(), at);
    });
  });
  b.eraseOp(op);
  return success();
}

/// Appends the grid block's x, y, z to a kernel's arguments and replaces
/// skim_tile.block_id with them.
void addBlockIdArguments(func::FuncOp kernel) {
  MLIRContext *ctx = kernel.getContext();
  Type index = IndexType::get(ctx);
  unsigned first = kernel.getNumArguments();
  SmallVector<Type> inputs(kernel.getArgumentTypes());
  inputs.append(3, index);
  kernel.setType(FunctionType::get(ctx, inputs, kernel.getResultTypes()));
  Block &entry = kernel.getBody().front();
  for (int i = 0; i < 3; ++i)
    entry.addArgument(index, kernel.getLoc());
  kernel.walk([&](BlockIdOp op) {
    op.replaceAllUsesWith(entry.getArgument(first + op.getDim()));
    op.erase();
  });
}

struct SkimLowerTileToCpuPass
    : skim::impl::SkimLowerTileToCpuPassBase<SkimLowerTileToCpuPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    CpuLowering lowering(rewriter, vectorWidth);
    for (auto kernel : module.getOps<func::FuncOp>()) {
      if (!kernel->hasAttr("skim_tile.kernel"))
        continue;
      addBlockIdArguments(kernel);
      // Tiles become stack buffers at the kernel's entry, allocated once per
      // grid block however deep the op sits in loops.
      Block &entry = kernel.getBody().front();
      kernel.walk([&](AllocOp op) {
        rewriter.setInsertionPointToStart(&entry);
        Value buffer = memref::AllocaOp::create(rewriter, op.getLoc(),
                                                cast<MemRefType>(op.getType()));
        rewriter.replaceOp(op, buffer);
      });
    }
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<FillOp, LoadOp, StoreOp, GemmOp, ReduceOp, MapOp>(op))
        ops.push_back(op);
    });
    // Tile ops never nest in one another (map bodies hold arith and math
    // only), so each lowers on its own, wherever its loops put it.
    for (Operation *op : ops) {
      LogicalResult result =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case<FillOp>([&](auto o) {
                lowering.lowerFill(o);
                return success();
              })
              .Case<LoadOp>([&](auto o) {
                lowering.lowerLoad(o);
                return success();
              })
              .Case<StoreOp>([&](auto o) {
                lowering.lowerStore(o);
                return success();
              })
              .Case<GemmOp>([&](auto o) {
                lowering.lowerGemm(o);
                return success();
              })
              .Case<ReduceOp>([&](auto o) {
                lowering.lowerReduce(o);
                return success();
              })
              .Case<MapOp>([&](auto o) { return lowering.lowerMap(o); });
      if (failed(result))
        return signalPassFailure();
    }
  }
};

} // namespace
