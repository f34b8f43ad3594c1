//===- Selection.cpp - top-k block selection inside a kernel --------------===//
//
// n is small (16 for NSA, 1–12 for MoBA), so a row's selection is one pass
// over the visible blocks that keeps the best scores so far in a list of at
// most n, sorted by score, then a sort of the chosen by block: no heap, no
// dynamic allocation, the same code on every target. A block enters the
// list only when it beats the list's last entry, so after the first few a
// block costs one load and one compare (n passes of an argmax cost n loads:
// NSA's 16 of 1024 blocks at 64k tokens, on one GPU thread a row).
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

  auto choose = [&](Value j) {
    Value cnt = memref::LoadOp::create(b, loc, count, ValueRange{zero});
    memref::StoreOp::create(b, loc, j, chosen, ValueRange{cnt});
    memref::StoreOp::create(b, loc, kb.add(cnt, one), count, ValueRange{zero});
  };
  // A forced block scores −inf, so the pass by score does not take it again.
  auto force = [&](Value j) {
    choose(j);
    memref::StoreOp::create(b, loc, negInf, row, ValueRange{kb.add(rowBase, j)});
  };

  // Forced: the first blocks, then the last ones ending at the own block
  // (skipping those already forced as first).
  kb.forLoop(zero, kb.min(kb.c(forceFirst), end), one, force);
  Value lastStart = kb.max(kb.c(forceFirst), kb.sub(kb.add(own, one), kb.c(forceLast)));
  kb.forLoop(kb.min(lastStart, end), end, one, force);

  // The rest by score: `best` holds up to `room` entries by descending score,
  // ties in block order (a later block never passes an equal score), so the
  // list is what `room` passes of a strict argmax would take. Taken blocks
  // score −inf, and neither −inf nor NaN beats −inf.
  Value forced = memref::LoadOp::create(b, loc, count, ValueRange{zero});
  Value room = kb.sub(kb.c(n), forced);
  Value bestBlock =
      memref::AllocaOp::create(b, loc, MemRefType::get({n}, index));
  Value bestScore =
      memref::AllocaOp::create(b, loc, MemRefType::get({n}, b.getF32Type()));
  // Below `room` entries anything visible enters; with no room, nothing.
  Value posInf = kb.f32(std::numeric_limits<double>::infinity());
  Value open = kb.select(kb.cmp(P::sgt, room, zero), negInf, posInf);
  Value init[] = {zero, open};
  SmallVector<Value> kept = kb.forLoop(
      zero, end, one, init, [&](Value j, ValueRange acc) -> SmallVector<Value> {
        Value size = acc[0], bar = acc[1];
        Value s =
            memref::LoadOp::create(b, loc, row, ValueRange{kb.add(rowBase, j)});
        Value enters =
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, s, bar);
        auto ifOp = scf::IfOp::create(b, loc, TypeRange{index, b.getF32Type()},
                                      enters, /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          // Its place: after every entry scoring at least s.
          Value start[] = {zero};
          Value at = kb.forLoop(
              zero, size, one, start,
              [&](Value e, ValueRange pos) -> SmallVector<Value> {
                Value other =
                    memref::LoadOp::create(b, loc, bestScore, ValueRange{e});
                Value ahead = arith::CmpFOp::create(
                    b, loc, arith::CmpFPredicate::OGE, other, s);
                return {kb.select(ahead, kb.add(pos[0], one), pos[0])};
              })[0];
          // Entries from there move down one; a full list drops its last.
          Value grown = kb.min(kb.add(size, one), room);
          Value lastSlot = kb.sub(grown, one);
          kb.forLoop(zero, kb.sub(lastSlot, at), one, [&](Value k) {
            Value to = kb.sub(lastSlot, k);
            Value from = kb.sub(to, one);
            memref::StoreOp::create(
                b, loc,
                memref::LoadOp::create(b, loc, bestBlock, ValueRange{from}),
                bestBlock, ValueRange{to});
            memref::StoreOp::create(
                b, loc,
                memref::LoadOp::create(b, loc, bestScore, ValueRange{from}),
                bestScore, ValueRange{to});
          });
          memref::StoreOp::create(b, loc, j, bestBlock, ValueRange{at});
          memref::StoreOp::create(b, loc, s, bestScore, ValueRange{at});
          Value full = kb.cmp(P::eq, grown, room);
          Value last =
              memref::LoadOp::create(b, loc, bestScore, ValueRange{lastSlot});
          scf::YieldOp::create(
              b, loc, ValueRange{grown, kb.select(full, last, negInf)});
          b.setInsertionPointToStart(ifOp.elseBlock());
          scf::YieldOp::create(b, loc, ValueRange{size, bar});
        }
        return {ifOp.getResult(0), ifOp.getResult(1)};
      });
  kb.forLoop(zero, kept[0], one, [&](Value e) {
    choose(memref::LoadOp::create(b, loc, bestBlock, ValueRange{e}));
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
