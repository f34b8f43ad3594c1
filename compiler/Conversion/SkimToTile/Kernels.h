//===- Kernels.h - the tile kernels skim-tile emits -------------*- C++ -*-===//
//
// One function per kind of stage. Each takes a spec of static parameters
// (head dims, group size, block sizes, schedule) and the plan buffers it
// reads and writes, emits a skim_tile kernel and returns its plan entry.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_SKIMTOTILE_KERNELS_H
#define SKIM_CONVERSION_SKIMTOTILE_KERNELS_H

#include "Conversion/SkimToTile/KernelBuilder.h"

#include <limits>
#include <optional>

namespace mlir::skim {

/// The numbers of base-2 softmax: scores carry log2 e, LSEs leave as ln 2.
inline constexpr double kLog2e = 1.4426950408889634;
inline constexpr double kLn2 = 0.6931471805599453;
inline constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// The largest power of two that divides `heads` and is at most `cap`: the
/// heads one program of a per-token kernel takes.
inline int64_t headsPerProgram(int64_t heads, int64_t cap) {
  int64_t hb = 1;
  while (hb * 2 <= cap && heads % (hb * 2) == 0)
    hb *= 2;
  return hb;
}

/// A tensor the kernel reads or writes: its plan buffer and element type.
struct BufferRef {
  int id = -1;
  Type elementType;
  explicit operator bool() const { return id >= 0; }
};

/// How rows of a query tile are formed: `tokens` query tokens times `heads`
/// query heads of one GQA group (heads = G with pack_gqa, else 1).
struct TileRows {
  int64_t tokens = 1;
  int64_t heads = 1;
  int64_t rows() const { return tokens * heads; }
};

struct AttentionSpec {
  BufferRef q, k, v, out, lse, indices, counts;
  SizeExpr kvTokens; // L; empty = S
  int64_t d = 0, dv = 0, hq = 0, hkv = 0, entries = 0;
  bool selectionPerHead = false;
  bool causal = false;
  int64_t window = 0, sink = 0;
  double scale = 1.0;
  std::optional<double> softcap;
  int64_t keyStride = 1, keyOffset = 0, kvBlock = 0, qBlock = 1;
  int64_t blockM = 64, blockN = 64;
  bool packGqa = true;
  /// Tokens per tile when each token has its own selection; 1 = decide.
  int64_t tokensPerTile = 1;
  /// split_kv: the grid's batch dimension is B × splitKv; CTA (…, z) takes
  /// batch z % B and the (z / B)-th of splitKv contiguous parts of every key
  /// loop, and writes O and LSE of its part at batch z of `out` and `lse`
  /// (f32 workspace a merge kernel combines).
  int64_t splitKv = 1;
  /// Key-range loops software-pipelined for asynchronous matrix units:
  /// Q·Kᵀ of the next chunk is asked for before P·V of this one, so the
  /// softmax of one chunk can run while the other's matmuls do.
  bool overlapSoftmax = false;
  /// Selection loops walk their chunks flattened (entry, chunk), asking for
  /// the next chunk's K once Q·Kᵀ is done with this one's.
  bool prefetchSelections = false;
};

/// The NSA selection that follows a compressed attention in the same kernel:
/// p_cmp from the tile's own LSE, remapped to selection blocks (Eq. 9),
/// summed over the group (Eq. 10), then the top n per token.
struct NsaSelectionSpec {
  BufferRef indices, counts;
  int64_t cmpBlock = 32, cmpStride = 16, selBlock = 64;
  int64_t n = 16, forceFirst = 1, forceLast = 2;
};

PlanKernel emitAttentionKernel(ModuleOp module, StringRef name, Location loc,
                               const AttentionSpec &spec,
                               const NsaSelectionSpec *nsa = nullptr);

/// The KV-major order of a per-token selection attention (FSA's): the
/// selection inverted into per-block token lists, then two passes over work
/// items of one block and up to `tokensPerItem` of its tokens
/// (KvMajorKernels.cpp). Workspace, per batch b and selection head o:
struct KvMajorSpec {
  AttentionSpec attention;
  BufferRef blockCount;  // i32 [B, H', blocks], zeroed: tokens per block
  BufferRef blockStart;  // i32 [B, H', blocks + 1]: list start per block
  BufferRef itemStart;   // i32 [B, H', blocks + 1]: first work item per block
  BufferRef work;        // i32 [B, H', items, 3]: block, first entry, entries
  BufferRef listToken;   // i32 [B, H', T·n]: the tokens, block after block
  BufferRef listSlot;    // i32 [B, H', T·n]: the slot each chose the block in
  BufferRef slotLse;     // f32 [B, T·n, Hq]: base-2 LSE per (token, slot)
  BufferRef rowLse;      // f32 [B, T, Hq]: base-2 LSE per row
  BufferRef partialOut;  // f32 [B, T, Hq, Dv], zeroed: O summed by pass 2
  int64_t tokensPerTile = 4;
  int64_t tokensPerItem = 32;
};

/// The kernels of the KV-major order, in launch order; `name` makes each
/// kernel's name from its role.
std::vector<PlanKernel>
emitKvMajorAttention(ModuleOp module, Location loc, const KvMajorSpec &spec,
                     const std::function<std::string(StringRef)> &name);

struct PoolSpec {
  BufferRef input, weights, posEmb, out;
  bool linear = false;
  int64_t block = 32, stride = 16, d = 0, dout = 0, heads = 0;
  /// Most input rows a mean pool loads at once.
  int64_t chunk = 64;
};
PlanKernel emitPoolKernel(ModuleOp module, StringRef name, Location loc,
                          const PoolSpec &spec);

/// MoBA block scores per query head, then (when `indices` is set) the top n
/// of each row in the same kernel; otherwise the scores are stored.
struct MobaScoresSpec {
  BufferRef q, keys, scores, indices, counts;
  SizeExpr kvTokens;
  int64_t d = 0, hq = 0, hkv = 0, block = 512;
  double scale = 1.0;
  int64_t n = 3, forceFirst = 0, forceLast = 1;
  /// Mean keys a chunk of the scoring loop.
  int64_t keysPerChunk = 64;
  /// Rows a tile aims at: whole GQA groups of max(1, tileRows / G) tokens.
  int64_t tileRows = 64;
};
PlanKernel emitMobaScoresKernel(ModuleOp module, StringRef name, Location loc,
                                const MobaScoresSpec &spec);

struct TopkSpec {
  BufferRef scores, indices, counts;
  SizeExpr kvTokens;
  int64_t heads = 0, blocks = 0, n = 1, block = 64, forceFirst = 0, forceLast = 0;
};
PlanKernel emitTopkKernel(ModuleOp module, StringRef name, Location loc,
                          const TopkSpec &spec);

struct CombineSpec {
  std::vector<BufferRef> outputs, gates, lses;
  /// Per input, a multiple of B added to the batch index (split_kv's parts
  /// share one buffer, part i at batches i·B ..); empty = none.
  std::vector<int64_t> batchParts;
  BufferRef out, lse;
  int64_t heads = 0, dv = 0;
  bool merge = false;
};
PlanKernel emitCombineKernel(ModuleOp module, StringRef name, Location loc,
                             const CombineSpec &spec);
/// split_kv's merge: `spec.outputs` and `spec.lses` are one buffer each,
/// part i at batch i·B (batchParts 0, 1, ...); one query head a program.
PlanKernel emitSplitMergeKernel(ModuleOp module, StringRef name, Location loc,
                                const CombineSpec &spec);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_SKIMTOTILE_KERNELS_H
