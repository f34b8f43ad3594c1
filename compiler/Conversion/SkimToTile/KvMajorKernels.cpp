//===- KvMajorKernels.cpp - selection attention in the KV-major order -----===//
//
// FSA's inverted loop order for per-token selections over small GQA groups:
// one program per (KV block, run of the tokens that chose it) keeps the
// block's keys and values resident while the query rows of those tokens
// stream through, so every row of a tile chose the block (no union, no row
// mask) and a block is read once per run instead of once per token tile.
//
// A row's keys are now spread over many programs, so the softmax is made
// exact in two passes instead of online (docs/TileLevel.md §3.1):
//   1. invert the selection: count the tokens per block, scan, list them;
//   2. pass 1: per (token, head, slot) the log-sum-exp of the row over the
//      chosen block, in base 2 (T·H·n floats);
//   3. per (token, head) the LSE over its slots;
//   4. pass 2: P = 2^(s − LSE) is final, so P·V of each block is the row's
//      share of O: added atomically into an f32 O (T·H·Dv floats);
//   5. O converted into the result.
// Nothing is T × S: the intermediates are O(T·H·(n + Dv)) plus the index
// lists, O(T·n) per selection head.
//
//===----------------------------------------------------------------------===//

#include "Conversion/SkimToTile/Kernels.h"
#include "Conversion/SkimToTile/Selection.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

namespace {

using P = arith::CmpIPredicate;
/// Tokens each program of the counting and listing kernels walks.
constexpr int64_t kTokensPerListProgram = 4;
/// Loads thread 0 keeps in flight when it copies list entries.
constexpr int64_t kLoadsInFlight = 16;

/// Values every kernel of the order derives from the spec.
class KvMajorKernels {
public:
  KvMajorKernels(ModuleOp module, Location loc, const KvMajorSpec &spec)
      : module(module), loc(loc), s(spec), a(spec.attention) {
    g = a.hq / a.hkv;
    rowsPerToken = a.selectionPerHead ? 1 : g;
    owners = a.selectionPerHead ? a.hq : a.hkv;
    bn = std::gcd(a.blockN, a.kvBlock);
  }

  PlanKernel count(StringRef name);
  PlanKernel scan(StringRef name);
  PlanKernel items(StringRef name);
  PlanKernel fill(StringRef name);
  PlanKernel attend(StringRef name, bool statsPass);
  PlanKernel reduceLse(StringRef name);
  PlanKernel finish(StringRef name);

private:
  /// The selection entries of token `t` for selection head `owner`: each
  /// entry's block and whether it counts (inside counts, before the first
  /// −1 without counts, inside the key blocks, the first occurrence of its
  /// block, and with a key the token may see), unrolled over the n entries
  /// so that their loads are in flight together.
  struct Entries {
    SmallVector<Value> block, keep;
  };
  Entries entriesOf(KernelBuilder &kb, Value batch, Value owner, Value t);
  /// The program's selection head, batch, first token and number of tokens
  /// in the counting and listing kernels (grid: tokenGrid).
  struct TokenRun {
    Value owner, batch, t0, valid;
  };
  TokenRun tokenRun(KernelBuilder &kb) {
    Value t0 = kb.mul(kb.blockId(0), kb.c(kTokensPerListProgram));
    Value T = kb.scalar(SizeExpr::dim(a.q.id, 1));
    return {kb.blockId(1), kb.blockId(2), t0,
            kb.min(kb.c(kTokensPerListProgram), kb.sub(T, t0))};
  }
  /// The first query head and the KV head of a selection head.
  Value firstHead(KernelBuilder &kb, Value owner) {
    return a.selectionPerHead ? owner : kb.mul(owner, kb.c(g));
  }
  Value kvHead(KernelBuilder &kb, Value owner) {
    return a.selectionPerHead ? kb.floorDiv(owner, kb.c(g)) : owner;
  }
  /// Stride `dim` of a plan buffer, as a kernel argument.
  Value stride(KernelBuilder &kb, int buffer, unsigned dim) {
    return kb.scalar(SizeExpr::stride(buffer, dim));
  }
  Value loadIndex(KernelBuilder &kb, Value memref, Value at) {
    Value v = memref::LoadOp::create(kb.b, loc, memref, ValueRange{at});
    return arith::IndexCastOp::create(kb.b, loc, kb.b.getIndexType(), v);
  }
  void storeIndex(KernelBuilder &kb, Value v, Value memref, Value at) {
    Value i32 = arith::IndexCastOp::create(kb.b, loc, kb.b.getI32Type(), v);
    memref::StoreOp::create(kb.b, loc, i32, memref, ValueRange{at});
  }
  Value numBlocks(KernelBuilder &kb) {
    return kb.scalar(
        SizeExpr::dim(a.k.id, 1).ceilDiv(SizeExpr::constant(a.kvBlock)));
  }
  double scoreScale() const {
    return a.softcap ? a.scale / *a.softcap : a.scale * kLog2e;
  }
  std::array<SizeExpr, 3> tokenGrid(int64_t tokens) const {
    return {SizeExpr::dim(a.q.id, 1).ceilDiv(SizeExpr::constant(tokens)),
            SizeExpr::constant(owners), SizeExpr::dim(a.q.id, 0)};
  }

  ModuleOp module;
  Location loc;
  const KvMajorSpec &s;
  const AttentionSpec &a;
  int64_t g = 1, rowsPerToken = 1, owners = 1, bn = 64;
};

KvMajorKernels::Entries KvMajorKernels::entriesOf(KernelBuilder &kb,
                                                  Value batch, Value owner,
                                                  Value t) {
  Value idxG = kb.tensor(a.indices.id, a.indices.elementType);
  Value rowOff = kb.offset(a.indices.id, batch, t, owner);
  Value ie = kb.scalar(SizeExpr::stride(a.indices.id, 3));
  Value limit =
      a.counts
          ? loadSelectionLimit(kb, kb.tensor(a.counts.id, a.counts.elementType),
                               a.counts.id, batch, t, owner, a.entries)
          : Value();
  Value blocks = numBlocks(kb);
  SelectionRow row =
      loadSelectionRow(kb, idxG, rowOff, ie, a.entries, limit, blocks);
  Entries out{row.block, row.keep};
  if (!a.causal)
    return out;
  // A block wholly in the token's causal future has nothing it may see.
  Value T = kb.scalar(SizeExpr::dim(a.q.id, 1));
  Value L = a.kvTokens.empty() ? kb.scalar(SizeExpr::dim(a.k.id, 1))
                               : kb.scalar(a.kvTokens);
  Value position = kb.sub(kb.add(t, L), T);
  for (int64_t e = 0; e < a.entries; ++e) {
    Value firstKey = kb.mul(out.block[e], kb.c(a.kvBlock));
    Value firstPos =
        kb.add(kb.mul(firstKey, kb.c(a.keyStride)), kb.c(a.keyOffset));
    out.keep[e] = kb.andI(out.keep[e], kb.cmp(P::sle, firstPos, position));
  }
  return out;
}

/// Counts, per (batch, selection head, block), the tokens that chose the
/// block, and marks every slot's LSE empty (−inf) for pass 1 to overwrite.
PlanKernel KvMajorKernels::count(StringRef name) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  TokenRun run = tokenRun(kb);
  // Slot LSEs are [B, T·n, Hq]: the tokens' n·tokens rows, contiguous.
  Value slotG = kb.tensor(s.slotLse.id, s.slotLse.elementType);
  Value empty = kb.alloc({kTokensPerListProgram * a.entries, rowsPerToken});
  kb.fill(empty, kNegInf);
  kb.store(empty, slotG,
           kb.offset(s.slotLse.id, run.batch, kb.mul(run.t0, kb.c(a.entries)),
                     firstHead(kb, run.owner)),
           stride(kb, s.slotLse.id, 1), kb.c(0),
           kb.mul(run.valid, kb.c(a.entries)));
  Value countG = kb.tensor(s.blockCount.id, s.blockCount.elementType);
  Value one = arith::ConstantIntOp::create(b, loc, 1, 32);
  kb.forLoop(kb.c(0), run.valid, kb.c(1), [&](Value i) {
    Entries entries = entriesOf(kb, run.batch, run.owner, kb.add(run.t0, i));
    for (int64_t e = 0; e < a.entries; ++e)
      kb.ifThen(entries.keep[e], [&] {
        memref::AtomicRMWOp::create(
            b, loc, arith::AtomicRMWKind::addi, one, countG,
            ValueRange{kb.offset(s.blockCount.id, run.batch, run.owner,
                                 entries.block[e])});
      });
  });
  return kb.finish(tokenGrid(kTokensPerListProgram));
}

/// Per (batch, selection head): where each block's token list starts (an
/// exclusive scan of the counts, the total at index `blocks`), where its
/// work items start, and how many items there are. The counts go back to
/// zero: the listing kernel counts again to place its tokens.
PlanKernel KvMajorKernels::scan(StringRef name) {
  KernelBuilder kb(module, name, loc);
  Value owner = kb.blockId(1), batch = kb.blockId(2);
  Value countG = kb.tensor(s.blockCount.id, s.blockCount.elementType);
  Value startG = kb.tensor(s.blockStart.id, s.blockStart.elementType);
  Value itemG = kb.tensor(s.itemStart.id, s.itemStart.elementType);
  Value blocks = numBlocks(kb);
  Value zero32 = arith::ConstantIntOp::create(kb.b, loc, 0, 32);
  Value per = kb.c(s.tokensPerItem);
  // Thread 0 walks the blocks in batches of loads kept in flight together.
  SmallVector<Value> init = {kb.c(0), kb.c(0)};
  SmallVector<Value> totals = kb.forLoop(
      kb.c(0), blocks, kb.c(kLoadsInFlight), init,
      [&](Value first, ValueRange acc) -> SmallVector<Value> {
        SmallVector<Value> counts;
        for (int64_t i = 0; i < kLoadsInFlight; ++i) {
          Value blk = kb.min(kb.add(first, kb.c(i)), kb.sub(blocks, kb.c(1)));
          counts.push_back(loadIndex(
              kb, countG, kb.offset(s.blockCount.id, batch, owner, blk)));
        }
        Value run = acc[0], items = acc[1];
        for (int64_t i = 0; i < kLoadsInFlight; ++i) {
          Value blk = kb.add(first, kb.c(i));
          Value inside = kb.cmp(P::slt, blk, blocks);
          kb.ifThen(inside, [&] {
            storeIndex(kb, run, startG,
                       kb.offset(s.blockStart.id, batch, owner, blk));
            storeIndex(kb, items, itemG,
                       kb.offset(s.itemStart.id, batch, owner, blk));
            memref::StoreOp::create(
                kb.b, loc, zero32, countG,
                ValueRange{kb.offset(s.blockCount.id, batch, owner, blk)});
          });
          Value cnt = kb.select(inside, counts[i], kb.c(0));
          run = kb.add(run, cnt);
          items = kb.add(
              items, kb.floorDiv(kb.add(cnt, kb.c(s.tokensPerItem - 1)), per));
        }
        return {run, items};
      });
  storeIndex(kb, totals[0], startG,
             kb.offset(s.blockStart.id, batch, owner, blocks));
  storeIndex(kb, totals[1], itemG,
             kb.offset(s.itemStart.id, batch, owner, blocks));
  return kb.finish({SizeExpr::constant(1), SizeExpr::constant(owners),
                    SizeExpr::dim(a.q.id, 0)});
}

/// One program per block writes its work items: (block, first list entry,
/// entries), at most tokensPerItem entries each.
PlanKernel KvMajorKernels::items(StringRef name) {
  KernelBuilder kb(module, name, loc);
  Value blk = kb.blockId(0), owner = kb.blockId(1), batch = kb.blockId(2);
  Value startG = kb.tensor(s.blockStart.id, s.blockStart.elementType);
  Value itemG = kb.tensor(s.itemStart.id, s.itemStart.elementType);
  Value workG = kb.tensor(s.work.id, s.work.elementType);
  Value start =
      loadIndex(kb, startG, kb.offset(s.blockStart.id, batch, owner, blk));
  Value end =
      loadIndex(kb, startG,
                kb.offset(s.blockStart.id, batch, owner, kb.add(blk, kb.c(1))));
  Value item0 =
      loadIndex(kb, itemG, kb.offset(s.itemStart.id, batch, owner, blk));
  Value per = kb.c(s.tokensPerItem);
  Value fieldStride = kb.scalar(SizeExpr::stride(s.work.id, 3));
  kb.forLoop(start, end, per, [&](Value first) {
    Value item = kb.add(item0, kb.floorDiv(kb.sub(first, start), per));
    Value at = kb.offset(s.work.id, batch, owner, item);
    storeIndex(kb, blk, workG, at);
    storeIndex(kb, first, workG, kb.add(at, fieldStride));
    storeIndex(kb, kb.min(per, kb.sub(end, first)), workG,
               kb.add(at, kb.mul(kb.c(2), fieldStride)));
  });
  return kb.finish(
      {SizeExpr::dim(a.k.id, 1).ceilDiv(SizeExpr::constant(a.kvBlock)),
       SizeExpr::constant(owners), SizeExpr::dim(a.q.id, 0)});
}

/// Lists, per block, the (token, slot) pairs that chose it: each entry takes
/// a place with an atomic increment of its block's count. The order inside a
/// list is whatever the increments made it; results do not depend on it
/// (rows of a tile are independent) except through the order of pass 2's
/// additions.
PlanKernel KvMajorKernels::fill(StringRef name) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  TokenRun run = tokenRun(kb);
  Value countG = kb.tensor(s.blockCount.id, s.blockCount.elementType);
  Value startG = kb.tensor(s.blockStart.id, s.blockStart.elementType);
  Value tokenG = kb.tensor(s.listToken.id, s.listToken.elementType);
  Value slotG = kb.tensor(s.listSlot.id, s.listSlot.elementType);
  Value one = arith::ConstantIntOp::create(b, loc, 1, 32);
  Type i32 = b.getI32Type();
  kb.forLoop(kb.c(0), run.valid, kb.c(1), [&](Value i) {
    Value t = kb.add(run.t0, i);
    Entries entries = entriesOf(kb, run.batch, run.owner, t);
    // All places, then all list starts, then the stores: the loads and
    // increments of one token are in flight together.
    SmallVector<Value> place, start;
    auto conditional = [&](Value cond, const std::function<Value()> &then) {
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{i32}, cond, true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, then());
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(
          b, loc, ValueRange{arith::ConstantIntOp::create(b, loc, 0, 32)});
      return ifOp.getResult(0);
    };
    for (int64_t e = 0; e < a.entries; ++e)
      place.push_back(conditional(entries.keep[e], [&]() -> Value {
        return memref::AtomicRMWOp::create(
            b, loc, arith::AtomicRMWKind::addi, one, countG,
            ValueRange{kb.offset(s.blockCount.id, run.batch, run.owner,
                                 entries.block[e])});
      }));
    for (int64_t e = 0; e < a.entries; ++e)
      start.push_back(conditional(entries.keep[e], [&]() -> Value {
        return memref::LoadOp::create(
            b, loc, startG,
            ValueRange{kb.offset(s.blockStart.id, run.batch, run.owner,
                                 entries.block[e])});
      }));
    for (int64_t e = 0; e < a.entries; ++e)
      kb.ifThen(entries.keep[e], [&] {
        Value pos = arith::IndexCastOp::create(
            b, loc, b.getIndexType(),
            arith::AddIOp::create(b, loc, start[e], place[e]));
        storeIndex(kb, t, tokenG,
                   kb.offset(s.listToken.id, run.batch, run.owner, pos));
        storeIndex(kb, kb.c(e), slotG,
                   kb.offset(s.listSlot.id, run.batch, run.owner, pos));
      });
  });
  return kb.finish(tokenGrid(kTokensPerListProgram));
}

/// One program per work item: the item's block, and its tokens in tiles of
/// tokensPerTile. Pass 1 (`statsPass`) writes each row's base-2 LSE over the
/// block into its slot; pass 2 adds P·V with P = 2^(s − LSE) into O.
PlanKernel KvMajorKernels::attend(StringRef name, bool statsPass) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  int64_t tpt = s.tokensPerTile, rows = tpt * rowsPerToken;
  Value item = kb.blockId(0), owner = kb.blockId(1), batch = kb.blockId(2);
  Value h0 = firstHead(kb, owner), kvh = kvHead(kb, owner);
  Value qG = kb.tensor(a.q.id, a.q.elementType);
  Value kG = kb.tensor(a.k.id, a.k.elementType);
  Value vG = statsPass ? Value() : kb.tensor(a.v.id, a.v.elementType);
  Value workG = kb.tensor(s.work.id, s.work.elementType);
  Value itemG = kb.tensor(s.itemStart.id, s.itemStart.elementType);
  Value tokenG = kb.tensor(s.listToken.id, s.listToken.elementType);
  Value slotListG =
      statsPass ? kb.tensor(s.listSlot.id, s.listSlot.elementType) : Value();
  Value T = kb.scalar(SizeExpr::dim(a.q.id, 1));
  Value S = kb.scalar(SizeExpr::dim(a.k.id, 1));
  Value L = a.kvTokens.empty() ? S : kb.scalar(a.kvTokens);
  Value blocks = numBlocks(kb);

  // Q lands in shared memory: a gather of whole rows copies 16 bytes at a
  // time (cp.async), where a register fragment would read 2-byte elements
  // scattered over the lanes (73% of pass 1's sectors wasted, ncu).
  Value Q = kb.alloc({rows, a.d}, MemoryKind::shared);
  bool oneChunk = bn == a.kvBlock;
  Value K = kb.alloc({a.d, bn}, MemoryKind::shared); // Kᵀ
  Value V = statsPass ? Value() : kb.alloc({bn, a.dv}, MemoryKind::shared);
  Value St = kb.alloc({rows, bn});
  // Row vectors read from memory sit in shared memory: a map reads them per
  // row, and a fragment row vector cannot be loaded (FragmentLowering.cpp).
  Value tokenRow = kb.alloc({rows, 1}, MemoryKind::shared); // tokens, as f32
  Value m = kb.alloc({rows}), l = kb.alloc({rows}), mNew = kb.alloc({rows});
  // Pass 1 computes the slot LSE (a fragment), pass 2 loads the row's.
  Value lse = kb.alloc({rows, 1},
                       statsPass ? MemoryKind::fragment : MemoryKind::shared);
  Value acc = statsPass ? Value() : kb.alloc({rows, a.dv});

  Value numItems =
      loadIndex(kb, itemG, kb.offset(s.itemStart.id, batch, owner, blocks));
  kb.ifThen(kb.cmp(P::slt, item, numItems), [&] {
    Value fieldStride = kb.scalar(SizeExpr::stride(s.work.id, 3));
    Value at = kb.offset(s.work.id, batch, owner, item);
    Value blk = loadIndex(kb, workG, at);
    Value first = loadIndex(kb, workG, kb.add(at, fieldStride));
    Value len = loadIndex(kb, workG, kb.add(at, kb.mul(kb.c(2), fieldStride)));
    Value lo = kb.mul(blk, kb.c(a.kvBlock));
    Value hi = kb.min(S, kb.add(lo, kb.c(a.kvBlock)));
    Value listBase = kb.offset(s.listToken.id, batch, owner, kb.c(0));
    Value positionShift = arith::SIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastOp::create(b, loc, b.getI64Type(), kb.sub(L, T)));

    // Per token of a tile: its number, and (pass 1) its slot's row of the
    // slot LSEs. Thread 0 fills them from the list.
    Value rowToken = memref::AllocaOp::create(
        b, loc, MemRefType::get({tpt}, b.getIndexType()));
    Value rowSlot = statsPass
                        ? memref::AllocaOp::create(
                              b, loc, MemRefType::get({tpt}, b.getIndexType()))
                              .getResult()
                        : Value();
    // Where the row groups of a [B, tokens, heads, ...] buffer start for
    // this program (tokens named by a gather's row groups), and the token
    // and head strides.
    struct TokenRows {
      Value base, tokenStride, headStride;
    };
    auto tokenRows = [&](int buffer) {
      return TokenRows{kb.offset(buffer, batch, kb.c(0), h0),
                       stride(kb, buffer, 1), stride(kb, buffer, 2)};
    };

    // Rows [c0, c0 + valid) of K (as Kᵀ, stage 0) or V (stage 1), also
    // named as a box for TMA.
    auto loadKeyRows = [&](const BufferRef &buf, Value global, Value tile,
                           Value c0, Value valid, bool keys) {
      Value rowStride = kb.scalar(SizeExpr::stride(buf.id, 1));
      Value off = kb.offset(buf.id, batch, c0, kvh);
      kb.load(global, off, rowStride, kb.c(0), valid, tile,
              KernelBuilder::Box{{batch, c0, kvh, kb.c(0)}, 1},
              /*stage=*/keys ? 0 : 1, /*transpose=*/keys);
    };
    auto loadKeys = [&](Value c0, Value valid) {
      loadKeyRows(a.k, kG, K, c0, valid, true);
    };
    auto loadValues = [&](Value c0, Value valid) {
      loadKeyRows(a.v, vG, V, c0, valid, false);
    };
    auto chunkValid = [&](Value c0) {
      return kb.min(kb.c(bn), kb.sub(hi, c0));
    };
    if (oneChunk) {
      loadKeys(lo, chunkValid(lo));
      if (!statsPass)
        loadValues(lo, chunkValid(lo));
    }
    // Scores of the chunk at c0 in base 2, −inf where the row may not look.
    auto scores = [&](Value c0) {
      Value valid = chunkValid(c0);
      if (!oneChunk)
        loadKeys(c0, valid);
      kb.fill(St, 0.0);
      kb.gemm(Q, K, St, /*transposeB=*/false);
      kb.map({tokenRow}, {"i"}, St, [&](ValueRange x) -> Value {
        Value j = x[1], tok = x[2], cur = x[3];
        Value key = kb.add(c0, j);
        Value ok = kb.cmp(P::ult, j, valid);
        if (a.causal) {
          Value pos = kb.add(kb.mul(key, kb.c(a.keyStride)), kb.c(a.keyOffset));
          Value posF = arith::SIToFPOp::create(
              b, loc, b.getF32Type(),
              arith::IndexCastOp::create(b, loc, b.getI64Type(), pos));
          Value rowPos = arith::AddFOp::create(b, loc, tok, positionShift);
          ok =
              kb.andI(ok, arith::CmpFOp::create(
                              b, loc, arith::CmpFPredicate::OLE, posF, rowPos));
        }
        Value v = arith::MulFOp::create(b, loc, cur, kb.f32(scoreScale()));
        if (a.softcap)
          v = arith::MulFOp::create(b, loc, math::TanhOp::create(b, loc, v),
                                    kb.f32(*a.softcap * kLog2e));
        return kb.select(ok, v, kb.f32(kNegInf));
      });
      return valid;
    };
    auto safe = [&](Value mx) -> Value {
      Value isNegInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                             mx, kb.f32(kNegInf));
      return kb.select(isNegInf, kb.f32(0.0), mx);
    };

    Value tiles = kb.floorDiv(kb.add(len, kb.c(tpt - 1)), kb.c(tpt));
    kb.forLoop(kb.c(0), tiles, kb.c(1), [&](Value j) {
      Value tile0 = kb.add(first, kb.mul(j, kb.c(tpt)));
      Value tokens = kb.min(kb.c(tpt), kb.sub(len, kb.mul(j, kb.c(tpt))));
      // Thread 0: the tile's tokens (their loads in flight together).
      SmallVector<Value> tok, slot;
      for (int64_t i = 0; i < tpt; ++i) {
        Value entry =
            kb.add(listBase, kb.min(kb.add(tile0, kb.c(i)),
                                    kb.add(first, kb.sub(len, kb.c(1)))));
        tok.push_back(loadIndex(kb, tokenG, entry));
        if (statsPass)
          slot.push_back(loadIndex(kb, slotListG, entry));
      }
      for (int64_t i = 0; i < tpt; ++i) {
        memref::StoreOp::create(b, loc, tok[i], rowToken, ValueRange{kb.c(i)});
        if (statsPass)
          memref::StoreOp::create(
              b, loc, kb.add(kb.mul(tok[i], kb.c(a.entries)), slot[i]), rowSlot,
              ValueRange{kb.c(i)});
      }
      kb.load(tokenG, kb.add(listBase, tile0), kb.c(1), kb.c(0), tokens,
              tokenRow, rowsPerToken);
      TokenRows q = tokenRows(a.q.id);
      kb.gather(qG, q.base, q.tokenStride, q.headStride, rowToken, tokens, Q,
                rowsPerToken);
      if (statsPass) {
        // The row's LSE over the block, online over its chunks.
        kb.fill(m, kNegInf);
        kb.fill(l, 0.0);
        kb.forLoop(lo, hi, kb.c(bn), [&](Value c0) {
          scores(c0);
          kb.map({m}, {"ij"}, mNew, [&](ValueRange x) { return x[1]; });
          kb.reduce(ReduceKind::max, St, mNew);
          kb.map({m, mNew}, {"ij", "ij"}, l, [&](ValueRange x) -> Value {
            Value alpha = math::Exp2Op::create(
                b, loc, arith::SubFOp::create(b, loc, x[1], safe(x[2])));
            return arith::MulFOp::create(b, loc, x[3], alpha);
          });
          kb.map({mNew}, {"i"}, St, [&](ValueRange x) -> Value {
            return math::Exp2Op::create(
                b, loc, arith::SubFOp::create(b, loc, x[3], safe(x[2])));
          });
          kb.reduce(ReduceKind::sum, St, l);
          kb.map({mNew}, {"ij"}, m, [&](ValueRange x) { return x[1]; });
        });
        kb.map({m, l}, {"i", "i"}, lse, [&](ValueRange x) -> Value {
          Value emptyRow = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OEQ, x[3], kb.f32(0.0));
          Value v = arith::AddFOp::create(b, loc, x[2],
                                          math::Log2Op::create(b, loc, x[3]));
          return kb.select(emptyRow, kb.f32(kNegInf), v);
        });
        Value slotG = kb.tensor(s.slotLse.id, s.slotLse.elementType);
        TokenRows slots = tokenRows(s.slotLse.id); // [B, T·n, Hq]
        kb.scatter(lse, slotG, slots.base, slots.tokenStride, slots.headStride,
                   rowSlot, tokens, rowsPerToken,
                   /*accumulate=*/false);
        return;
      }
      // Pass 2: the row's final LSE, then its share of O.
      TokenRows r = tokenRows(s.rowLse.id); // [B, T, Hq]
      Value rowLseG = kb.tensor(s.rowLse.id, s.rowLse.elementType);
      kb.gather(rowLseG, r.base, r.tokenStride, r.headStride, rowToken, tokens,
                lse, rowsPerToken);
      kb.fill(acc, 0.0);
      kb.forLoop(lo, hi, kb.c(bn), [&](Value c0) {
        Value valid = scores(c0);
        kb.map({lse}, {"i"}, St, [&](ValueRange x) -> Value {
          Value p = math::Exp2Op::create(
              b, loc, arith::SubFOp::create(b, loc, x[3], safe(x[2])));
          Value masked = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OEQ, x[3], kb.f32(kNegInf));
          return kb.select(masked, kb.f32(0.0), p);
        });
        if (!oneChunk)
          loadValues(c0, valid);
        kb.gemm(St, V, acc, /*transposeB=*/false);
      });
      TokenRows o = tokenRows(s.partialOut.id);
      Value oG = kb.tensor(s.partialOut.id, s.partialOut.elementType);
      kb.scatter(acc, oG, o.base, o.tokenStride, o.headStride, rowToken, tokens,
                 rowsPerToken, /*accumulate=*/true);
    });
  });
  SizeExpr itemsBound =
      (SizeExpr::dim(a.q.id, 1) * SizeExpr::constant(a.entries))
          .ceilDiv(SizeExpr::constant(s.tokensPerItem)) +
      SizeExpr::dim(a.k.id, 1).ceilDiv(SizeExpr::constant(a.kvBlock));
  return kb.finish(
      {itemsBound, SizeExpr::constant(owners), SizeExpr::dim(a.q.id, 0)});
}

/// Per (token, head): the LSE over the slots, base 2 for pass 2 and natural
/// for the result.
PlanKernel KvMajorKernels::reduceLse(StringRef name) {
  KernelBuilder kb(module, name, loc);
  OpBuilder &b = kb.b;
  int64_t hb = headsPerProgram(a.hq, 64);
  Value token = kb.blockId(0), h0 = kb.mul(kb.blockId(1), kb.c(hb));
  Value batch = kb.blockId(2), one = kb.c(1);
  // The token's n slot rows of [B, T·n, Hq], each hb heads wide, land
  // transposed: one tile row per head.
  Value slotG = kb.tensor(s.slotLse.id, s.slotLse.elementType);
  Value slots = kb.alloc({hb, a.entries});
  Value slotOff =
      kb.offset(s.slotLse.id, batch, kb.mul(token, kb.c(a.entries)), h0);
  kb.load(slotG, slotOff, stride(kb, s.slotLse.id, 1), kb.c(0), kb.c(a.entries),
          slots, /*group=*/1,
          /*padding=*/0.0, /*transpose=*/true);
  Value mx = kb.alloc({hb}), sum = kb.alloc({hb});
  kb.fill(mx, kNegInf);
  kb.fill(sum, 0.0);
  kb.reduce(ReduceKind::max, slots, mx);
  kb.map({mx}, {"i"}, slots, [&](ValueRange x) -> Value {
    Value isNegInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                           x[2], kb.f32(kNegInf));
    Value safe = kb.select(isNegInf, kb.f32(0.0), x[2]);
    return math::Exp2Op::create(b, loc,
                                arith::SubFOp::create(b, loc, x[3], safe));
  });
  kb.reduce(ReduceKind::sum, slots, sum);
  Value lse2 = kb.alloc({hb, 1}), lse = kb.alloc({hb, 1});
  kb.map({mx, sum}, {"i", "i"}, lse2, [&](ValueRange x) -> Value {
    Value emptyRow = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                           x[3], kb.f32(0.0));
    Value v =
        arith::AddFOp::create(b, loc, x[2], math::Log2Op::create(b, loc, x[3]));
    return kb.select(emptyRow, kb.f32(kNegInf), v);
  });
  kb.map({lse2}, {"ij"}, lse, [&](ValueRange x) -> Value {
    return arith::MulFOp::create(b, loc, x[2], kb.f32(kLn2));
  });
  // The result's LSE is [B, Hq, T]; pass 2's base-2 copy [B, T, Hq].
  Value lseG = kb.tensor(a.lse.id, a.lse.elementType);
  kb.store(lse, lseG, kb.offset(a.lse.id, batch, h0, token), kb.c(0),
           stride(kb, a.lse.id, 1), one, hb);
  Value rowLseG = kb.tensor(s.rowLse.id, s.rowLse.elementType);
  kb.store(lse2, rowLseG, kb.offset(s.rowLse.id, batch, token, h0), kb.c(0),
           kb.scalar(SizeExpr::stride(s.rowLse.id, 2)), one, hb);
  return kb.finish({SizeExpr::dim(a.q.id, 1), SizeExpr::constant(a.hq / hb),
                    SizeExpr::dim(a.q.id, 0)});
}

/// O (f32, summed by pass 2) into the result's type. Rows nothing was added
/// to (no allowed key) stay zero, as the contract says.
PlanKernel KvMajorKernels::finish(StringRef name) {
  KernelBuilder kb(module, name, loc);
  int64_t hb = headsPerProgram(a.hq, 16);
  Value token = kb.blockId(0), h0 = kb.mul(kb.blockId(1), kb.c(hb));
  Value batch = kb.blockId(2), one = kb.c(1);
  Value rows = kb.alloc({hb, a.dv});
  Value inG = kb.tensor(s.partialOut.id, s.partialOut.elementType);
  kb.load(inG, kb.offset(s.partialOut.id, batch, token, h0), kb.c(0),
          kb.scalar(SizeExpr::stride(s.partialOut.id, 2)), one, rows, hb);
  Value outG = kb.tensor(a.out.id, a.out.elementType);
  kb.store(rows, outG, kb.offset(a.out.id, batch, token, h0), kb.c(0),
           kb.scalar(SizeExpr::stride(a.out.id, 2)), one, hb);
  return kb.finish({SizeExpr::dim(a.q.id, 1), SizeExpr::constant(a.hq / hb),
                    SizeExpr::dim(a.q.id, 0)});
}

} // namespace

std::vector<PlanKernel> mlir::skim::emitKvMajorAttention(
    ModuleOp module, Location loc, const KvMajorSpec &spec,
    const std::function<std::string(StringRef)> &name) {
  KvMajorKernels k(module, loc, spec);
  std::vector<PlanKernel> kernels;
  // Each name is taken right before its kernel: names count the plan's
  // kernels so far.
  auto add = [&](PlanKernel kernel) { kernels.push_back(std::move(kernel)); };
  add(k.count(name("kv_count")));
  add(k.scan(name("kv_scan")));
  add(k.items(name("kv_items")));
  add(k.fill(name("kv_list")));
  add(k.attend(name("kv_lse_slots"), /*statsPass=*/true));
  add(k.reduceLse(name("kv_lse")));
  add(k.attend(name("kv_attend"), /*statsPass=*/false));
  add(k.finish(name("kv_out")));
  return kernels;
}
