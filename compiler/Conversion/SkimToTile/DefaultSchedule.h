//===- DefaultSchedule.h - a stage's schedule when none is given -*- C++
//-*-===//
//
// The heuristic table of ARCHITECTURE.md §3: what skim-tile uses for an
// attention without `#skim.schedule`. The autotuner starts from it, measures
// it as the baseline and predicts its cost, so it lives apart from the pass.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_SKIMTOTILE_DEFAULTSCHEDULE_H
#define SKIM_CONVERSION_SKIMTOTILE_DEFAULTSCHEDULE_H

#include "Skim/IR/SkimOps.h"

namespace mlir::skim {

/// The target's numbers the heuristic reads (skim-tile's options of the
/// same names; Pipeline.h's scheduleDefaultsFor gives each target's).
struct ScheduleDefaults {
  /// block_m, block_n and warps of 16-bit attention over key ranges.
  int64_t tensorCoreBlockM = 64;
  int64_t tensorCoreBlockN = 64;
  int64_t tensorCoreWarps = 4;
  /// Rows of one warpgroup MMA (64 on sm_90a), 0 for none.
  int64_t wgmmaRows = 0;
  /// block_m = block_n of NSA's fused compressed stage.
  int64_t nsaScoresBlock = 64;
  /// Targets with little shared memory (AMD's 64 KB of LDS): the shared
  /// memory a SIMT kernel may use. block_n (down to 8), then block_m (down
  /// to 16), halve until the SIMT tiles fit; 0: no limit.
  int64_t simtSharedBudget = 0;
  /// The fewest warps a CTA has (AMD: 8, four wave64 waves): the warps of
  /// the other stages.
  int64_t minWarps = 4;
  /// 16-bit attention over key ranges runs on the matrix cores (registers,
  /// and K and V in 16-bit shared memory), so simt-shared-budget leaves it
  /// alone.
  bool tensorCoreAttention = true;
};

/// The schedule skim-tile gives `op` when it has none. `nsaFused`: the op is
/// NSA's compressed attention fused with its block scores and top-n.
ScheduleAttr defaultSchedule(AttentionOp op, bool nsaFused,
                             const ScheduleDefaults &defaults);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_SKIMTOTILE_DEFAULTSCHEDULE_H
