//===- Selection.cpp - top-k block selection inside a kernel --------------===//
//
// n is small (16 for NSA, 1–12 for MoBA), so a row's selection is n passes of
// an argmax over the visible blocks, then a sort of n entries: no heap, no
// dynamic allocation, the same code on every target.
//
//===----------------------------------------------------------------------===//

#include "Conversion/SkimToTile/Selection.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::skim;

Value mlir::skim::loadSelectionLimit(KernelBuilder &kb, Value counts, int buffer,
                                     Value b, Value t, Value h, int64_t entries) {
  Value raw = memref::LoadOp::create(kb.b, kb.loc, counts,
                                     ValueRange{kb.offset(buffer, b, t, h)});
  Value cnt = arith::IndexCastOp::create(kb.b, kb.loc, kb.b.getIndexType(), raw);
  return kb.max(kb.c(0), kb.min(kb.c(entries), cnt));
}

SelectionRow mlir::skim::loadSelectionRow(KernelBuilder &kb, Value indices,
                                          Value rowOffset, Value entryStride,
                                          int64_t entries, Value limit,
                                          Value blocks) {
  using P = arith::CmpIPredicate;
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  SelectionRow row;
  for (int64_t e = 0; e < entries; ++e) {
    Value at = kb.add(rowOffset, kb.mul(kb.c(e), entryStride));
    Value raw = memref::LoadOp::create(b, loc, indices, ValueRange{at});
    row.block.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), raw));
  }
  Value falseV = arith::ConstantIntOp::create(b, loc, 0, 1);
  Value stopped = falseV;
  for (int64_t e = 0; e < entries; ++e) {
    Value blk = row.block[e];
    if (!limit)
      stopped = kb.orI(stopped, kb.cmp(P::eq, blk, kb.c(-1)));
    Value ok = kb.andI(kb.cmp(P::sge, blk, kb.c(0)), kb.cmp(P::slt, blk, blocks));
    ok = kb.andI(ok, kb.cmp(P::eq, stopped, falseV));
    if (limit)
      ok = kb.andI(ok, kb.cmp(P::slt, kb.c(e), limit));
    for (int64_t f = 0; f < e; ++f)
      ok = kb.andI(ok, kb.cmp(P::ne, row.block[f], blk));
    row.keep.push_back(ok);
  }
  return row;
}

void mlir::skim::emitTopkRow(KernelBuilder &kb, Value row, Value rowBase,
                             Value blocks, Value own, int64_t n,
                             int64_t forceFirst, int64_t forceLast,
                             const SelectionOut &out) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  using P = arith::CmpIPredicate;
  Type index = b.getIndexType();
  Value chosen = memref::AllocaOp::create(b, loc, MemRefType::get({n}, index));
  Value count = memref::AllocaOp::create(b, loc, MemRefType::get({1}, index));
  Value zero = kb.c(0), one = kb.c(1);
  memref::StoreOp::create(b, loc, zero, count, ValueRange{zero});
  Value negInf = kb.f32(-std::numeric_limits<double>::infinity());
  // Blocks 0 .. min(own + 1, blocks) may be chosen.
  Value end = kb.max(zero, kb.min(kb.add(own, one), blocks));

  auto take = [&](Value j) {
    Value cnt = memref::LoadOp::create(b, loc, count, ValueRange{zero});
    memref::StoreOp::create(b, loc, j, chosen, ValueRange{cnt});
    memref::StoreOp::create(b, loc, kb.add(cnt, one), count, ValueRange{zero});
    // A taken block scores −inf, so no later pass takes it again.
    memref::StoreOp::create(b, loc, negInf, row, ValueRange{kb.add(rowBase, j)});
  };

  // Forced: the first blocks, then the last ones ending at the own block
  // (skipping those already forced as first).
  kb.forLoop(zero, kb.min(kb.c(forceFirst), end), one, take);
  Value lastStart = kb.max(kb.c(forceFirst), kb.sub(kb.add(own, one), kb.c(forceLast)));
  kb.forLoop(kb.min(lastStart, end), end, one, take);

  // The rest by score.
  Value forced = memref::LoadOp::create(b, loc, count, ValueRange{zero});
  kb.forLoop(forced, kb.c(n), one, [&](Value) {
    Value init[] = {kb.c(-1), negInf};
    SmallVector<Value> best = kb.forLoop(
        zero, end, one, init, [&](Value j, ValueRange acc) -> SmallVector<Value> {
          Value s = memref::LoadOp::create(b, loc, row, ValueRange{kb.add(rowBase, j)});
          // Strictly greater: ties keep the lower index, NaN and −inf never win.
          Value better = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                               s, acc[1]);
          return {kb.select(better, j, acc[0]), kb.select(better, s, acc[1])};
        });
    kb.ifThen(kb.cmp(P::sge, best[0], zero), [&] { take(best[0]); });
  });

  // Ascending order: selection sort of at most n entries.
  Value total = memref::LoadOp::create(b, loc, count, ValueRange{zero});
  kb.forLoop(zero, total, one, [&](Value e) {
    Value first = memref::LoadOp::create(b, loc, chosen, ValueRange{e});
    Value init[] = {e, first};
    SmallVector<Value> least = kb.forLoop(
        kb.add(e, one), total, one, init,
        [&](Value f, ValueRange acc) -> SmallVector<Value> {
          Value x = memref::LoadOp::create(b, loc, chosen, ValueRange{f});
          Value smaller = kb.cmp(P::slt, x, acc[1]);
          return {kb.select(smaller, f, acc[0]), kb.select(smaller, x, acc[1])};
        });
    memref::StoreOp::create(b, loc, first, chosen, ValueRange{least[0]});
    memref::StoreOp::create(b, loc, least[1], chosen, ValueRange{e});
  });

  // Write n entries, −1 past the count.
  Type i32 = b.getI32Type();
  kb.forLoop(zero, kb.c(n), one, [&](Value e) {
    Value inRange = kb.cmp(P::slt, e, total);
    Value safe = kb.select(inRange, e, zero);
    Value blk = memref::LoadOp::create(b, loc, chosen, ValueRange{safe});
    Value value = kb.select(inRange, blk, kb.c(-1));
    Value asI32 = arith::IndexCastOp::create(b, loc, i32, value);
    memref::StoreOp::create(b, loc, asI32, out.indices,
                            ValueRange{kb.add(out.offset, kb.mul(e, out.stride))});
  });
  memref::StoreOp::create(b, loc, arith::IndexCastOp::create(b, loc, i32, total),
                          out.counts, ValueRange{out.countOffset});
}
