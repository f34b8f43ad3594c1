//===- Selection.h - choosing blocks inside a kernel ------------*- C++ -*-===//

#ifndef SKIM_CONVERSION_SKIMTOTILE_SELECTION_H
#define SKIM_CONVERSION_SKIMTOTILE_SELECTION_H

#include "Conversion/SkimToTile/KernelBuilder.h"

namespace mlir::skim {

/// Where one row's selection goes: indices[offset + e * stride] for e < n,
/// and counts[countOffset].
struct SelectionOut {
  Value indices, offset, stride, counts, countOffset;
};

/// One row of a selection, unrolled over its n entries so that their loads
/// are in flight together: each entry's block, and whether it counts —
/// inside `limit` (counts; null without), before the first −1 without
/// counts, inside [0, blocks), and the first occurrence of its block (the
/// contract's padding rules, ARCHITECTURE.md §2).
struct SelectionRow {
  SmallVector<Value> block, keep;
};
/// counts[b, t, h] of a selection's counts tensor (plan buffer `buffer`),
/// clamped to [0, entries].
Value loadSelectionLimit(KernelBuilder &kb, Value counts, int buffer, Value b,
                         Value t, Value h, int64_t entries);
SelectionRow loadSelectionRow(KernelBuilder &kb, Value indices, Value rowOffset,
                              Value entryStride, int64_t entries, Value limit,
                              Value blocks);

/// Emits skim.topk for one row: `row[0 .. blocks)` holds the scores (it is
/// overwritten), `own` is the query's own block (negative: nothing visible).
/// Forced blocks first, then the best remaining scores that are neither −inf
/// nor NaN (ties to the lower index), never past `own`; written ascending and
/// padded with −1.
void emitTopkRow(KernelBuilder &kb, Value row, Value rowBase, Value blocks,
                 Value own, int64_t n, int64_t forceFirst, int64_t forceLast,
                 const SelectionOut &out);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_SKIMTOTILE_SELECTION_H
