//===- ScoresKernels.cpp - MoBA block scores and standalone top-k ---------===//
//
// MoBA scores a query against the mean key of every complete block before
// its own (per query head). When a topk is the only user, the same kernel
// selects each row's blocks from a per-tile row buffer and the scores never
// reach memory; otherwise they are stored as the op's result.
//
//===----------------------------------------------------------------------===//

#include "Conversion/SkimToTile/Kernels.h"
#include "Conversion/SkimToTile/Selection.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

namespace {
using P = arith::CmpIPredicate;

} // namespace

PlanKernel mlir::skim::emitMobaScoresKernel(ModuleOp module, StringRef name,
                                            Location loc,
                                            const MobaScoresSpec &spec) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  int64_t g = spec.hq / spec.hkv;
  int64_t heads = g, tokens = std::max<int64_t>(1, spec.tileRows / g);
  int64_t mRows = heads * tokens, bn = spec.keysPerChunk;
  Value q = kb.tensor(spec.q.id, spec.q.elementType);
  Value km = kb.tensor(spec.keys.id, spec.keys.elementType);
  Value T = kb.scalar(SizeExpr::dim(spec.q.id, 1));
  Value L = kb.scalar(spec.kvTokens);
  Value complete = kb.scalar(SizeExpr::dim(spec.keys.id, 1));
  Value blocks = kb.scalar(spec.kvTokens.ceilDiv(SizeExpr::constant(spec.block)));
  Value t0 = kb.mul(kb.blockId(0), kb.c(tokens));
  Value kvh = kb.blockId(1), h0 = kb.mul(kvh, kb.c(g)), batch = kb.blockId(2);
  Value valid = kb.min(kb.c(tokens), kb.sub(T, t0));

  Value Q = kb.alloc({mRows, spec.d});
  Value K = kb.alloc({bn, spec.d}, MemoryKind::shared);
  Value St = kb.alloc({mRows, bn});
  kb.load(q, kb.offset(spec.q.id, batch, t0, h0),
          kb.scalar(SizeExpr::stride(spec.q.id, 1)),
          kb.scalar(SizeExpr::stride(spec.q.id, 2)), valid, Q, heads);
  if (spec.scale != 1.0)
    kb.map({}, {}, Q, [&](ValueRange a) -> Value {
      return arith::MulFOp::create(b, kb.loc, a[2], kb.f32(spec.scale));
    });

  // One scores row per tile row, −inf until a visible block fills it. Rows
  // are whole chunks long, so each chunk's scores go in with one tile store
  // by every thread (a masked column past the last block lands in its own
  // row's padding); the tile itself, filled with −inf, clears them.
  Value rowStride =
      kb.scalar(spec.kvTokens.ceilDiv(SizeExpr::constant(spec.block))
                    .ceilDiv(SizeExpr::constant(bn)) *
                SizeExpr::constant(bn));
  Value rowsBuf = memref::AllocaOp::create(
      b, kb.loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
      ValueRange{kb.mul(rowStride, kb.c(mRows))});
  kb.fill(St, kNegInf);
  kb.forLoop(kb.c(0), rowStride, kb.c(bn), [&](Value c) {
    kb.store(St, rowsBuf, c, rowStride, kb.c(0), kb.c(mRows));
  });
  auto position = [&](Value r) {
    Value token = kb.add(t0, arith::DivUIOp::create(b, kb.loc, r, kb.c(heads)));
    return kb.sub(kb.add(token, L), T);
  };
  kb.forLoop(kb.c(0), complete, kb.c(bn), [&](Value c0) {
    Value n = kb.min(kb.c(bn), kb.sub(complete, c0));
    kb.load(km, kb.offset(spec.keys.id, batch, c0, kvh),
            kb.scalar(SizeExpr::stride(spec.keys.id, 1)), kb.c(0), n, K);
    kb.fill(St, 0.0);
    kb.gemm(Q, K, St, true);
    // Only complete blocks strictly before the query's own block count.
    kb.map({}, {}, St, [&](ValueRange a) -> Value {
      Value j = kb.add(c0, a[1]);
      Value own = kb.floorDiv(position(a[0]), kb.c(spec.block));
      Value ok = kb.andI(kb.cmp(P::ult, a[1], n), kb.cmp(P::slt, j, own));
      return kb.select(ok, a[2], kb.f32(kNegInf));
    });
    kb.store(St, rowsBuf, c0, rowStride, kb.c(0), kb.c(mRows));
  });

  // Per row: select, or store the scores.
  kb.forLoop(kb.c(0), kb.mul(valid, kb.c(heads)), kb.c(1), [&](Value r) {
    Value tok = kb.add(t0, kb.floorDiv(r, kb.c(heads)));
    Value h = kb.add(h0, arith::RemUIOp::create(b, kb.loc, r, kb.c(heads)));
    Value base = kb.mul(r, rowStride);
    if (spec.indices) {
      SelectionOut out;
      out.indices = kb.tensor(spec.indices.id, spec.indices.elementType);
      out.offset = kb.offset(spec.indices.id, batch, tok, h);
      out.stride = kb.scalar(SizeExpr::stride(spec.indices.id, 3));
      out.counts = kb.tensor(spec.counts.id, spec.counts.elementType);
      out.countOffset = kb.offset(spec.counts.id, batch, tok, h);
      Value own = kb.floorDiv(kb.sub(kb.add(tok, L), T), kb.c(spec.block));
      emitTopkRow(kb, rowsBuf, base, blocks, own, spec.n, spec.forceFirst,
                  spec.forceLast, out);
    } else {
      Value sg = kb.tensor(spec.scores.id, spec.scores.elementType);
      Value off = kb.offset(spec.scores.id, batch, tok, h);
      Value sj = kb.scalar(SizeExpr::stride(spec.scores.id, 3));
      kb.forLoop(kb.c(0), blocks, kb.c(1), [&](Value j) {
        Value x = memref::LoadOp::create(b, kb.loc, rowsBuf, ValueRange{kb.add(base, j)});
        memref::StoreOp::create(b, kb.loc, x, sg, ValueRange{kb.add(off, kb.mul(j, sj))});
      });
    }
  });
  return kb.finish({SizeExpr::dim(spec.q.id, 1).ceilDiv(SizeExpr::constant(tokens)),
                    SizeExpr::constant(spec.hkv), SizeExpr::dim(spec.q.id, 0)});
}

PlanKernel mlir::skim::emitTopkKernel(ModuleOp module, StringRef name,
                                      Location loc, const TopkSpec &spec) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  Value scores = kb.tensor(spec.scores.id, spec.scores.elementType);
  Value T = kb.scalar(SizeExpr::dim(spec.scores.id, 1));
  Value blocks = kb.scalar(SizeExpr::dim(spec.scores.id, 3));
  Value L = kb.scalar(spec.kvTokens);
  Value tok = kb.blockId(0), h = kb.blockId(1), batch = kb.blockId(2);
  Value row = memref::AllocaOp::create(
      b, kb.loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
      ValueRange{blocks});
  Value off = kb.offset(spec.scores.id, batch, tok, h);
  Value sj = kb.scalar(SizeExpr::stride(spec.scores.id, 3));
  kb.forLoop(kb.c(0), blocks, kb.c(1), [&](Value j) {
    Value x = memref::LoadOp::create(b, kb.loc, scores, ValueRange{kb.add(off, kb.mul(j, sj))});
    memref::StoreOp::create(b, kb.loc, x, row, ValueRange{j});
  });
  SelectionOut out;
  out.indices = kb.tensor(spec.indices.id, spec.indices.elementType);
  out.offset = kb.offset(spec.indices.id, batch, tok, h);
  out.stride = kb.scalar(SizeExpr::stride(spec.indices.id, 3));
  out.counts = kb.tensor(spec.counts.id, spec.counts.elementType);
  out.countOffset = kb.offset(spec.counts.id, batch, tok, h);
  Value own = kb.floorDiv(kb.sub(kb.add(tok, L), T), kb.c(spec.block));
  emitTopkRow(kb, row, kb.c(0), blocks, own, spec.n, spec.forceFirst,
              spec.forceLast, out);
  return kb.finish({SizeExpr::dim(spec.scores.id, 1), SizeExpr::constant(spec.heads),
                    SizeExpr::dim(spec.scores.id, 0)});
}
