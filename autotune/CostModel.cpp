//===- CostModel.cpp - a stage's time without a device --------------------===//
//
// Times are in µs inside, ms at the interface. The shape of the model:
//   per chunk (one tile × block_n keys): MMA, L2 copy, softmax ALU work,
//   and a fixed wait (barriers, copy completion) the tile sits through;
//   a processor interleaves its resident tiles, so a chunk costs it the
//   largest of MMA, copy, ALU and the tile's serial time over residency;
//   the grid takes the larger of its work spread over the processors and
//   its longest tile, and never less than its DRAM bytes.
//
//===----------------------------------------------------------------------===//

#include "autotune/CostModel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace skim::tune {

namespace {

/// GPU core clock, GHz (H100/H200 boost; close enough for MI300 and A100).
constexpr double kClockGHz = 1.8;
/// L2 serves tiles streaming the same keys (dense and windowed loops) at
/// this multiple of DRAM bandwidth (H200: ≈ 6 TB/s, from the 16-row tiles
/// of dense causal, which are copy-bound).
constexpr double kL2OverDram = 1.3;
/// Selection walks gather scattered blocks: the rate a packed tile gets
/// (its neighbours in the grid read the same blocks, so most come from L2),
/// and the rate when each head's tile walks a selection its GQA group
/// shares (the other heads' tiles run far away in the grid and re-read the
/// blocks from DRAM), both × DRAM bandwidth, measured on the H200
/// (bench/NOTES.md, 2026-12-02).
constexpr double kGatherOverDram = 0.65;
constexpr double kUnsharedGatherOverDram = 0.14;
/// What a chunk waits for besides its work (barriers, mbarrier or cp.async
/// completion, the loop's scalar code), µs.
constexpr double kChunkWaitUs = 0.35;
/// ALU instructions per score for mask, scale, exp2 and the row statistics.
constexpr double kSoftmaxOpsPerScore = 10;
/// Per tile: loading Q, storing O and LSE, the selection walk's setup, µs.
constexpr double kTileSetupUs = 1.5;
/// Tiles of more than one 64-row wgmma slice: a chunk costs (rows / 64)^e
/// times what the parts above say. Measured, not derived: skim's 128- and
/// 256-row kernels run fewer rows a second than its 64-row ones on the
/// H200 (more registers, fewer resident blocks, slices issued in turn), by
/// more on selection walks (bench/NOTES.md, 2026-12-02).
constexpr double kWideTileExponent = 0.7;
constexpr double kWideSelectionTileExponent = 1.4;
/// The model's pick replaces the default only when predicted this much
/// faster: near the top its error is larger than the gaps it would chase,
/// and the default is itself a measured heuristic.
constexpr double kPickMargin = 0.85;
/// How much of a random selection union a packed tile keeps: U = n · t^α.
constexpr double kUnionGrowth = 0.75;

double ceilDiv(double a, double b) { return std::ceil(a / b); }

/// Fraction of the MMA peak one chunk's matmuls reach.
double matmulEfficiency(const TileGeometry &g, const TargetModel &t) {
  double n = double(g.keysPerChunk);
  switch (t.unit) {
  case MatmulUnit::Wgmma:
    // 64-row slices issue as wgmma; wider N amortises the issue and the
    // shared-memory reads of A. Smaller tiles fall back to mma.sync.
    if (g.rows % 64 == 0)
      return n / (n + 48);
    return 0.45;
  case MatmulUnit::MmaSync:
  case MatmulUnit::Mfma:
    return 0.7 * n / (n + 32);
  case MatmulUnit::Cpu:
    return 0.5;
  }
  return 0.5;
}

} // namespace

double predictStageMs(const StageProblem &p, const TileGeometry &g,
                      const TargetModel &t) {
  if (g.rows == 0 || g.keysPerChunk == 0)
    return std::numeric_limits<double>::infinity();
  bool gpu = t.unit != MatmulUnit::Cpu;
  double bytes = p.elementBits / 8.0;
  int64_t group = p.group();
  double headTiles = g.heads == group ? p.kvHeads : p.queryHeads;
  double bn = double(g.keysPerChunk);

  // Tiles and the chunks each visits (on average and at most).
  double tiles, chunks, maxChunks;
  double pairs = 0; // KV-major: (token, block) pairs
  if (g.kvMajor) {
    pairs = double(p.batch) * p.kvHeads * p.tokens * p.entries;
    double blocks = double(p.batch) * p.kvHeads * ceilDiv(p.keys, p.kvBlock);
    tiles = pairs / g.tokens + blocks / 2;
    // Pass 1 (Q·Kᵀ for the LSE) and pass 2 (again, and P·V): count the
    // block twice.
    chunks = 2 * ceilDiv(p.kvBlock, bn);
    maxChunks = chunks;
  } else {
    tiles = double(p.batch) * headTiles * ceilDiv(p.tokens, g.tokens);
    if (p.selection) {
      double available = std::max(1.0, ceilDiv(p.keys, p.kvBlock) / 2);
      // A tile packs at most the tokens there are (decode has one).
      double tokensSharing =
          p.qBlock > 1 ? 1 : double(std::min(g.tokens, p.tokens));
      double unionBlocks = std::min(
          available, p.entries * std::pow(tokensSharing, kUnionGrowth));
      unionBlocks =
          std::max(unionBlocks, std::min<double>(p.entries, available));
      chunks = unionBlocks * ceilDiv(p.kvBlock, bn);
      maxChunks = std::min<double>(p.entries * tokensSharing,
                                   ceilDiv(p.keys, p.kvBlock)) *
                  ceilDiv(p.kvBlock, bn);
    } else {
      double offset = double(std::max<int64_t>(0, p.keys - p.tokens));
      double avgKeys =
          p.causal ? offset + p.tokens / 2.0 + g.tokens / 2.0 : double(p.keys);
      double maxKeys = double(p.keys);
      if (p.window) {
        avgKeys = std::min(avgKeys, double(p.window + g.tokens));
        maxKeys = std::min(maxKeys, double(p.window + g.tokens));
      }
      avgKeys += double(p.sink);
      maxKeys += double(p.sink);
      chunks = ceilDiv(avgKeys, bn) + (p.window ? 1 : 0);
      maxChunks = ceilDiv(maxKeys, bn) + (p.window ? 1 : 0);
    }
  }
  if (g.splitKv > 1) {
    tiles *= g.splitKv;
    chunks = ceilDiv(chunks, g.splitKv);
    maxChunks = ceilDiv(maxChunks, g.splitKv);
  }

  // One chunk on one processor.
  double flops = 2.0 * g.rows * bn * (p.headDim + p.valueDim);
  double peakPerProc =
      (g.matmulUnits ? t.matmulTflops : t.simtTflops) * 1e6 / t.processors;
  // Warps go to an SM's four sub-partitions by their slot, so the one warp
  // with rows in a CTA of four sits on the same sub-partition in every
  // resident CTA: mma.sync tiles of fewer 16-row m-tiles than warps reach
  // that share of the tensor cores and issue slots. CTAs of one or two
  // warps spread over all four.
  int64_t warps = std::max<int64_t>(1, g.threads / t.warpSize);
  int64_t mTiles = g.rows / 16;
  double subPartitionShare =
      gpu && g.matmulUnits && t.unit != MatmulUnit::Mfma && mTiles < warps
          ? double(std::min<int64_t>(mTiles, 4)) / 4
          : 1.0;
  double mmaUs =
      flops / (peakPerProc * matmulEfficiency(g, t) * subPartitionShare);
  double copyBytes = bn * (p.headDim + p.valueDim) * bytes;
  double copyRate = gpu ? kL2OverDram : 4;
  if (gpu && p.selection && !g.kvMajor)
    copyRate = g.heads == 1 && group > 1 && !p.perHeadSelection
                   ? kUnsharedGatherOverDram
                   : kGatherOverDram;
  double l2PerProc =
      t.bandwidthGBs * 1e3 * copyRate / t.processors; // bytes per µs
  double copyUs = copyBytes / l2PerProc;
  // The softmax's lanes: a processor's four sub-partitions, or the share
  // the idle warps leave (CTAs of one or two warps fill all four).
  double lanes = subPartitionShare < 1
                     ? 4.0 * t.warpSize * subPartitionShare
                     : double(std::max<int64_t>(g.threads, 4 * t.warpSize));
  double aluUs =
      gpu ? g.rows * bn * kSoftmaxOpsPerScore / (lanes * kClockGHz * 1e3) : 0;
  double waitUs = gpu ? kChunkWaitUs : 0.05;
  // A selection walk without prefetch waits for each chunk's K in full.
  if (p.selection && !g.prefetch)
    waitUs += copyUs;
  // A warp-specialised tile's copies run under its own work; with overlap
  // the softmax runs under the neighbouring matmuls.
  double exposedAluUs = g.overlap ? std::max(0.0, aluUs - mmaUs) : aluUs;
  double serialUs =
      mmaUs + exposedAluUs + waitUs + (g.warpSpecialized ? 0 : copyUs / 2);
  double resident = double(std::max<int64_t>(1, g.blocksPerProcessor));
  // Crowded onto some sub-partitions, the matmuls and the softmax share
  // their issue slots (measured: a 16-row tile in four warps 2x slower
  // than in one, bench/NOTES.md).
  double issueUs = subPartitionShare < 1 ? mmaUs + aluUs : 0;
  double perChunkUs =
      std::max({mmaUs, copyUs, aluUs, issueUs, serialUs / resident});
  if (g.rows > 64 && t.unit == MatmulUnit::Wgmma && g.matmulUnits) {
    double wide =
        std::pow(g.rows / 64.0,
                 p.selection ? kWideSelectionTileExponent : kWideTileExponent);
    perChunkUs *= wide;
    serialUs *= wide;
  }

  double tileUs = chunks * perChunkUs + kTileSetupUs / resident;
  double workUs = tiles * tileUs / t.processors;
  double longestUs = maxChunks * serialUs + kTileSetupUs;
  double gridUs = std::max(workUs, longestUs);

  // DRAM floor: Q, O and the keys and values the stage touches once.
  double qoBytes = double(p.batch) * p.tokens * p.queryHeads *
                   (p.headDim + p.valueDim) * bytes;
  double keysTouched =
      p.selection
          ? std::min<double>(p.keys, double(p.tokens) * p.entries * p.kvBlock)
          : double(p.keys);
  double kvBytes = double(p.batch) * p.kvHeads * keysTouched *
                   (p.headDim + p.valueDim) * bytes;
  double dramUs = (qoBytes + kvBytes) / (t.bandwidthGBs * 1e3);

  double extraUs = t.launchUs;
  if (g.splitKv > 1) // the parts' O and LSE in f32, then the merge
    extraUs += t.launchUs + 2.0 * double(p.batch) * p.tokens * p.queryHeads *
                                g.splitKv * p.valueDim * 4 /
                                (t.bandwidthGBs * 1e3);
  if (g.kvMajor) // inversion kernels, and P·V added atomically in f32
    extraUs += 6 * t.launchUs +
               pairs * group * p.valueDim * 4 * 2 / (t.bandwidthGBs * 1e3);
  return (std::max(gridUs, dramUs) + extraUs) / 1000.0;
}

size_t modelPick(const SearchSpace &space) {
  if (space.candidates.empty())
    return 0;
  size_t best = 0;
  for (size_t i = 1; i < space.candidates.size(); ++i)
    if (space.candidates[i].predictedMs < space.candidates[best].predictedMs)
      best = i;
  // candidates[0] is the default.
  double defaultMs = space.candidates[0].predictedMs;
  return space.candidates[best].predictedMs < kPickMargin * defaultMs ? best
                                                                      : 0;
}

double spearman(const std::vector<double> &a, const std::vector<double> &b) {
  size_t n = std::min(a.size(), b.size());
  if (n < 2)
    return 0;
  auto ranks = [n](const std::vector<double> &x) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t i, size_t j) { return x[i] < x[j]; });
    std::vector<double> r(n);
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j + 1 < n && x[order[j + 1]] == x[order[i]])
        ++j;
      double rank = (double(i) + double(j)) / 2 + 1;
      for (size_t k = i; k <= j; ++k)
        r[order[k]] = rank;
      i = j + 1;
    }
    return r;
  };
  std::vector<double> ra = ranks(a), rb = ranks(b);
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += ra[i];
    mb += rb[i];
  }
  ma /= double(n);
  mb /= double(n);
  double num = 0, da = 0, db = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) * (ra[i] - ma);
    db += (rb[i] - mb) * (rb[i] - mb);
  }
  return da == 0 || db == 0 ? 0 : num / std::sqrt(da * db);
}

} // namespace skim::tune
