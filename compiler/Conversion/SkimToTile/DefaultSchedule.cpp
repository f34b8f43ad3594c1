//===- DefaultSchedule.cpp - a stage's schedule when none is given --------===//

#include "Conversion/SkimToTile/DefaultSchedule.h"

using namespace mlir;
using namespace mlir::skim;

/// The SIMT lowering keeps the Q, K, V, S and O tiles in f32 in shared
/// memory, and a few f32 row statistics (64 × 64, D = 64: 83 200 bytes):
/// block_n (down to `minBlockN`), then block_m, halve until they fit
/// `budget`.
static void fitSimtTiles(AttentionOp op, int64_t budget, int64_t minBlockN,
                         int64_t &blockM, int64_t &blockN) {
  if (budget <= 0)
    return;
  int64_t d = cast<ShapedType>(op.getQuery().getType()).getShape().back(),
          dv = cast<ShapedType>(op.getValue().getType()).getShape().back();
  auto bytes = [&](int64_t m, int64_t n) {
    return (m * d + n * d + n * dv + m * n + m * dv) * 4 + m * 20;
  };
  while (bytes(blockM, blockN) > budget && blockN > minBlockN)
    blockN /= 2;
  while (bytes(blockM, blockN) > budget && blockM > 16)
    blockM /= 2;
}

/// Block_m 64, or `tensorCoreBlockM` (with `tensorCoreBlockN` and
/// `tensorCoreWarps`) for a 16-bit attention over key ranges that is not
/// NSA's fused scoring stage (whose score rows grow with the tile).
/// Selections keep 64: their per-row masks spill at 128 rows on sm_90a.
/// NSA's fused stage takes `nsaScoresBlock` square tiles (with a smaller
/// block_n where `simtSharedBudget` asks).
ScheduleAttr mlir::skim::defaultSchedule(AttentionOp op, bool nsaFused,
                                         const ScheduleDefaults &defaults) {
  MLIRContext *ctx = op.getContext();
  if (nsaFused) {
    int64_t blockM = defaults.nsaScoresBlock, blockN = defaults.nsaScoresBlock;
    fitSimtTiles(op, defaults.simtSharedBudget, 8, blockM, blockN);
    return ScheduleAttr::get(ctx, blockM, blockN, defaults.minWarps, 2,
                             LoopOrder::query_major, true, 1, 1, true, false,
                             Attribute());
  }
  Type type = cast<ShapedType>(op.getQuery().getType()).getElementType();
  bool sixteenBit = type.isBF16() || type.isF16();
  bool tensorCores = sixteenBit && !op.getIndices();
  // Per-token selections over a whole GQA group (NSA's: 16 rows a token)
  // pack tokens up to wgmma's M; each row keeps its own selection (the
  // tile walks the union).
  // Smaller groups (FSA's setting) would pack 64 / G ≥ 16 tokens whose
  // union of random selections is mostly masked work: the KV-major order
  // instead (H200, G = 4, 64k tokens, n = 16: 51 ms against 180 on random
  // selections, 46 against 42 on local ones; bench/NOTES.md).
  int64_t tokensPerTile = 1;
  LoopOrder order = LoopOrder::query_major;
  auto shape = cast<ShapedType>(op.getQuery().getType()).getShape();
  auto keys = cast<ShapedType>(op.getKey().getType()).getShape();
  MaskAttr mask = op.getMaskOrDefault();
  int64_t rows = defaults.wgmmaRows;
  if (sixteenBit && rows > 0 && op.getIndices() && op.getQBlock() == 1 &&
      !ShapedType::isDynamic(shape[2]) && !ShapedType::isDynamic(keys[2])) {
    int64_t group = shape[2] / keys[2];
    auto idxShape = cast<ShapedType>(op.getIndices().getType()).getShape();
    bool perHead = idxShape[2] == shape[2] && shape[2] != keys[2];
    if (!perHead && group >= 8 && rows % group == 0)
      tokensPerTile = rows / group;
    else if (!perHead && group >= 2 && rows % group == 0 && !mask.getWindow() &&
             !mask.getSink() && !ShapedType::isDynamic(idxShape[3]) &&
             idxShape[3] <= 64)
      order = LoopOrder::kv_major;
  }
  int64_t blockM = order == LoopOrder::kv_major ? rows
                   : tensorCores                ? defaults.tensorCoreBlockM
                                                : 64;
  int64_t blockN = tensorCores && order == LoopOrder::query_major
                       ? defaults.tensorCoreBlockN
                       : 64;
  int64_t warps = tensorCores && order == LoopOrder::query_major
                      ? defaults.tensorCoreWarps
                      : defaults.minWarps;
  // 16-bit selection walks run on the matrix cores too (K and V in 16-bit
  // LDS, the rest in registers; MFMA wants whole 16-key blocks): they fit
  // the same estimate against the whole LDS (32 x 16 at D = 128, 8.7 KB of
  // LDS). SIMT kernels fit half of it, for two workgroups a CU.
  if (sixteenBit && defaults.tensorCoreAttention && !tensorCores)
    fitSimtTiles(op, 2 * defaults.simtSharedBudget, 16, blockM, blockN);
  else if (!(tensorCores && defaults.tensorCoreAttention))
    fitSimtTiles(op, defaults.simtSharedBudget, 8, blockM, blockN);
  return ScheduleAttr::get(ctx, blockM, blockN, warps, 2, order, true,
                           tokensPerTile, 1, true, false, Attribute());
}
