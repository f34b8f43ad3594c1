//===- SearchSpace.cpp - the schedules worth trying for a stage -----------===//
//
// geometryOf mirrors what skim-tile derives from a schedule
// (AttentionEmitter::setUpGeometry, the KV-major and split-KV refusals) and
// what the lowerings need (FragmentLowering's MMA rules and register budget,
// WarpSpecialize's register split). It only has to be right about which
// schedules are worth compiling: a candidate it lets through that the
// compiler refuses still scores +inf with the compiler's reason.
//
//===----------------------------------------------------------------------===//

#include "autotune/SearchSpace.h"
#include "autotune/CostModel.h"

#include <algorithm>
#include <numeric>
#include <set>

using namespace mlir;
using namespace mlir::skim;

namespace skim::tune {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The largest power of two dividing `x`, at most `cap`.
int64_t largestPow2Dividing(int64_t x, int64_t cap) {
  int64_t p = 1;
  while (p * 2 <= cap && x % (p * 2) == 0)
    p *= 2;
  return p;
}

/// Registers a thread keeps besides its fragments (addresses, loop state,
/// softmax statistics), from ptxas's counts of the default kernels.
constexpr int64_t kScalarRegisters = 40;
/// Fragment registers ptxas need not keep live at once (see the split).
constexpr int64_t kLiveRangeSlack = 32;
/// The thread count of a warpgroup (sm_90a's producer).
constexpr int64_t kWarpgroup = 128;

} // namespace

std::string TileGeometry::key() const {
  return std::to_string(rows) + "r" + std::to_string(tokens) + "t" +
         std::to_string(heads) + "h" + std::to_string(keysPerChunk) + "n" +
         std::to_string(threads) + "w" + (kvMajor ? "kv" : "qm") + "s" +
         std::to_string(splitKv) + (warpSpecialized ? "ws" : "") +
         (prefetch ? "" : "np") + (overlap ? "ov" : "") + amdPart + "/" +
         std::to_string(launchRegisters);
}

std::optional<TileGeometry> geometryOf(const StageProblem &p, ScheduleAttr s,
                                       const TargetModel &target,
                                       std::string &why) {
  TileGeometry g;
  int64_t group = p.group();
  bool gpu = target.unit != MatmulUnit::Cpu;
  auto sm90 = dyn_cast_or_null<Sm90ScheduleAttr>(s.getTarget());
  auto amd = dyn_cast_or_null<AmdScheduleAttr>(s.getTarget());
  bool perTokenSelection = p.selection && p.qBlock == 1;
  bool matrixCores = target.unit == MatmulUnit::Mfma;
  if (amd && !matrixCores) {
    why = "the AMD part needs an AMD target";
    return std::nullopt;
  }
  bool rdna = target.name == "gfx1100";
  if (amd &&
      (amd.getWaveSize() != target.warpSize || (rdna && amd.getMmaM() != 16))) {
    why = "the AMD part asks for a wave size or instruction the chip lacks";
    return std::nullopt;
  }

  if (matrixCores && s.getWarps() < 8) {
    why = "AMD workgroups have at least 8 warps (four wave64 waves: the "
          "pipeline's floor)";
    return std::nullopt;
  }

  // skim-tile's refusals.
  g.kvMajor = s.getOrder() == LoopOrder::kv_major;
  if (g.kvMajor) {
    if (!perTokenSelection || p.window || p.sink || s.getSplitKv() != 1 ||
        p.entries > 64) {
      why = "order = kv_major needs per-token selections of at most 64 "
            "entries, without window, sink or split_kv";
      return std::nullopt;
    }
    if (p.perHeadSelection || s.getBlockM() % group != 0) {
      why = "order = kv_major packs whole GQA groups: block_m must be a "
            "multiple of the group";
      return std::nullopt;
    }
  }
  if (s.getTokensPerTile() > 1 && (!perTokenSelection || g.kvMajor)) {
    why = "tokens_per_tile applies to per-token selections in query-major "
          "order";
    return std::nullopt;
  }
  if (s.getSplitKv() > 1 && p.nsaCompressed) {
    why = "split_kv does not apply to NSA's compressed stage";
    return std::nullopt;
  }
  if (!s.getPackGqa() && (p.nsaCompressed || g.kvMajor || group == 1)) {
    why = "pack_gqa = false builds the same kernel here";
    return std::nullopt;
  }

  // The tile, as AttentionEmitter::setUpGeometry derives it.
  g.heads =
      (s.getPackGqa() && !p.perHeadSelection) || p.nsaCompressed ? group : 1;
  int64_t tokens = std::max<int64_t>(1, s.getBlockM() / g.heads);
  if (g.kvMajor)
    tokens = s.getBlockM() / group;
  else if (!p.selection)
    tokens = largestPow2Dividing(tokens, int64_t(1) << 20);
  else if (p.qBlock > 1)
    tokens = largestPow2Dividing(tokens, p.qBlock);
  else if (s.getTokensPerTile() > 1)
    tokens = s.getTokensPerTile();
  else
    tokens = g.heads < 8 ? std::min<int64_t>(16, tokens) : 1;
  g.tokens = tokens;
  g.rows = tokens * g.heads;
  g.keysPerChunk = s.getBlockN();
  if (p.selection)
    g.keysPerChunk = std::gcd(s.getBlockN(), p.kvBlock);
  g.splitKv = s.getSplitKv();
  // A schedule's warps are 32-lane groups on every GPU (on wave64 chips
  // two make a wave).
  g.threads = s.getWarps() * (gpu ? 32 : 1);
  g.matmulUnits = gpu && p.elementBits == 16 && !p.nsaCompressed;
  bool wgmmaTile =
      target.unit == MatmulUnit::Wgmma && g.matmulUnits && g.rows % 64 == 0;
  // prefetch and overlap only change sm_90a kernels: selection walks of 64
  // rows or more, and wgmma tiles.
  g.prefetch = s.getPrefetch();
  g.overlap = s.getOverlap();
  if (!g.prefetch && (g.overlap || !(wgmmaTile && p.selection && !g.kvMajor))) {
    why = "prefetch = false only changes sm_90a selection walks of 64 rows "
          "or more without overlap";
    return std::nullopt;
  }
  if (g.overlap && !wgmmaTile) {
    why = "overlap only changes sm_90a wgmma tiles";
    return std::nullopt;
  }

  if (!gpu) {
    if (s.getWarps() != 4 || sm90) {
      why = "warps and the sm_90a part do not apply to the CPU";
      return std::nullopt;
    }
    if (g.rows * g.keysPerChunk > 256 * 256) {
      why = "the tile's scores pass 256 KB (over the cache a core has)";
      return std::nullopt;
    }
  }

  // MMA minimums: 16-row m-tiles dealt evenly to the warps, n a multiple
  // of 8 (wgmma: at most 256), K tiles whole swizzle panels. AMD: the
  // instruction's R x R blocks (R = 32 for MFMA 32x32x8, the CDNA default;
  // 16 otherwise) dealt to the waves, key chunks of whole blocks.
  if (g.matmulUnits && matrixCores) {
    int64_t r = amd ? amd.getMmaM() : rdna ? 16 : 32;
    int64_t waves = std::max<int64_t>(1, g.threads / target.warpSize);
    g.amdPart = amd ? "mma" + std::to_string(r) + "we" +
                          std::to_string(amd.getWavesPerEu())
                    : "";
    if (g.rows % r != 0 || g.keysPerChunk % r != 0) {
      why = "the tile's rows or block_n are not whole MFMA/WMMA blocks";
      return std::nullopt;
    }
    if ((g.rows / r) % waves != 0) {
      why = "more waves than the tile's MFMA/WMMA row blocks share evenly";
      return std::nullopt;
    }
  } else if (g.matmulUnits) {
    if (g.rows % 16 != 0) {
      why = "the tile's rows are not a multiple of the MMA's 16";
      return std::nullopt;
    }
    // Four warps run any tile (warps without an m-tile idle, as in the
    // 16-row decode tile); more only where each gets its share. Fewer suit
    // tiles of 16 or 32 rows, but a wgmma tile needs its warpgroup.
    if (s.getWarps() != 4 && (g.rows / 16) % s.getWarps() != 0) {
      why = "more warps than the tile's 16-row MMA tiles share evenly";
      return std::nullopt;
    }
    if (s.getWarps() < 4 && wgmmaTile) {
      why = "a wgmma tile needs a warpgroup (4 warps)";
      return std::nullopt;
    }
    if (g.keysPerChunk % 16 != 0 || g.keysPerChunk > 256) {
      why = "block_n is not a multiple of 16 up to 256";
      return std::nullopt;
    }
  } else if (gpu && s.getWarps() < 4) {
    why = "fewer than 4 warps only for NVIDIA tensor-core tiles";
    return std::nullopt;
  } else if (gpu && g.rows * g.keysPerChunk < g.threads) {
    why = "fewer scores a chunk than threads";
    return std::nullopt;
  }

  // Shared memory: Q, K and V tiles (P staged for wgmma's P·V), and NSA's
  // SIMT stage keeps its scores there too.
  int64_t bytes = p.elementBits / 8;
  g.sharedBytes = (g.rows * p.headDim + g.keysPerChunk * p.headDim +
                   g.keysPerChunk * p.valueDim) *
                  bytes;
  if (target.unit == MatmulUnit::Wgmma && g.matmulUnits)
    g.sharedBytes += g.rows * g.keysPerChunk * 2;
  if (p.nsaCompressed)
    g.sharedBytes += g.rows * g.keysPerChunk * 4 + g.rows * 48 * 32;
  if (p.selection)
    g.sharedBytes += g.tokens * p.entries * 8;
  if (gpu && g.sharedBytes > target.sharedBytesPerBlock) {
    why = "shared memory: the tiles need more than a block may have";
    return std::nullopt;
  }

  // Registers: O and S fragments spread over the consumer threads.
  if (g.matmulUnits) {
    // O and S; overlap keeps a second S (the next chunk's scores).
    g.fragmentRegisters =
        ceilDiv(g.rows * (p.valueDim + g.keysPerChunk * (g.overlap ? 2 : 1)),
                g.threads);
    int64_t budget = target.fragmentRegisterBudget;
    if (sm90)
      budget = std::min(budget, sm90.getConsumerRegs() - kScalarRegisters);
    if (g.fragmentRegisters > budget) {
      why = "registers: the O and S fragments pass the budget a thread has";
      return std::nullopt;
    }
  }
  g.launchRegisters =
      std::min(target.maxRegistersPerThread,
               gpu ? g.fragmentRegisters + kScalarRegisters : int64_t(0));

  // The sm_90a warpgroup split (WarpSpecialize's rules).
  g.blockThreads = g.threads;
  if (sm90) {
    if (target.unit != MatmulUnit::Wgmma) {
      why = "the sm_90a part needs the sm_90a target";
      return std::nullopt;
    }
    if (!g.matmulUnits || p.selection) {
      why = "warp specialisation: the producer cannot compute this kernel's "
            "copy coordinates (selection walks, SIMT kernels)";
      return std::nullopt;
    }
    if (target.unit == MatmulUnit::Wgmma && g.rows % 64 != 0) {
      why = "warp specialisation: tiles under 64 rows take mma.sync and "
            "cp.async, so no TMA copy is left for a producer";
      return std::nullopt;
    }
    if (sm90.getConsumerWarpgroups() * kWarpgroup != g.threads) {
      why = "consumer_warpgroups must match warps / 4";
      return std::nullopt;
    }
    if (sm90.getCluster() != 1) {
      why = "thread-block clusters are not implemented";
      return std::nullopt;
    }
    g.warpSpecialized = true;
    g.blockThreads = g.threads + kWarpgroup;
    int64_t launch = (g.threads * sm90.getConsumerRegs() +
                      kWarpgroup * sm90.getProducerRegs()) /
                     g.blockThreads;
    launch = ceilDiv(launch, 8) * 8;
    if (launch > target.maxRegistersPerThread ||
        launch * g.blockThreads > target.registersPerProcessor ||
        sm90.getProducerRegs() > sm90.getConsumerRegs()) {
      why = "the register split does not fit an SM";
      return std::nullopt;
    }
    // ptxas compiles the whole kernel within the launch count; the
    // fragments' live range lets it use about 32 fewer than they hold
    // (ptxas asked 158 for 192 fragment registers at 64 × 256).
    if (g.fragmentRegisters - kLiveRangeSlack > launch) {
      why = "the register split's launch count is below what the "
            "fragments need";
      return std::nullopt;
    }
    g.launchRegisters = launch;
  }
  if (g.blockThreads > target.maxThreadsPerBlock) {
    why = "more threads than a block may have";
    return std::nullopt;
  }

  // Blocks a processor holds at once.
  int64_t blocks = target.maxThreadsPerProcessor / g.blockThreads;
  if (g.sharedBytes > 0)
    blocks = std::min(blocks, target.sharedBytesPerProcessor / g.sharedBytes);
  if (gpu && g.launchRegisters > 0)
    blocks = std::min(blocks, target.registersPerProcessor /
                                  (g.launchRegisters * g.blockThreads));
  g.blocksPerProcessor = std::max<int64_t>(blocks, gpu ? 0 : 1);
  if (g.blocksPerProcessor == 0) {
    why = "no block fits a processor";
    return std::nullopt;
  }

  // Split-KV only where the grid leaves the device idle, and never into
  // parts of less than one chunk each.
  if (g.splitKv > 1) {
    int64_t headTiles = g.heads == group ? p.kvHeads : p.queryHeads;
    int64_t tiles = p.batch * headTiles * ceilDiv(p.tokens, g.tokens);
    if (tiles >= 2 * target.processors * g.blocksPerProcessor) {
      why = "split_kv: the grid fills the device without it";
      return std::nullopt;
    }
    int64_t keys = p.selection ? p.entries * p.kvBlock : p.keys;
    if (g.splitKv * g.keysPerChunk > keys) {
      why = "split_kv: more parts than key chunks";
      return std::nullopt;
    }
  }
  return g;
}

SearchSpace buildSearchSpace(MLIRContext *ctx, const StageProblem &p,
                             ScheduleAttr defaultSchedule,
                             const TargetModel &target) {
  SearchSpace space;
  space.stage = p.stage;
  std::set<std::string> seen;

  // The default goes first: it is the baseline every result is reported
  // against, and measured even when the model dislikes it.
  {
    std::string why;
    Candidate c;
    if (auto g = geometryOf(p, defaultSchedule, target, why)) {
      c.geometry = *g;
      seen.insert(g->key());
    }
    c.predictedMs = predictStageMs(p, c.geometry, target);
    space.candidates.push_back(c);
  }

  bool wgmma = target.unit == MatmulUnit::Wgmma;
  // The target parts: sm_90a's two warpgroup splits; on AMD, MFMA
  // 16x16x16 (CDNA, whose default is 32x32x8) and one wave per EU (the
  // register file of the SIMD to one wave, for tiles that would spill).
  auto targetParts = [&](int64_t warps) {
    std::vector<Attribute> parts = {Attribute()};
    if (wgmma)
      for (int split = 1; split <= 2; ++split)
        parts.push_back(Sm90ScheduleAttr::get(ctx, warps / 4,
                                              split == 1 ? 40 : 24,
                                              split == 1 ? 232 : 240, 1));
    if (target.unit == MatmulUnit::Mfma) {
      // CDNA's default is MFMA 32x32x8; RDNA3 has WMMA 16x16x16 alone,
      // in wave32 or wave64 (the compile's --amd-wave-size).
      bool rdna = target.name == "gfx1100";
      int64_t wave = target.warpSize, r = rdna ? 16 : 32;
      if (!rdna)
        parts.push_back(AmdScheduleAttr::get(ctx, 16, 16, 16, 2, wave));
      parts.push_back(AmdScheduleAttr::get(ctx, r, r, r == 32 ? 8 : 16, 1, wave));
    }
    return parts;
  };
  std::vector<Candidate> survivors;
  // Each list starts at the schedule's defaults, so that of the schedules
  // building one kernel the one kept spells the fewest fields.
  for (int64_t blockM : {64, 128, 16, 32, 192, 256})
    for (int64_t blockN : {64, 128, 16, 32, 192, 256})
      for (int64_t warps : {4, 8, 1, 2})
        for (bool packGqa : {true, false})
          for (int64_t tokensPerTile : {1, 2, 4, 8, 16})
            for (LoopOrder order :
                 {LoopOrder::query_major, LoopOrder::kv_major})
              for (int64_t splitKv : {1, 2, 4, 8, 16})
                for (Attribute part : targetParts(warps))
                  for (bool prefetch : {true, false})
                    for (bool overlap : {false, true}) {
                      ++space.enumerated;
                      auto schedule = ScheduleAttr::get(
                          ctx, blockM, blockN, warps, /*stages=*/2, order,
                          packGqa, tokensPerTile, splitKv, prefetch, overlap,
                          part);
                      std::string why;
                      std::optional<TileGeometry> g =
                          geometryOf(p, schedule, target, why);
                      if (!g) {
                        ++space.pruned[why];
                        continue;
                      }
                      if (!seen.insert(g->key()).second) {
                        ++space.pruned["builds the same kernel as another "
                                       "candidate"];
                        continue;
                      }
                      Candidate c;
                      c.schedule = schedule;
                      c.geometry = *g;
                      c.predictedMs = predictStageMs(p, *g, target);
                      survivors.push_back(c);
                    }
  std::stable_sort(survivors.begin(), survivors.end(),
                   [](const Candidate &a, const Candidate &b) {
                     return a.predictedMs < b.predictedMs;
                   });
  space.candidates.insert(space.candidates.end(), survivors.begin(),
                          survivors.end());
  return space;
}

} // namespace skim::tune
