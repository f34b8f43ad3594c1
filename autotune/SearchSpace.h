//===- SearchSpace.h - the schedules worth trying for a stage ---*- C++ -*-===//
//
// Every combination of the schedule's fields (block_m, block_n, warps,
// order, pack_gqa, tokens_per_tile, split_kv, prefetch, overlap, the sm_90a
// warpgroup split)
// is enumerated, reduced to the kernel it would build (the tile geometry
// skim-tile derives from it), and pruned before anything compiles: by the
// rules skim-tile and the lowerings enforce, by the resource model (shared
// memory, fragment registers, MMA minimums) and by equivalence (two
// schedules that build the same kernel are one candidate). Each pruning
// reason is counted, so `skim tune --dry-run` can say what went where.
//
// `stages` is not enumerated: skim-tile does not read it yet (one buffer a
// tile, docs/TileLevel.md §6.3), so every value would build the same kernel.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_SEARCHSPACE_H
#define SKIM_AUTOTUNE_SEARCHSPACE_H

#include "autotune/Stage.h"
#include "autotune/TargetModel.h"

#include <map>
#include <string>
#include <vector>

namespace skim::tune {

/// The kernel a schedule builds for a stage, as far as cost and resources
/// go.
struct TileGeometry {
  /// Query rows a tile: tokens × heads.
  int64_t rows = 0, tokens = 0, heads = 0;
  /// Keys a chunk of the key loop.
  int64_t keysPerChunk = 0;
  /// Consumer threads (warps × warp size) and the CTA's (plus a producer
  /// warpgroup when warp-specialised).
  int64_t threads = 0, blockThreads = 0;
  bool kvMajor = false;
  /// Tile matmuls on MMA units (16-bit on a GPU), else SIMT or CPU loops.
  bool matmulUnits = false;
  bool warpSpecialized = false;
  int64_t splitKv = 1;
  /// sm_90a: selection walks prefetch the next chunk's K; the softmax runs
  /// under the neighbouring chunks' matmuls.
  bool prefetch = true, overlap = false;
  /// AMD: the schedule's #skim.amd part in short ("" for the chip's
  /// default instruction and occupancy).
  std::string amdPart;
  /// Resource estimates: shared memory a block, f32 fragment registers a
  /// consumer thread, registers a thread at launch, blocks a processor.
  int64_t sharedBytes = 0, fragmentRegisters = 0, launchRegisters = 0;
  int64_t blocksPerProcessor = 0;

  /// Identifies the kernel: equal keys build the same code.
  std::string key() const;
};

struct Candidate {
  /// The schedule to attach; null for the compiler's default.
  mlir::skim::ScheduleAttr schedule;
  TileGeometry geometry;
  /// The cost model's estimate for the stage alone, in ms.
  double predictedMs = 0;
};

struct SearchSpace {
  std::string stage;
  /// The default first, then the survivors of pruning in model order
  /// (fastest predicted first).
  std::vector<Candidate> candidates;
  /// Schedules enumerated before pruning.
  int64_t enumerated = 0;
  /// Why the others were dropped, with counts.
  std::map<std::string, int64_t> pruned;
};

/// The geometry and resources of `schedule` on `stage`, or an empty
/// optional with `why` set when the compiler would refuse it or the
/// resource model rules it out.
std::optional<TileGeometry> geometryOf(const StageProblem &stage,
                                       mlir::skim::ScheduleAttr schedule,
                                       const TargetModel &target,
                                       std::string &why);

/// The pruned space of one stage (its default schedule is `defaultSchedule`).
SearchSpace buildSearchSpace(mlir::MLIRContext *context,
                             const StageProblem &stage,
                             mlir::skim::ScheduleAttr defaultSchedule,
                             const TargetModel &target);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_SEARCHSPACE_H
