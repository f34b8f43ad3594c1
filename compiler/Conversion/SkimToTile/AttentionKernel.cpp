//===- AttentionKernel.cpp - skim.attention as a tile kernel --------------===//
//
// FlashAttention's loop per grid block (query tile, head group, batch): the
// query tile stays resident, KV chunks stream through it, and an online
// softmax in base 2 (log2 e folded into the query scale) keeps the running
// max m, sum l and output accumulator. Chunks come from a static range for
// causal / window / sink, or from the selection's block list; a per-element
// mask applies the exact allowed-key rule, so ranges only need to cover it.
//
// With an NSA selection spec the same kernel goes on to score selection
// blocks from the compressed keys it just attended (p_cmp = exp(s − LSE),
// Eq. 9 remap and Eq. 10 group sum as two small GEMMs) and writes each
// token's top-n blocks: the T × blocks score tensor is never stored.
//
//===----------------------------------------------------------------------===//

#include "Conversion/SkimToTile/Kernels.h"
#include "Conversion/SkimToTile/Selection.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

namespace {

using P = arith::CmpIPredicate;

int64_t largestPow2DividingAtMost(int64_t limit, int64_t divides) {
  int64_t r = 1;
  while (r * 2 <= limit && divides % (r * 2) == 0)
    r *= 2;
  return r;
}

/// Strides of a rank-4 plan buffer as kernel arguments.
struct Strides4 {
  Value b, s, h;
};
Strides4 strides(KernelBuilder &kb, int buffer) {
  return {kb.scalar(SizeExpr::stride(buffer, 0)),
          kb.scalar(SizeExpr::stride(buffer, 1)),
          kb.scalar(SizeExpr::stride(buffer, 2))};
}

class AttentionEmitter {
public:
  AttentionEmitter(KernelBuilder &kb, const AttentionSpec &spec,
                   const NsaSelectionSpec *nsa)
      : kb(kb), s(spec), nsa(nsa) {}

  std::array<SizeExpr, 3> emit();

private:
  void setUpGeometry();
  /// `tokenBits` (an index, or null): bit t set where the tile's token t
  /// may see this chunk (its own selection does, in a selection pass, or
  /// does not, in a window pass, contain the chunk's block); the other
  /// tokens' rows are masked out.
  ///
  /// `prefetchNext`, when given, means this chunk's keys were already asked
  /// for (by the loop's prologue or the previous chunk) and is called right
  /// after Q·Kᵀ, when K is free, to ask for the next chunk's keys: where
  /// copies are asynchronous they land during this chunk's softmax and P·V.
  void processChunk(Value c0, Value valid, bool fromSelection,
                    Value tokenBits = {},
                    const std::function<void()> &prefetchNext = {});
  /// The scores of the chunk at c0 in `scores`, in base 2, with the allowed
  /// key rule applied (K must be loaded and Q·Kᵀ issued into `scores`).
  void maskAndScale(Value scores, Value c0, Value valid, bool fromSelection,
                    Value tokenBits);
  /// The online-softmax step: m, l and alpha from `scores`, which become
  /// probabilities; acc rescaled by alpha.
  void softmaxStep(Value scores);
  /// A walk over chunks for pipelinedChunks: a cursor of index values, the
  /// first one, the one after, and the chunk a cursor names (its first key,
  /// its valid keys, and its token bits or null).
  struct ChunkWalk {
    std::function<SmallVector<Value>()> first;
    std::function<SmallVector<Value>(ValueRange)> next;
    std::function<Value(ValueRange)> start, valid;
    std::function<Value(ValueRange)> tokenBits;
    bool fromSelection = false;
  };
  /// `count` chunks of `walk`, software-pipelined (FlashAttention-3's
  /// order): while the softmax of one chunk runs, P·V of the one before
  /// does, and Q·Kᵀ of the next one is asked for first, on targets whose
  /// matmuls are asynchronous.
  void pipelinedChunks(Value count, const ChunkWalk &walk);
  /// Key ranges through pipelinedChunks.
  void pipelinedRangeChunks(Value start, Value hi);
  /// The selection's union entries [first, end), each block's chunks up to
  /// `hi`, through pipelinedChunks.
  void pipelinedSelectionChunks(Value first, Value end, Value hi);
  /// K (or V) rows [c0, c0 + bn) of this CTA's batch and KV head, also
  /// named by coordinates so that a target may copy them as a box (TMA);
  /// rows past `valid` are masked by every consumer.
  void loadKeys(Value c0, Value valid, std::optional<int64_t> stage = {}) {
    kb.load(kG, keyOffset(c0), ks.s, kb.c(0), valid, K, keyBox(c0), stage,
            kTransposed);
  }
  void loadValues(Value c0, Value valid, std::optional<int64_t> stage) {
    Value offset =
        kb.add(kb.add(kb.mul(batch, vs.b), kb.mul(c0, vs.s)), kb.mul(kvh, vs.h));
    kb.load(vG, offset, vs.s, kb.c(0), valid, V, keyBox(c0), stage, false);
  }
  Value keyOffset(Value c0) {
    return kb.add(kb.add(kb.mul(batch, ks.b), kb.mul(c0, ks.s)), kb.mul(kvh, ks.h));
  }
  KernelBuilder::Box keyBox(Value c0) {
    return {{batch, c0, kvh, kb.c(0)}, /*rowDim=*/1};
  }
  /// K of the chunk at c0 in stage 0, its valid rows clamped to 0 past the
  /// range (an always-issued copy keeps the asynchronous copies' count the
  /// same on every iteration).
  void requestKeys(Value c0, Value hi) {
    Value valid = kb.max(kb.c(0), kb.min(kb.c(bn), kb.sub(hi, c0)));
    loadKeys(kb.min(c0, kb.max(kb.c(0), kb.sub(hi, kb.c(1)))), valid,
             /*stage=*/0);
  }
  void rangeChunks(Value lo, Value hi, bool skipSelected);
  /// The position of `block` in the first `count` union entries, or −1.
  Value unionIndex(Value block, Value count);
  void collectSelection();
  /// The tokens that chose union entry u (bit t: token t), or, with
  /// `invert`, the tile's other tokens.
  Value tokensOf(Value u, bool invert);
  void finish();
  void emitNsaSelection();
  Value rowPosition(Value r); // query position of tile row r (in a map body)

  KernelBuilder &kb;
  const AttentionSpec &s;
  const NsaSelectionSpec *nsa;
  TileRows rows;
  int64_t bn = 64;
  bool kTransposed = false;

  // Kernel-wide values.
  Value qG, kG, vG, T, S, L, t0, validTokens, h0, kvh, batch;
  /// split_kv: this CTA's part, and the batch index its O and LSE go to.
  Value split, outBatch;
  /// The part of [lo, hi), in steps of `step`, this CTA's split covers: each
  /// split takes ⌈steps / splitKv⌉ consecutive steps (all without split_kv).
  std::pair<Value, Value> splitRange(Value lo, Value hi, int64_t step) {
    if (s.splitKv == 1)
      return {lo, hi};
    Value stepV = kb.c(step);
    Value steps = kb.floorDiv(kb.add(kb.max(kb.c(0), kb.sub(hi, lo)), kb.c(step - 1)),
                              stepV);
    Value per = kb.floorDiv(kb.add(steps, kb.c(s.splitKv - 1)), kb.c(s.splitKv));
    Value first = kb.add(lo, kb.mul(kb.mul(split, per), stepV));
    return {first, kb.min(hi, kb.add(first, kb.mul(per, stepV)))};
  }
  Strides4 qs, ks, vs;
  Value Q, m, l, acc, St, K, V, mNew, alpha;
  /// The next chunk's scores, in pipelined range loops.
  Value nextScores;

  /// What multiplies a raw score q·k: scale · log2 e for base-2 softmax, or
  /// scale / softcap before the tanh (whose result is then scaled by
  /// softcap · log2 e).
  double scoreScale() const {
    return s.softcap ? s.scale / *s.softcap : s.scale * kLog2e;
  }
  /// Whether the scores stay raw q·k through the mask and the row max, and
  /// the scale meets them only in the exponent, as one fma per score
  /// (x · c − m): a positive scale without softcap commutes with the max.
  /// Otherwise each score is multiplied first, then the max subtracted.
  bool scaleInExponent() const { return !s.softcap && scoreScale() > 0; }
  // Selection.
  // The union of the tile's tokens' selections, and memberBits[u]: bit t
  // set where token t chose union entry u (bit 0 for all of them with a
  // shared selection). One uniform word a chunk, read by every thread:
  // per-row masks filled by thread 0 cost a serial loop and two barriers a
  // chunk.
  Value unionBlocks, numUnion, memberBits, numKvBlocks;
  /// The tile's tokens share one selection row (one token, or tokens of
  /// one query block, which tokens divide): every row chose every union
  /// entry, chunks need no per-row mask, and membership is one bit.
  bool sharedSelection = false;
  /// The word whose bits are every token of the tile.
  int64_t allTokens() const {
    return sharedSelection ? 1 : (int64_t(1) << rows.tokens) - 1;
  }
  int64_t unionCap = 0;
};

Value AttentionEmitter::rowPosition(Value r) {
  Value token = kb.add(t0, arith::DivUIOp::create(kb.b, kb.loc, r, kb.c(rows.heads)));
  return kb.sub(kb.add(token, L), T);
}

void AttentionEmitter::setUpGeometry() {
  int64_t g = s.hq / s.hkv;
  rows.heads = (s.packGqa && !s.selectionPerHead) || nsa ? g : 1;
  int64_t tokens = std::max<int64_t>(1, s.blockM / rows.heads);
  if (!s.indices) {
    tokens = largestPow2DividingAtMost(tokens, int64_t(1) << 20);
  } else if (s.qBlock > 1) {
    // Tokens of one query tile share a selection: pack them.
    tokens = largestPow2DividingAtMost(tokens, s.qBlock);
  } else if (s.tokensPerTile > 1) {
    tokens = s.tokensPerTile;
  } else {
    // Per-token selections: a tile of several tokens walks the union of
    // their blocks, each row masked to its own. Worth it when a token alone
    // would give a tile of few rows (MoBA's per-head selections); with a
    // whole GQA group per token (NSA) the rows are already there.
    tokens = rows.heads < 8 ? std::min<int64_t>(16, tokens) : 1;
  }
  rows.tokens = tokens;
  sharedSelection = tokens == 1 || s.qBlock % tokens == 0;
  bn = s.blockN;
  if (s.indices)
    bn = std::gcd(s.blockN, s.kvBlock);
  if (nsa) // compressed chunks start on selection-block boundaries (Eq. 9 GEMM)
    bn = std::max<int64_t>(nsa->selBlock / nsa->cmpStride,
                           bn / (nsa->selBlock / nsa->cmpStride) *
                               (nsa->selBlock / nsa->cmpStride));
}

void AttentionEmitter::processChunk(Value c0, Value valid, bool fromSelection,
                                    Value tokenBits,
                                    const std::function<void()> &prefetchNext) {
  if (!prefetchNext)
    loadKeys(c0, valid, /*stage=*/0);
  // V is asked for now, in pipeline stage 1: where copies are asynchronous
  // (cp.async, TMA) it arrives while Q·Kᵀ and the softmax run.
  loadValues(c0, valid, /*stage=*/1);
  kb.fill(St, 0.0);
  kb.gemm(Q, K, St, /*transposeB=*/!kTransposed);
  if (prefetchNext)
    prefetchNext();
  maskAndScale(St, c0, valid, fromSelection, tokenBits);
  softmaxStep(St);
  kb.gemm(St, V, acc, /*transposeB=*/false);
}

void AttentionEmitter::maskAndScale(Value scores, Value c0, Value valid,
                                    bool fromSelection, Value tokenBits) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  // Scores in base 2: scale · log2 e, or softcap · tanh(scale / softcap · x)
  // · log2 e.
  auto scaled = [&](Value cur) -> Value {
    if (scaleInExponent())
      return cur;
    Value x = arith::MulFOp::create(b, loc, cur, kb.f32(scoreScale()));
    if (s.softcap)
      x = arith::MulFOp::create(b, loc, math::TanhOp::create(b, loc, x),
                                kb.f32(*s.softcap * kLog2e));
    return x;
  };
  bool unrestricted = s.window == 0 && s.sink == 0 && !s.indices;
  bool windowed = !fromSelection && !unrestricted;
  // The exact allowed-key rule, element by element.
  auto maskScores = [&] {
    kb.map({}, {}, scores, [&](ValueRange a) -> Value {
      Value r = a[0], j = a[1], cur = a.back();
      Value key = kb.add(c0, j);
      Value p = rowPosition(r);
      Value pos = kb.add(kb.mul(key, kb.c(s.keyStride)), kb.c(s.keyOffset));
      Value ok = kb.cmp(P::ult, j, valid);
      if (s.causal)
        ok = kb.andI(ok, kb.cmp(P::sle, pos, p));
      if (windowed) {
        Value any = arith::ConstantIntOp::create(b, loc, 0, 1);
        if (s.window > 0)
          any = kb.orI(any, kb.cmp(P::sgt, pos, kb.sub(p, kb.c(s.window))));
        if (s.sink > 0)
          any = kb.orI(any, kb.cmp(P::slt, key, kb.c(s.sink)));
        ok = kb.andI(ok, any);
      }
      if (tokenBits) {
        Value token =
            sharedSelection ? kb.c(0) : kb.floorDiv(r, kb.c(rows.heads));
        Value bit = arith::AndIOp::create(
            b, loc, arith::ShRUIOp::create(b, loc, tokenBits, token), kb.c(1));
        ok = kb.andI(ok, kb.cmp(P::eq, bit, kb.c(1)));
      }
      return kb.select(ok, scaled(cur), kb.f32(kNegInf));
    });
  };
  // A chunk every valid row sees whole (below the causal diagonal, inside
  // the window) needs no per-element rule: only the scale. Most chunks of a
  // long causal or windowed row are such chunks.
  if (tokenBits || (windowed && s.window == 0)) {
    maskScores();
  } else {
    auto position = [&](Value key) {
      return kb.add(kb.mul(key, kb.c(s.keyStride)), kb.c(s.keyOffset));
    };
    Value firstRow = kb.sub(kb.add(t0, L), T);
    Value lastRow = kb.add(firstRow, kb.sub(validTokens, kb.c(1)));
    Value whole = kb.cmp(P::eq, valid, kb.c(bn));
    if (s.causal)
      whole = kb.andI(whole, kb.cmp(P::sle, position(kb.add(c0, kb.c(bn - 1))),
                                    firstRow));
    if (windowed)
      whole = kb.andI(whole, kb.cmp(P::sgt, position(c0),
                                    kb.sub(lastRow, kb.c(s.window))));
    if (scaleInExponent()) {
      kb.ifThen(arith::XOrIOp::create(
                    b, loc, whole, arith::ConstantIntOp::create(b, loc, 1, 1)),
                maskScores);
      return;
    }
    kb.ifThenElse(
        whole,
        [&] {
          kb.map({}, {}, scores, [&](ValueRange a) { return scaled(a.back()); });
        },
        maskScores);
  }
}

void AttentionEmitter::softmaxStep(Value scores) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  // Online softmax in base 2; m is kept scaled (base 2) either way.
  double c = scoreScale();
  bool deferred = scaleInExponent();
  kb.map({m}, {"ij"}, mNew, [&](ValueRange a) -> Value {
    // With raw scores the running max meets them unscaled (c > 0).
    return deferred ? arith::MulFOp::create(b, loc, a[1], kb.f32(1.0 / c))
                    : a[1];
  });
  kb.reduce(ReduceKind::max, scores, mNew);
  if (deferred)
    kb.map({}, {}, mNew, [&](ValueRange a) -> Value {
      return arith::MulFOp::create(b, loc, a.back(), kb.f32(c));
    });
  auto safeMax = [&](Value mx) -> Value {
    Value isNegInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mx,
                                           kb.f32(kNegInf));
    return kb.select(isNegInf, kb.f32(0.0), mx);
  };
  kb.map({m, mNew}, {"ij", "ij"}, alpha, [&](ValueRange a) -> Value {
    return math::Exp2Op::create(b, loc,
                                arith::SubFOp::create(b, loc, a[1], safeMax(a[2])));
  });
  kb.map({mNew}, {"i"}, scores, [&](ValueRange a) -> Value {
    Value negMax = arith::NegFOp::create(b, loc, safeMax(a[2]));
    Value x = deferred
                  ? Value(math::FmaOp::create(b, loc, a[3], kb.f32(c), negMax))
                  : Value(arith::AddFOp::create(b, loc, a[3], negMax));
    return math::Exp2Op::create(b, loc, x);
  });
  kb.map({alpha}, {"ij"}, l, [&](ValueRange a) -> Value {
    return arith::MulFOp::create(b, loc, a[2], a[1]);
  });
  kb.reduce(ReduceKind::sum, scores, l);
  kb.map({alpha}, {"i"}, acc, [&](ValueRange a) -> Value {
    return arith::MulFOp::create(b, loc, a[3], a[2]);
  });
  kb.map({mNew}, {"ij"}, m, [&](ValueRange a) { return a[1]; });
}

void AttentionEmitter::pipelinedChunks(Value count, const ChunkWalk &walk) {
  kb.ifThen(kb.cmp(P::sgt, count, kb.c(0)), [&] {
    // K of the chunk at `cursor`, or (past the last) the last chunk's rows
    // with none valid: an always-issued copy keeps the asynchronous copies'
    // count the same on every iteration.
    auto requestAt = [&](ValueRange cursor, Value isChunk, ValueRange last) {
      SmallVector<Value> at;
      for (auto [c, l] : llvm::zip(cursor, last))
        at.push_back(kb.select(isChunk, c, l));
      loadKeys(walk.start(at), kb.select(isChunk, walk.valid(at), kb.c(0)),
               /*stage=*/0);
    };
    if (!s.overlapSoftmax) {
      // K one chunk ahead only: the chunk's own order (processChunk), with
      // the next chunk's K asked for once Q·Kᵀ is done with K.
      SmallVector<Value> first = walk.first();
      loadKeys(walk.start(first), walk.valid(first), /*stage=*/0);
      kb.forLoop(kb.c(0), count, kb.c(1), first,
                 [&](Value i, ValueRange at) -> SmallVector<Value> {
                   SmallVector<Value> after = walk.next(at);
                   processChunk(
                       walk.start(at), walk.valid(at), walk.fromSelection,
                       walk.tokenBits ? walk.tokenBits(at) : Value(), [&] {
                         requestAt(after,
                                   kb.cmp(P::slt, kb.add(i, kb.c(1)), count),
                                   at);
                       });
                   return after;
                 });
      return;
    }
    // Prologue: the first chunk's scores and softmax; its V and the second
    // chunk's K are asked for.
    SmallVector<Value> first = walk.first();
    Value c0 = walk.start(first), valid0 = walk.valid(first);
    loadKeys(c0, valid0, /*stage=*/0);
    kb.fill(St, 0.0);
    kb.gemm(Q, K, St, /*transposeB=*/!kTransposed);
    requestAt(walk.next(first), kb.cmp(P::sgt, count, kb.c(1)), first);
    maskAndScale(St, c0, valid0, walk.fromSelection,
                 walk.tokenBits ? walk.tokenBits(first) : Value());
    softmaxStep(St);
    loadValues(c0, valid0, /*stage=*/1);
    // Steady state, for chunk i (St holds the probabilities of chunk i − 1):
    // Q·Kᵀ of i, then P·V of i − 1, both left running; the next K once
    // Q·Kᵀ is done with K; the softmax of i while P·V runs; the rescale of
    // acc waits for P·V. Where matmuls are synchronous this is only a
    // reordering of the same work.
    SmallVector<Value> cursor = walk.next(first);
    kb.forLoop(kb.c(1), count, kb.c(1), cursor,
               [&](Value i, ValueRange at) -> SmallVector<Value> {
                 Value c = walk.start(at), valid = walk.valid(at);
                 kb.fill(nextScores, 0.0);
                 kb.gemm(Q, K, nextScores, /*transposeB=*/!kTransposed);
                 kb.gemm(St, V, acc, /*transposeB=*/false);
                 SmallVector<Value> after = walk.next(at);
                 requestAt(after, kb.cmp(P::slt, kb.add(i, kb.c(1)), count),
                           at);
                 maskAndScale(nextScores, c, valid, walk.fromSelection,
                              walk.tokenBits ? walk.tokenBits(at) : Value());
                 softmaxStep(nextScores);
                 loadValues(c, valid, /*stage=*/1);
                 kb.map({nextScores}, {"ij"}, St,
                        [&](ValueRange a) { return a[2]; });
                 return after;
               });
    // Epilogue: P·V of the last chunk.
    kb.gemm(St, V, acc, /*transposeB=*/false);
  });
}

void AttentionEmitter::pipelinedRangeChunks(Value start, Value hi) {
  Value bnV = kb.c(bn);
  ChunkWalk walk;
  walk.first = [&]() -> SmallVector<Value> { return {start}; };
  walk.next = [&](ValueRange c) -> SmallVector<Value> {
    return {kb.add(c[0], bnV)};
  };
  walk.start = [&](ValueRange c) { return c[0]; };
  walk.valid = [&](ValueRange c) { return kb.min(bnV, kb.sub(hi, c[0])); };
  Value count = kb.floorDiv(
      kb.add(kb.max(kb.c(0), kb.sub(hi, start)), kb.c(bn - 1)), bnV);
  pipelinedChunks(count, walk);
}

void AttentionEmitter::pipelinedSelectionChunks(Value first, Value end,
                                                Value hi) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  Value bnV = kb.c(bn);
  // Entry e's block covers [lo, min(lo + kv_block, hi)): its chunks.
  auto blockStart = [&](Value e) {
    Value blk = memref::LoadOp::create(b, loc, unionBlocks, ValueRange{e});
    return kb.mul(blk, kb.c(s.kvBlock));
  };
  auto blockEnd = [&](Value lo) {
    return kb.min(kb.add(lo, kb.c(s.kvBlock)), hi);
  };
  auto chunksOf = [&](Value e) {
    Value lo = blockStart(e);
    Value keys = kb.max(kb.c(0), kb.sub(blockEnd(lo), lo));
    return kb.floorDiv(kb.add(keys, kb.c(bn - 1)), bnV);
  };
  Value count = kb.forLoop(first, end, kb.c(1), ValueRange{kb.c(0)},
                           [&](Value e, ValueRange acc) -> SmallVector<Value> {
                             return {kb.add(acc[0], chunksOf(e))};
                           })[0];
  // The cursor: (entry, chunk start). The next chunk is the next one of the
  // block, else the first of the next entry with any (entries whose block
  // lies past `hi` have none).
  auto settle = [&](Value e, Value c) -> SmallVector<Value> {
    // Skips entries with no chunk left, at most all of them.
    SmallVector<Value> init = {e, c};
    auto loop = scf::WhileOp::create(b, loc, TypeRange{e.getType(), c.getType()},
                                     init);
    {
      OpBuilder::InsertionGuard guard(b);
      Block *before = b.createBlock(&loop.getBefore(), {},
                                    TypeRange{e.getType(), c.getType()},
                                    {loc, loc});
      Value ce = before->getArgument(0), cc = before->getArgument(1);
      Value inRange = kb.cmp(P::slt, ce, end);
      Value safe = kb.select(inRange, ce, first);
      Value exhausted = kb.cmp(P::sge, cc, blockEnd(blockStart(safe)));
      scf::ConditionOp::create(b, loc, kb.andI(inRange, exhausted),
                               ValueRange{ce, cc});
      Block *after = b.createBlock(&loop.getAfter(), {},
                                   TypeRange{e.getType(), c.getType()},
                                   {loc, loc});
      Value ne = kb.add(after->getArgument(0), kb.c(1));
      Value nsafe = kb.select(kb.cmp(P::slt, ne, end), ne, first);
      scf::YieldOp::create(b, loc, ValueRange{ne, blockStart(nsafe)});
    }
    return {loop.getResult(0), loop.getResult(1)};
  };
  ChunkWalk walk;
  walk.fromSelection = true;
  walk.first = [&]() { return settle(first, blockStart(first)); };
  walk.next = [&](ValueRange at) { return settle(at[0], kb.add(at[1], bnV)); };
  walk.start = [&](ValueRange at) { return at[1]; };
  walk.valid = [&](ValueRange at) {
    Value e = kb.select(kb.cmp(P::slt, at[0], end), at[0], first);
    Value keys = kb.sub(blockEnd(blockStart(e)), at[1]);
    return kb.max(kb.c(0), kb.min(bnV, keys));
  };
  if (!sharedSelection)
    walk.tokenBits = [&](ValueRange at) {
      return tokensOf(at[0], /*invert=*/false);
    };
  pipelinedChunks(count, walk);
}

/// Chunks of bn keys covering [lo, hi), aligned to bn so that a chunk never
/// straddles two KV blocks (bn divides kv_block).
void AttentionEmitter::rangeChunks(Value lo, Value hi, bool skipSelected) {
  Value bnV = kb.c(bn);
  Value start = kb.mul(kb.floorDiv(lo, bnV), bnV);
  std::tie(start, hi) = splitRange(start, hi, bn);
  if (!skipSelected && s.overlapSoftmax) {
    pipelinedRangeChunks(start, hi);
    return;
  }
  if (!skipSelected) {
    // K one chunk ahead: the prologue asks for the first chunk's keys, each
    // chunk for the next one's once Q·Kᵀ is done with K.
    requestKeys(start, hi);
    kb.forLoop(start, hi, bnV, [&](Value c0) {
      processChunk(c0, kb.min(bnV, kb.sub(hi, c0)), /*fromSelection=*/false, {},
                   [&] { requestKeys(kb.add(c0, bnV), hi); });
    });
    return;
  }
  kb.forLoop(start, hi, bnV, [&](Value c0) {
    Value valid = kb.min(bnV, kb.sub(hi, c0));
    // A block some rows selected was attended by those rows already: the
    // window pass masks them out for this chunk.
    Value block = kb.floorDiv(c0, kb.c(s.kvBlock));
    Value u = unionIndex(block, numUnion);
    kb.ifThen(kb.cmp(P::slt, u, kb.c(0)), [&] { processChunk(c0, valid, false); });
    kb.ifThen(kb.cmp(P::sge, u, kb.c(0)), [&] {
      processChunk(c0, valid, false, tokensOf(u, /*invert=*/true));
    });
  });
}

Value AttentionEmitter::unionIndex(Value block, Value count) {
  Value init[] = {kb.c(-1)};
  return kb.forLoop(kb.c(0), count, kb.c(1), init,
                    [&](Value u, ValueRange acc) -> SmallVector<Value> {
                      Value x = memref::LoadOp::create(kb.b, kb.loc, unionBlocks,
                                                       ValueRange{u});
                      return {kb.select(kb.cmp(P::eq, x, block), u, acc[0])};
                    })[0];
}

Value AttentionEmitter::tokensOf(Value u, bool invert) {
  Value bits = memref::LoadOp::create(kb.b, kb.loc, memberBits, ValueRange{u});
  if (!invert)
    return bits;
  return arith::XOrIOp::create(kb.b, kb.loc, bits, kb.c(allTokens()));
}

/// Each token's valid selection entries (within counts, or before the first
/// −1; inside [0, blocks); first occurrence only) go into the tile's union,
/// with the token's membership recorded.
void AttentionEmitter::collectSelection() {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  Type index = b.getIndexType();
  Value idxG = kb.tensor(s.indices.id, s.indices.elementType);
  Strides4 is = strides(kb, s.indices.id);
  Value ie = kb.scalar(SizeExpr::stride(s.indices.id, 3));
  Value hs = s.selectionPerHead ? h0 : kvh;
  Value falseV = arith::ConstantIntOp::create(b, loc, 0, 1);

  unionCap = rows.tokens * s.entries;
  unionBlocks = memref::AllocaOp::create(b, loc, MemRefType::get({unionCap}, index));
  assert((sharedSelection || rows.tokens <= 64) &&
         "skim-tile refuses more per-token tokens than bits in a word");
  memberBits =
      memref::AllocaOp::create(b, loc, MemRefType::get({unionCap}, index));
  Value count = memref::AllocaOp::create(b, loc, MemRefType::get({1}, index));
  memref::StoreOp::create(b, loc, kb.c(0), count, ValueRange{kb.c(0)});
  kb.forLoop(kb.c(0), kb.c(unionCap), kb.c(1), [&](Value i) {
    memref::StoreOp::create(b, loc, kb.c(0), memberBits, ValueRange{i});
  });

  // Every entry the tile's tokens read, first, in straight-line loads into
  // scratch, 16 in flight at a time. This is thread 0's scalar code on a
  // GPU, where a load in each iteration of the loop below waits out one
  // memory latency per entry: 64 of them for four NSA tokens. Tokens that
  // share a selection row (q_block a multiple of the tile's tokens, whose
  // first token starts a multiple of them) read one copy; per-token rows
  // (q_block 1) one each, tokens past `validTokens` the last valid token's
  // row. Other q_blocks, and fewer than 8 entries, keep the loop's loads.
  // It is one statement (ScalarCode.cpp: one thread-0 region between two
  // barriers), not a statement per store.
  // Where token row tq's entries start in the index tensor.
  auto selectionRow = [&](Value tq) {
    return kb.add(kb.add(kb.mul(batch, is.b), kb.mul(tq, is.s)), kb.mul(hs, is.h));
  };
  // One selection row serves the whole tile (one token, or tokens of one
  // query block): its entries unrolled, all loads in flight together and
  // duplicates found by comparisons in registers, where the loop below
  // waits out scratch round trips per token and entry (NSA-like's four
  // tokens × 21 entries: ~1.8k on thread 0 while the other warps wait).
  // Below 8 entries (MoBA's top-3) the loop costs little and the unrolled
  // row only registers. One statement, as below.
  if (sharedSelection && s.entries >= 8 && s.entries <= 64) {
    kb.ifThen(kb.cmp(P::sgt, validTokens, kb.c(0)), [&] {
      Value tq = kb.floorDiv(t0, kb.c(s.qBlock));
      Value limit =
          s.counts ? loadSelectionLimit(kb, kb.tensor(s.counts.id, s.counts.elementType),
                                        s.counts.id, batch, tq, hs, s.entries)
                   : Value();
      SelectionRow row = loadSelectionRow(kb, idxG, selectionRow(tq), ie,
                                          s.entries, limit, numKvBlocks);
      Value kept = kb.c(0);
      for (int64_t e = 0; e < s.entries; ++e) {
        Value at = kept;
        kb.ifThen(row.keep[e], [&] {
          memref::StoreOp::create(b, loc, row.block[e], unionBlocks, ValueRange{at});
        });
        kept = kb.select(row.keep[e], kb.add(kept, kb.c(1)), kept);
      }
      memref::StoreOp::create(b, loc, kept, count, ValueRange{kb.c(0)});
      // Every token of the tile chose every entry.
      kb.forLoop(kb.c(0), kept, kb.c(1), [&](Value u) {
        memref::StoreOp::create(b, loc, kb.c(allTokens()), memberBits,
                                ValueRange{u});
      });
    });
    numUnion = memref::LoadOp::create(b, loc, count, ValueRange{kb.c(0)});
    return;
  }
  Value entriesCopy;
  bool oneRow = s.qBlock % rows.tokens == 0;
  int64_t copies = oneRow ? 1 : rows.tokens;
  // A handful of entries (MoBA's top-3) cost the loop little, and the copy
  // took MoBA's kernel from 167 to 206 registers (ptxas, sm_90a).
  if ((s.qBlock == 1 || oneRow) && copies * s.entries >= 8) {
    entriesCopy = memref::AllocaOp::create(
        b, loc, MemRefType::get({copies * s.entries}, index));
    kb.ifThen(kb.cmp(P::sgt, validTokens, kb.c(0)), [&] {
      SmallVector<Value> addresses;
      for (int64_t t = 0; t < copies; ++t) {
        Value token = kb.add(t0, kb.min(kb.c(t), kb.sub(validTokens, kb.c(1))));
        Value row = selectionRow(kb.floorDiv(token, kb.c(s.qBlock)));
        for (int64_t e = 0; e < s.entries; ++e)
          addresses.push_back(kb.add(row, kb.mul(kb.c(e), ie)));
      }
      constexpr size_t kInFlight = 16;
      for (size_t first = 0; first < addresses.size(); first += kInFlight) {
        size_t last = std::min(addresses.size(), first + kInFlight);
        SmallVector<Value> raws;
        for (size_t i = first; i < last; ++i)
          raws.push_back(memref::LoadOp::create(b, loc, idxG, ValueRange{addresses[i]}));
        for (size_t i = first; i < last; ++i)
          memref::StoreOp::create(b, loc,
                                  arith::IndexCastOp::create(b, loc, index, raws[i - first]),
                                  entriesCopy, ValueRange{kb.c(i)});
      }
    });
  }

  kb.forLoop(kb.c(0), validTokens, kb.c(1), [&](Value t) {
    Value tq = kb.floorDiv(kb.add(t0, t), kb.c(s.qBlock));
    Value rowOff = selectionRow(tq);
    Value limit = kb.c(s.entries);
    if (s.counts) {
      Value cntG = kb.tensor(s.counts.id, s.counts.elementType);
      Value cOff = kb.add(kb.add(kb.mul(batch, kb.scalar(SizeExpr::stride(s.counts.id, 0))),
                                 kb.mul(tq, kb.scalar(SizeExpr::stride(s.counts.id, 1)))),
                          kb.mul(hs, kb.scalar(SizeExpr::stride(s.counts.id, 2))));
      Value cnt = memref::LoadOp::create(b, loc, cntG, ValueRange{cOff});
      limit = kb.max(kb.c(0), kb.min(limit, arith::IndexCastOp::create(b, loc, index, cnt)));
    }
    Value tokenBit =
        sharedSelection ? kb.c(1)
                        : arith::ShLIOp::create(b, loc, kb.c(1), t).getResult();
    Value init[] = {falseV};
    kb.forLoop(kb.c(0), limit, kb.c(1), init,
        [&](Value e, ValueRange acc) -> SmallVector<Value> {
          Value blk =
              entriesCopy
                  ? memref::LoadOp::create(
                        b, loc, entriesCopy,
                        ValueRange{oneRow ? e : kb.add(kb.mul(t, kb.c(s.entries)), e)})
                        .getResult()
                  : arith::IndexCastOp::create(
                        b, loc, index,
                        memref::LoadOp::create(b, loc, idxG,
                                               ValueRange{kb.add(rowOff, kb.mul(e, ie))}))
                        .getResult();
          Value stopped = acc[0];
          if (!s.counts)
            stopped = kb.orI(stopped, kb.cmp(P::eq, blk, kb.c(-1)));
          Value inRange = kb.andI(kb.cmp(P::sge, blk, kb.c(0)), kb.cmp(P::slt, blk, numKvBlocks));
          Value total = memref::LoadOp::create(b, loc, count, ValueRange{kb.c(0)});
          Value u = unionIndex(blk, total);
          Value known = kb.cmp(P::sge, u, kb.c(0));
          Value bits = memref::LoadOp::create(
              b, loc, memberBits, ValueRange{kb.select(known, u, kb.c(0))});
          Value mine = arith::AndIOp::create(b, loc, bits, tokenBit);
          Value duplicate = kb.andI(known, kb.cmp(P::ne, mine, kb.c(0)));
          Value keep = kb.andI(kb.andI(inRange, kb.cmp(P::eq, stopped, falseV)),
                               kb.cmp(P::eq, duplicate, falseV));
          kb.ifThen(keep, [&] {
            Value slot = kb.select(known, u, total);
            memref::StoreOp::create(b, loc, blk, unionBlocks, ValueRange{slot});
            memref::StoreOp::create(b, loc, kb.select(known, total, kb.add(total, kb.c(1))),
                                    count, ValueRange{kb.c(0)});
            Value old = kb.select(known, bits, kb.c(0));
            memref::StoreOp::create(b, loc,
                                    arith::OrIOp::create(b, loc, old, tokenBit),
                                    memberBits, ValueRange{slot});
          });
          return {stopped};
        });
  });
  numUnion = memref::LoadOp::create(b, loc, count, ValueRange{kb.c(0)});
}

std::array<SizeExpr, 3> AttentionEmitter::emit() {
  setUpGeometry();
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  qG = kb.tensor(s.q.id, s.q.elementType);
  kG = kb.tensor(s.k.id, s.k.elementType);
  vG = kb.tensor(s.v.id, s.v.elementType);
  T = kb.scalar(SizeExpr::dim(s.q.id, 1));
  S = kb.scalar(SizeExpr::dim(s.k.id, 1));
  L = s.kvTokens.empty() ? S : kb.scalar(s.kvTokens);
  qs = strides(kb, s.q.id);
  ks = strides(kb, s.k.id);
  vs = strides(kb, s.v.id);
  int64_t g = s.hq / s.hkv;
  int64_t mRows = rows.rows();

  t0 = kb.mul(kb.blockId(0), kb.c(rows.tokens));
  h0 = kb.mul(kb.blockId(1), kb.c(rows.heads));
  batch = outBatch = kb.blockId(2);
  if (s.splitKv > 1) {
    Value batches = kb.scalar(SizeExpr::dim(s.q.id, 0));
    split = kb.floorDiv(outBatch, batches);
    batch = kb.sub(outBatch, kb.mul(split, batches));
  }
  validTokens = kb.min(kb.c(rows.tokens), kb.sub(T, t0));
  kvh = kb.floorDiv(h0, kb.c(g));

  Q = kb.alloc({mRows, s.d});
  m = kb.alloc({mRows});
  l = kb.alloc({mRows});
  mNew = kb.alloc({mRows});
  alpha = kb.alloc({mRows});
  acc = kb.alloc({mRows, s.dv});
  St = kb.alloc({mRows, bn});
  if (s.overlapSoftmax)
    nextScores = kb.alloc({mRows, bn});
  // K lands as Kᵀ [D, bn] and Q·Kᵀ is broadcast FMAs along its rows; that
  // beats dot products (one horizontal add per score) from 16 rows up
  // (bench/NOTES.md). A handful of rows (MoBA's per-head tiles) would pay
  // more for the transposing stores than for M × bn horizontal adds.
  kTransposed = mRows >= 8;
  K = kTransposed ? kb.alloc({s.d, bn}, MemoryKind::shared)
                  : kb.alloc({bn, s.d}, MemoryKind::shared);
  V = kb.alloc({bn, s.dv}, MemoryKind::shared);

  Value qOff = kb.add(kb.add(kb.mul(batch, qs.b), kb.mul(t0, qs.s)), kb.mul(h0, qs.h));
  // Q stays as loaded: the scale is applied to the f32 scores (the mask map
  // does it, one multiply per score), so 16-bit matrix units see Q exactly
  // instead of a rounded Q · scale.
  kb.load(qG, qOff, qs.s, qs.h, validTokens, Q, rows.heads);
  kb.fill(m, kNegInf);
  kb.fill(l, 0.0);
  kb.fill(acc, 0.0);

  // Key range of the tile: positions pLo .. pHi.
  Value pLo = kb.sub(kb.add(t0, L), T);
  Value pHi = kb.add(pLo, kb.sub(validTokens, kb.c(1)));
  Value hi = S;
  if (s.causal) {
    Value last = kb.floorDiv(kb.sub(pHi, kb.c(s.keyOffset)), kb.c(s.keyStride));
    hi = kb.max(kb.c(0), kb.min(S, kb.add(last, kb.c(1))));
  }
  bool restricted = s.window > 0 || s.sink > 0;
  if (s.indices) {
    numKvBlocks = kb.floorDiv(kb.add(S, kb.c(s.kvBlock - 1)), kb.c(s.kvBlock));
    collectSelection();
    auto [firstEntry, endEntry] = splitRange(kb.c(0), numUnion, 1);
    // The flattened walk pays for itself where a tile is a warpgroup MMA's
    // 64 rows (per-token NSA tiles: 24% on the H200); MoBA's 16-row
    // per-head tiles (mma.sync) lost 10% to its scalar work.
    bool flattened = (s.prefetchSelections && rows.rows() >= 64) || s.overlapSoftmax;
    if (flattened) {
      pipelinedSelectionChunks(firstEntry, endEntry, hi);
    } else {
      kb.forLoop(firstEntry, endEntry, kb.c(1), [&](Value u) {
        Value blk = memref::LoadOp::create(b, loc, unionBlocks, ValueRange{u});
        Value lo = kb.mul(blk, kb.c(s.kvBlock));
        Value end = kb.min(kb.add(lo, kb.c(s.kvBlock)), hi);
        Value bits = sharedSelection ? Value() : tokensOf(u, /*invert=*/false);
        kb.forLoop(lo, end, kb.c(bn), [&](Value c0) {
          processChunk(c0, kb.min(kb.c(bn), kb.sub(end, c0)),
                       /*fromSelection=*/true, bits);
        });
      });
    }
  }
  if (!s.indices || restricted) {
    // The sink's chunks, whole (the mask keeps what the window allows in
    // them), then the window's chunks after them: no chunk is visited twice.
    Value sinkChunks = kb.c(0);
    if (s.sink > 0) {
      Value sinkEnd = kb.min(kb.c(s.sink), hi);
      sinkChunks = kb.mul(kb.floorDiv(kb.add(sinkEnd, kb.c(bn - 1)), kb.c(bn)), kb.c(bn));
      rangeChunks(kb.c(0), kb.min(sinkChunks, hi), static_cast<bool>(s.indices));
    }
    if (s.window > 0) {
      Value first = kb.add(kb.floorDiv(kb.sub(kb.sub(pLo, kb.c(s.window)), kb.c(s.keyOffset)),
                                       kb.c(s.keyStride)),
                           kb.c(1));
      Value lo = kb.max(kb.c(0), first);
      lo = kb.max(kb.mul(kb.floorDiv(lo, kb.c(bn)), kb.c(bn)), sinkChunks);
      rangeChunks(lo, hi, static_cast<bool>(s.indices));
    } else if (!restricted) {
      rangeChunks(kb.c(0), hi, false);
    }
  }
  finish();
  if (nsa)
    emitNsaSelection();

  SizeExpr tiles = SizeExpr::dim(s.q.id, 1).ceilDiv(SizeExpr::constant(rows.tokens));
  return {tiles, SizeExpr::constant(s.hq / rows.heads),
          SizeExpr::dim(s.q.id, 0) * SizeExpr::constant(s.splitKv)};
}

void AttentionEmitter::finish() {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  Value oG = kb.tensor(s.out.id, s.out.elementType);
  Value lseG = kb.tensor(s.lse.id, s.lse.elementType);
  Strides4 os = strides(kb, s.out.id);
  Value lsb = kb.scalar(SizeExpr::stride(s.lse.id, 0));
  Value lsh = kb.scalar(SizeExpr::stride(s.lse.id, 1));
  Value lst = kb.scalar(SizeExpr::stride(s.lse.id, 2));
  Value zeroF = kb.f32(0.0);
  // O = acc / l, and 0 for rows with no allowed key.
  kb.map({l}, {"i"}, acc, [&](ValueRange a) -> Value {
    Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a[2], zeroF);
    Value div = arith::DivFOp::create(b, loc, a[3], a[2]);
    return kb.select(empty, zeroF, div);
  });
  Value oOff = kb.add(kb.add(kb.mul(outBatch, os.b), kb.mul(t0, os.s)), kb.mul(h0, os.h));
  kb.store(acc, oG, oOff, os.s, os.h, validTokens, rows.heads);
  // LSE (natural log) = (m + log2 l) · ln 2; −inf for empty rows. The base-2
  // value stays in `mNew` for the NSA scores.
  kb.map({m, l}, {"ij", "ij"}, mNew, [&](ValueRange a) -> Value {
    Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a[2], zeroF);
    Value log2l = math::Log2Op::create(b, loc, a[2]);
    return kb.select(empty, kb.f32(kNegInf), arith::AddFOp::create(b, loc, a[1], log2l));
  });
  Value lseTile = kb.alloc({rows.rows(), 1});
  kb.map({mNew}, {"i"}, lseTile, [&](ValueRange a) -> Value {
    return arith::MulFOp::create(b, loc, a[2], kb.f32(kLn2));
  });
  Value lOff = kb.add(kb.add(kb.mul(outBatch, lsb), kb.mul(h0, lsh)), kb.mul(t0, lst));
  kb.store(lseTile, lseG, lOff, lst, lsh, validTokens, rows.heads);
}

void AttentionEmitter::emitNsaSelection() {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  int64_t g = rows.heads, tpt = rows.tokens, mRows = rows.rows();
  int64_t ratio = nsa->selBlock / nsa->cmpStride; // chunks per selection block
  int64_t span = nsa->cmpBlock / nsa->cmpStride;  // chunks per compressed block
  int64_t nj = (bn - 1 + span - 1) / ratio + 1;   // selection blocks a chunk touches
  Value nsel = kb.scalar(s.kvTokens.ceilDiv(SizeExpr::constant(nsa->selBlock)));

  // E sums the G heads of each token (Eq. 10); W is the Eq. 9 overlap of the
  // chunk's compressed keys with the selection blocks it touches. These and
  // the chunk's probabilities live in shared memory: the scores stay a
  // fragment (tensor cores), and the two small f32 gemms that fold them
  // into block scores run SIMT beside them.
  auto shared = MemoryKind::shared;
  Value E = kb.alloc({tpt, mRows}, shared);
  kb.map({}, {}, E, [&](ValueRange a) -> Value {
    Value same = kb.cmp(P::eq, arith::DivUIOp::create(b, loc, a[1], kb.c(g)), a[0]);
    return kb.select(same, kb.f32(1.0), kb.f32(0.0));
  });
  Value W = kb.alloc({bn, nj}, shared);
  kb.map({}, {}, W, [&](ValueRange a) -> Value {
    Value ii = a[0], jj = a[1];
    Value lo = kb.max(ii, kb.mul(jj, kb.c(ratio)));
    Value hi = kb.min(kb.add(ii, kb.c(span)), kb.mul(kb.add(jj, kb.c(1)), kb.c(ratio)));
    Value overlap = kb.max(kb.sub(hi, lo), kb.c(0));
    Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), overlap);
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
  });
  Value Ps = kb.alloc({mRows, bn}, shared);
  Value Pg = kb.alloc({tpt, bn}, shared);
  Value Sc = kb.alloc({tpt, nj}, shared);

  // Token t's block scores at t · nsel. A chunk adds all nj columns of its
  // block scores: those past the last block are exactly 0 (no visible
  // compressed key overlaps them), so they may land in the next token's
  // row, and the last token's go to cells of padding. The rows start at 0,
  // written bn columns at a time by every thread (the zeros past a row's
  // end land in the next row or the padding too).
  Value rowScores = memref::AllocaOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
      ValueRange{kb.add(kb.mul(nsel, kb.c(tpt)), kb.c(std::max(nj, bn)))});
  kb.fill(Pg, 0.0);
  kb.forLoop(kb.c(0), nsel, kb.c(bn), [&](Value c) {
    kb.store(Pg, rowScores, c, nsel, kb.c(0), kb.c(tpt));
  });

  // Visible compressed keys of the tile (the same causal range as above).
  Value pLo = kb.sub(kb.add(t0, L), T);
  Value pHi = kb.add(pLo, kb.sub(validTokens, kb.c(1)));
  Value last = kb.floorDiv(kb.sub(pHi, kb.c(s.keyOffset)), kb.c(s.keyStride));
  Value hi = kb.max(kb.c(0), kb.min(S, kb.add(last, kb.c(1))));
  kb.forLoop(kb.c(0), hi, kb.c(bn), [&](Value c0) {
    Value valid = kb.min(kb.c(bn), kb.sub(hi, c0));
    loadKeys(c0, valid);
    kb.fill(St, 0.0);
    kb.gemm(Q, K, St, /*transposeB=*/!kTransposed);
    // p_cmp = 2^(s − lse2) on visible keys, 0 elsewhere.
    kb.map({mNew, St}, {"i", "ij"}, Ps, [&](ValueRange a) -> Value {
      Value r = a[0], j = a[1], lse2 = a[2], cur = a[3];
      Value pos = kb.add(kb.mul(kb.add(c0, j), kb.c(s.keyStride)), kb.c(s.keyOffset));
      Value ok = kb.andI(kb.cmp(P::ult, j, valid), kb.cmp(P::sle, pos, rowPosition(r)));
      Value x = arith::MulFOp::create(b, loc, cur, kb.f32(scoreScale()));
      if (s.softcap)
        x = arith::MulFOp::create(b, loc, math::TanhOp::create(b, loc, x),
                                  kb.f32(*s.softcap * kLog2e));
      Value p = math::Exp2Op::create(b, loc, arith::SubFOp::create(b, loc, x, lse2));
      return kb.select(ok, p, kb.f32(0.0));
    });
    kb.fill(Pg, 0.0);
    kb.gemm(E, Ps, Pg, false);
    kb.fill(Sc, 0.0);
    kb.gemm(Pg, W, Sc, false);
    // Every thread adds its elements (one add per element and chunk, so
    // the sum does not depend on thread timing).
    kb.store(Sc, rowScores, kb.floorDiv(c0, kb.c(ratio)), nsel, kb.c(0),
             validTokens, /*group=*/1, /*accumulate=*/true);
  });

  // Every block of a token that sees no compressed key scores −inf (the
  // top-n reads no block past the token's own); then each token keeps its
  // top n.
  Value idxG = kb.tensor(nsa->indices.id, nsa->indices.elementType);
  Value cntG = kb.tensor(nsa->counts.id, nsa->counts.elementType);
  Strides4 is = strides(kb, nsa->indices.id);
  Value ie = kb.scalar(SizeExpr::stride(nsa->indices.id, 3));
  Value csb = kb.scalar(SizeExpr::stride(nsa->counts.id, 0));
  Value cst = kb.scalar(SizeExpr::stride(nsa->counts.id, 1));
  Value csh = kb.scalar(SizeExpr::stride(nsa->counts.id, 2));
  kb.forLoop(kb.c(0), validTokens, kb.c(1), [&](Value t) {
    Value token = kb.add(t0, t);
    Value p = kb.sub(kb.add(token, L), T);
    Value base = kb.mul(t, nsel);
    // The top-n never reads past the own block, so only a blind token's
    // blocks need the −inf.
    Value blind = kb.cmp(P::slt, p, kb.c(nsa->cmpBlock - 1));
    kb.ifThen(blind, [&] {
      kb.forLoop(kb.c(0), nsel, kb.c(1), [&](Value j) {
        memref::StoreOp::create(b, loc, kb.f32(kNegInf), rowScores,
                                ValueRange{kb.add(base, j)});
      });
    });
    Value own = kb.floorDiv(p, kb.c(nsa->selBlock));
    SelectionOut out;
    out.indices = idxG;
    out.offset = kb.add(kb.add(kb.mul(batch, is.b), kb.mul(token, is.s)), kb.mul(kvh, is.h));
    out.stride = ie;
    out.counts = cntG;
    out.countOffset = kb.add(kb.add(kb.mul(batch, csb), kb.mul(token, cst)), kb.mul(kvh, csh));
    emitTopkRow(kb, rowScores, base, nsel, own, nsa->n, nsa->forceFirst,
                nsa->forceLast, out);
  });
}

} // namespace

PlanKernel mlir::skim::emitAttentionKernel(ModuleOp module, StringRef name,
                                           Location loc, const AttentionSpec &spec,
                                           const NsaSelectionSpec *nsa) {
  KernelBuilder kb(module, name, loc);
  AttentionEmitter emitter(kb, spec, nsa);
  std::array<SizeExpr, 3> grid = emitter.emit();
  return kb.finish(grid);
}
