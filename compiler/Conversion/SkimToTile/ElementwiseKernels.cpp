//===- ElementwiseKernels.cpp - pool, combine and merge kernels -----------===//
//
// Stages that read each input element a bounded number of times: block
// pooling (a 1×l by l×D GEMM per block, or the learned linear map), the gated
// sum of branch outputs, and the exact LSE merge of partial attentions.
//
//===----------------------------------------------------------------------===//

#include "Conversion/SkimToTile/Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

/// The end of an LSE merge: acc /= sum (0 where the sum is 0), and the
/// merged LSE = max + ln sum (−inf where the sum is 0) as a rows × 1 tile;
/// `mx` and `sum` are rows × 1 tiles (`kind` "ij") or row vectors ("i").
static Value normalizeMerge(KernelBuilder &kb, Value acc, Value mx, Value sum,
                            int64_t rows, StringRef kind) {
  OpBuilder &b = kb.b;
  Value zeroF = kb.f32(0.0);
  auto isZero = [&](Value x) {
    return arith::CmpFOp::create(b, kb.loc, arith::CmpFPredicate::OEQ, x, zeroF);
  };
  kb.map({sum}, {"i"}, acc, [&](ValueRange a) -> Value {
    return kb.select(isZero(a[2]), zeroF, arith::DivFOp::create(b, kb.loc, a[3], a[2]));
  });
  Value lse = kb.alloc({rows, 1});
  kb.map({mx, sum}, {kind, kind}, lse, [&](ValueRange a) -> Value {
    Value log = arith::MulFOp::create(b, kb.loc, math::Log2Op::create(b, kb.loc, a[3]),
                                      kb.f32(kLn2));
    return kb.select(isZero(a[3]), kb.f32(kNegInf),
                     arith::AddFOp::create(b, kb.loc, a[2], log));
  });
  return lse;
}

PlanKernel mlir::skim::emitPoolKernel(ModuleOp module, StringRef name,
                                      Location loc, const PoolSpec &spec) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  Value in = kb.tensor(spec.input.id, spec.input.elementType);
  Value out = kb.tensor(spec.out.id, spec.out.elementType);
  Value blk = kb.blockId(0), head = kb.blockId(1), batch = kb.blockId(2);
  Value one = kb.c(1);
  Value first = kb.mul(blk, kb.c(spec.stride));
  Value inRow = kb.scalar(SizeExpr::stride(spec.input.id, 1));
  Value acc = kb.alloc({1, spec.dout});
  kb.fill(acc, 0.0);
  if (!spec.linear) {
    // mean = (1/l, …, 1/l) · X, over chunks of at most `spec.chunk` rows: a
    // whole 512-key MoBA block of D = 128 in f32 is 256 KB, more shared
    // memory than any GPU gives a block.
    int64_t chunk = std::gcd<int64_t>(spec.block, spec.chunk);
    Value x = kb.alloc({chunk, spec.d}, MemoryKind::shared);
    Value ones = kb.alloc({1, chunk});
    kb.fill(ones, 1.0 / static_cast<double>(spec.block));
    kb.forLoop(kb.c(0), kb.c(spec.block / chunk), one, [&](Value c) {
      Value row = kb.add(first, kb.mul(c, kb.c(chunk)));
      kb.load(in, kb.offset(spec.input.id, batch, row, head), inRow, kb.c(0),
              kb.c(chunk), x);
      kb.gemm(ones, x, acc, false);
    });
  } else {
    // φ(block) = Σ_j (x_j + e_j) · W[j·D : (j+1)·D, :]
    Value w = kb.tensor(spec.weights.id, spec.weights.elementType);
    Value wRow = kb.scalar(SizeExpr::stride(spec.weights.id, 0));
    Value xj = kb.alloc({1, spec.d});
    Value wj = kb.alloc({spec.d, spec.dout}, MemoryKind::shared);
    Value ej = spec.posEmb ? kb.alloc({1, spec.d}) : Value();
    kb.forLoop(kb.c(0), kb.c(spec.block), one, [&](Value j) {
      Value row = kb.add(kb.offset(spec.input.id, batch, kb.add(first, j), head), kb.c(0));
      kb.load(in, row, inRow, kb.c(0), one, xj);
      if (spec.posEmb) {
        Value pe = kb.tensor(spec.posEmb.id, spec.posEmb.elementType);
        Value peRow = kb.scalar(SizeExpr::stride(spec.posEmb.id, 0));
        kb.load(pe, kb.mul(j, peRow), peRow, kb.c(0), one, ej);
        kb.map({ej}, {"ij"}, xj, [&](ValueRange a) -> Value {
          return arith::AddFOp::create(b, kb.loc, a[3], a[2]);
        });
      }
      kb.load(w, kb.mul(kb.mul(j, kb.c(spec.d)), wRow), wRow, kb.c(0),
              kb.c(spec.d), wj);
      kb.gemm(xj, wj, acc, false);
    });
  }
  kb.store(acc, out, kb.offset(spec.out.id, batch, blk, head),
           kb.scalar(SizeExpr::stride(spec.out.id, 1)), kb.c(0), one);
  return kb.finish({SizeExpr::dim(spec.out.id, 1), SizeExpr::constant(spec.heads),
                    SizeExpr::dim(spec.out.id, 0)});
}

PlanKernel mlir::skim::emitCombineKernel(ModuleOp module, StringRef name,
                                         Location loc, const CombineSpec &spec) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  int64_t hb = headsPerProgram(spec.heads, 16);
  Value token = kb.blockId(0), h0 = kb.mul(kb.blockId(1), kb.c(hb));
  Value batch = kb.blockId(2), one = kb.c(1);
  Value zeroF = kb.f32(0.0);
  Value acc = kb.alloc({hb, spec.dv});
  Value part = kb.alloc({hb, spec.dv});
  kb.fill(acc, 0.0);
  // Rows are the hb heads of one token: inner stride is the head stride.
  // Input i's batch: split_kv's parts sit at batch part·B + b of one buffer.
  auto batchOf = [&](size_t i) -> Value {
    if (spec.batchParts.empty() || spec.batchParts[i] == 0)
      return batch;
    Value batches = kb.scalar(SizeExpr::dim(spec.out.id, 0));
    return kb.add(batch, kb.mul(kb.c(spec.batchParts[i]), batches));
  };
  auto loadRows = [&](BufferRef buf, Value tile, Value b0) {
    Value g = kb.tensor(buf.id, buf.elementType);
    kb.load(g, kb.offset(buf.id, b0, token, h0), kb.c(0),
            kb.scalar(SizeExpr::stride(buf.id, 2)), one, tile, hb);
  };
  auto loadLse = [&](BufferRef buf, Value tile, Value b0) { // [B, Hq, T]
    Value g = kb.tensor(buf.id, buf.elementType);
    Value off = kb.add(kb.add(kb.mul(b0, kb.scalar(SizeExpr::stride(buf.id, 0))),
                              kb.mul(h0, kb.scalar(SizeExpr::stride(buf.id, 1)))),
                       kb.mul(token, kb.scalar(SizeExpr::stride(buf.id, 2))));
    kb.load(g, off, kb.c(0), kb.scalar(SizeExpr::stride(buf.id, 1)), one, tile, hb);
  };

  if (!spec.merge) {
    Value gate = kb.alloc({hb, 1});
    for (size_t i = 0; i < spec.outputs.size(); ++i) {
      loadRows(spec.outputs[i], part, batch);
      loadRows(spec.gates[i], gate, batch);
      kb.map({part, gate}, {"ij", "i"}, acc, [&](ValueRange a) -> Value {
        return math::FmaOp::create(b, kb.loc, a[2], a[3], a[4]);
      });
    }
  } else {
    // LSE = max + log Σ exp(lse_i − max); O = Σ exp(lse_i − LSE) · O_i.
    size_t n = spec.outputs.size();
    SmallVector<Value> lses;
    Value mx = kb.alloc({hb, 1});
    kb.fill(mx, kNegInf);
    for (size_t i = 0; i < n; ++i) {
      lses.push_back(kb.alloc({hb, 1}));
      loadLse(spec.lses[i], lses.back(), batchOf(i));
      kb.map({lses.back()}, {"ij"}, mx, [&](ValueRange a) -> Value {
        return arith::MaximumFOp::create(b, kb.loc, a[3], a[2]);
      });
    }
    Value sum = kb.alloc({hb, 1});
    kb.fill(sum, 0.0);
    auto weight = [&](Value lse, Value max) -> Value {
      Value isNegInf = arith::CmpFOp::create(b, kb.loc, arith::CmpFPredicate::OEQ,
                                             max, kb.f32(kNegInf));
      Value safe = kb.select(isNegInf, zeroF, max);
      Value x = arith::MulFOp::create(b, kb.loc,
                                      arith::SubFOp::create(b, kb.loc, lse, safe),
                                      kb.f32(kLog2e));
      return math::Exp2Op::create(b, kb.loc, x);
    };
    for (size_t i = 0; i < n; ++i) {
      loadRows(spec.outputs[i], part, batchOf(i));
      kb.map({lses[i], mx}, {"ij", "ij"}, sum, [&](ValueRange a) -> Value {
        return arith::AddFOp::create(b, kb.loc, a[4], weight(a[2], a[3]));
      });
      kb.map({part, lses[i], mx}, {"ij", "i", "i"}, acc, [&](ValueRange a) -> Value {
        return math::FmaOp::create(b, kb.loc, weight(a[3], a[4]), a[2], a[5]);
      });
    }
    Value lse = normalizeMerge(kb, acc, mx, sum, hb, "ij");
    Value lseG = kb.tensor(spec.lse.id, spec.lse.elementType);
    Value off = kb.add(kb.add(kb.mul(batch, kb.scalar(SizeExpr::stride(spec.lse.id, 0))),
                              kb.mul(h0, kb.scalar(SizeExpr::stride(spec.lse.id, 1)))),
                       kb.mul(token, kb.scalar(SizeExpr::stride(spec.lse.id, 2))));
    kb.store(lse, lseG, off, kb.c(0), kb.scalar(SizeExpr::stride(spec.lse.id, 1)), one, hb);
  }
  Value outG = kb.tensor(spec.out.id, spec.out.elementType);
  kb.store(acc, outG, kb.offset(spec.out.id, batch, token, h0), kb.c(0),
           kb.scalar(SizeExpr::stride(spec.out.id, 2)), one, hb);
  return kb.finish({SizeExpr::dim(spec.out.id, 1), SizeExpr::constant(spec.heads / hb),
                    SizeExpr::dim(spec.out.id, 0)});
}

/// split_kv's merge, one query head a program: the parts sit in one buffer
/// at batches part·B + b, so one load brings every part's O row of the head
/// ([parts, Dv]) and one transposed load every part's LSE ([1, parts]);
/// the weights are a row, and O = w · parts is a 1 × parts gemm. A program
/// waits out two memory latencies, where walking the parts one load after
/// another waited out two a part (ncu, H200 decode in 16 parts: 119 µs of
/// merge on 64 programs; bench/NOTES.md).
PlanKernel mlir::skim::emitSplitMergeKernel(ModuleOp module, StringRef name,
                                            Location loc, const CombineSpec &spec) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  int64_t parts = static_cast<int64_t>(spec.outputs.size());
  const BufferRef &partOut = spec.outputs.front(), &partLse = spec.lses.front();
  Value token = kb.blockId(0), head = kb.blockId(1), batch = kb.blockId(2);
  Value batches = kb.scalar(SizeExpr::dim(spec.out.id, 0));
  Value zeroF = kb.f32(0.0), one = kb.c(1);

  Value oG = kb.tensor(partOut.id, partOut.elementType);
  Value rows = kb.alloc({parts, spec.dv});
  kb.load(oG, kb.offset(partOut.id, batch, token, head),
          kb.mul(batches, kb.scalar(SizeExpr::stride(partOut.id, 0))), kb.c(0),
          kb.c(parts), rows);
  // LSE parts are [B·parts, Hq, T]: part p's element of (b, head, token).
  Value lseG = kb.tensor(partLse.id, partLse.elementType);
  Value lsb = kb.scalar(SizeExpr::stride(partLse.id, 0));
  Value lses = kb.alloc({1, parts});
  kb.load(lseG, kb.offset(partLse.id, batch, head, token), kb.mul(batches, lsb),
          kb.c(0), kb.c(parts), lses,
          /*group=*/1, /*padding=*/kNegInf, /*transpose=*/true);

  // LSE = max + log Σ exp(lse_p − max); O = Σ exp(lse_p − LSE) · O_p.
  Value mx = kb.alloc({1}), sum = kb.alloc({1});
  kb.fill(mx, kNegInf);
  kb.fill(sum, 0.0);
  kb.reduce(ReduceKind::max, lses, mx);
  Value weights = kb.alloc({1, parts});
  kb.map({lses, mx}, {"ij", "i"}, weights, [&](ValueRange a) -> Value {
    Value isNegInf = arith::CmpFOp::create(b, kb.loc, arith::CmpFPredicate::OEQ, a[3],
                                           kb.f32(kNegInf));
    Value safe = kb.select(isNegInf, zeroF, a[3]);
    Value x = arith::MulFOp::create(b, kb.loc, arith::SubFOp::create(b, kb.loc, a[2], safe),
                                    kb.f32(kLog2e));
    return math::Exp2Op::create(b, kb.loc, x);
  });
  kb.reduce(ReduceKind::sum, weights, sum);
  Value acc = kb.alloc({1, spec.dv});
  kb.fill(acc, 0.0);
  kb.gemm(weights, rows, acc, /*transposeB=*/false);
  Value lse = normalizeMerge(kb, acc, mx, sum, 1, "i");
  Value outLse = kb.tensor(spec.lse.id, spec.lse.elementType);
  kb.store(lse, outLse, kb.offset(spec.lse.id, batch, head, token), kb.c(0), kb.c(0),
           one);
  Value outG = kb.tensor(spec.out.id, spec.out.elementType);
  kb.store(acc, outG, kb.offset(spec.out.id, batch, token, head), kb.c(0), kb.c(0), one);
  return kb.finish({SizeExpr::dim(spec.out.id, 1), SizeExpr::constant(spec.heads),
                    SizeExpr::dim(spec.out.id, 0)});
}
