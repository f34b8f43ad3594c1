//===- Reference.h - plain reference for skim ops ---------------*- C++ -*-===//
//
// The plain C++ reference for skim's tensor-level ops, written literally
// from ARCHITECTURE.md section 2. Every kernel, pass and runtime test compares
// against these functions, so they are meant to be trusted by reading: plain
// loops over the contract's formulas, double accumulation, no tiling, no
// threads, and no LLVM or MLIR so that any test binary can link them.
//
// Layouts (row-major, contiguous, f32):
//   Q [B, T, Hq, D]   K [B, S, Hkv, D]   V [B, S, Hkv, Dv]
//   O [B, T, Hq, Dv]  LSE [B, Hq, T] (natural log)
// G = Hq / Hkv; query head h reads KV head h / G.
// Query row t sits at position p = t + L - T (L = kvTokens, default S);
// key s sits at pos(s) = s * keyStride + keyOffset.
//
// Bad arguments (shapes, head counts, block sizes, scales) never abort: each
// function returns an Expected whose error names the operand and the value.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_TESTS_REFERENCE_REFERENCE_H
#define SKIM_TESTS_REFERENCE_REFERENCE_H

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace skim::ref {

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// Number of elements of a shape (1 for rank 0).
int64_t numelOf(const std::vector<int64_t> &shape);

/// A dense row-major tensor. It stays an aggregate so tests can write
/// `Tensor{{1, 2}, {0.5f, 1.5f}}`.
template <typename T> struct TensorOf {
  std::vector<int64_t> shape;
  std::vector<T> data;

  /// A tensor of `shape` with every element equal to `fill`.
  static TensorOf filled(std::vector<int64_t> shape, T fill) {
    TensorOf result;
    result.data.assign(static_cast<size_t>(numelOf(shape)), fill);
    result.shape = std::move(shape);
    return result;
  }
  static TensorOf zeros(std::vector<int64_t> shape) {
    return filled(std::move(shape), T(0));
  }

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const { return numelOf(shape); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i)]; }

  /// Row-major offset of a full index. Out-of-range indices are bugs in the
  /// caller, not bad user input, hence assert rather than an error.
  int64_t offset(std::initializer_list<int64_t> index) const {
    assert(index.size() == shape.size() && "index rank != tensor rank");
    int64_t result = 0;
    size_t i = 0;
    for (int64_t idx : index) {
      assert(idx >= 0 && idx < shape[i] && "index out of range");
      result = result * shape[i] + idx;
      ++i;
    }
    return result;
  }
  T &at(std::initializer_list<int64_t> index) {
    return data[static_cast<size_t>(offset(index))];
  }
  const T &at(std::initializer_list<int64_t> index) const {
    return data[static_cast<size_t>(offset(index))];
  }
};

using Tensor = TensorOf<float>;
using IndexTensor = TensorOf<int32_t>;

/// "[2, 3, 4]", for error messages.
std::string formatShape(const std::vector<int64_t> &shape);

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

struct Error {
  std::string message;
};

/// A result or the reason there is none. Errors are values, not aborts, so a
/// test can check that a bad argument is rejected with the right message.
template <typename T> class Expected {
public:
  Expected(T value) : stored(std::move(value)) {}
  Expected(Error error) : message(std::move(error.message)) {}

  bool ok() const { return stored.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string &error() const { return message; }

  T &operator*() {
    assert(ok() && "dereferencing an error");
    return *stored;
  }
  const T &operator*() const {
    assert(ok() && "dereferencing an error");
    return *stored;
  }
  T *operator->() { return &**this; }
  const T *operator->() const { return &**this; }

private:
  std::optional<T> stored;
  std::string message;
};

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

/// Queries are aligned to the end of the L tokens: row t of T sits at
/// t + L - T, so decode (T = 1) and chunked prefill are the same op.
inline int64_t queryPosition(int64_t row, int64_t numRows, int64_t kvTokens) {
  return row + kvTokens - numRows;
}

/// Number of complete blocks of `block` tokens every `stride` tokens.
inline int64_t poolCount(int64_t tokens, int64_t block, int64_t stride) {
  return tokens >= block ? (tokens - block) / stride + 1 : 0;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===----------------------------------------------------------------------===//
// skim.attention
//===----------------------------------------------------------------------===//

struct AttentionParams {
  bool causal = false;
  /// w > 0: keys with pos(s) > p - w (w keys ending at p). 0 = none.
  int64_t window = 0;
  /// n > 0: keys with index s < n. 0 = none.
  int64_t sink = 0;
  /// Default 1 / sqrt(D).
  std::optional<double> scale;
  /// When set, scores are softcap * tanh(scale * q.k / softcap).
  std::optional<double> softcap;
  int64_t keyStride = 1;
  int64_t keyOffset = 0;
  /// L, the number of tokens the keys stand for. Default S.
  std::optional<int64_t> kvTokens;
  /// Selection granularity; required (>= 1) when indices are given.
  int64_t kvBlock = 0;
  /// Query rows per selection entry: row t uses entry t / qBlock.
  int64_t qBlock = 1;
};

/// One row's view of the selection operands.
struct RowSelection {
  /// The row's N raw entries (block indices, -1 or other padding).
  std::vector<int32_t> entries;
  /// The row's `counts` value, when counts are given.
  std::optional<int64_t> count;
  /// ceil(S / kvBlock); entries >= this, or negative, are padding.
  int64_t numKvBlocks = 0;
};

/// The allowed-key rule of skim.attention for the row at `queryPos` and key
/// index `key`; `selection` is null when no selection operands are given.
bool isAllowed(const AttentionParams &params, int64_t queryPos, int64_t key,
               const RowSelection *selection);

struct AttentionResult {
  Tensor out; // [B, T, Hq, Dv]
  Tensor lse; // [B, Hq, T]
};

/// softmax(scores) V over the allowed keys. `indices` is [B, Tq', H', N] with
/// Tq' = ceil(T / qBlock) and H' = Hkv (shared by the GQA group) or Hq (per
/// head); `counts` is [B, Tq', H'] and optional. A row with no allowed key
/// gives O = 0 and LSE = -inf.
Expected<AttentionResult> attention(const Tensor &q, const Tensor &k,
                                    const Tensor &v, const IndexTensor *indices,
                                    const IndexTensor *counts,
                                    const AttentionParams &params);

//===----------------------------------------------------------------------===//
// skim.pool
//===----------------------------------------------------------------------===//

enum class PoolKind { Mean, Linear };

/// x [B, S, H, D] -> [B, nb, H, Dout], nb = poolCount(S, block, stride);
/// block i covers tokens [i * stride, i * stride + block). Mean: Dout = D.
/// Linear: weights [block * D, Dout] applied to the block flattened token
/// major, after adding posEmb [block, D] (token j gets row j) if given.
Expected<Tensor> pool(const Tensor &x, PoolKind kind, int64_t block,
                      int64_t stride, const Tensor *weights = nullptr,
                      const Tensor *posEmb = nullptr);

//===----------------------------------------------------------------------===//
// skim.block_scores
//===----------------------------------------------------------------------===//

/// NSA: q [B, T, Hq, D], kCmp [B, nc, Hkv, D] (nc = poolCount(L, cmpBlock,
/// cmpStride)), lseCmp [B, Hq, T] from the compressed branch. Returns
/// [B, T, Hkv, ceil(L / selBlock)]: per query head p_cmp = exp(score - LSE)
/// over visible compressed keys, remapped to selection blocks by chunk
/// overlap (Eq. 9) and summed over the GQA group (Eq. 10). Future blocks,
/// and every block of a row that sees no compressed key, score -inf.
/// `scale` and `softcap` must match the compressed attention's.
Expected<Tensor> blockScoresNsa(const Tensor &q, const Tensor &kCmp,
                                const Tensor &lseCmp, int64_t kvTokens,
                                int64_t cmpBlock, int64_t cmpStride,
                                int64_t selBlock,
                                std::optional<double> scale = std::nullopt,
                                std::optional<double> softcap = std::nullopt);

/// MoBA: q [B, T, Hq, D], kMean [B, floor(L / block), Hkv, D]. Returns
/// [B, T, Hq, ceil(L / block)]: <q, kMean_j> (times `scale` if given; by
/// default unscaled, as MoBA's gate is the raw inner product) for complete
/// blocks j < floor(p / block), -inf for every other block.
Expected<Tensor> blockScoresMoba(const Tensor &q, const Tensor &kMean,
                                 int64_t kvTokens, int64_t block,
                                 std::optional<double> scale = std::nullopt);

//===----------------------------------------------------------------------===//
// skim.topk
//===----------------------------------------------------------------------===//

struct TopkResult {
  IndexTensor indices; // [B, T, H, n], ascending, unique, padded with -1
  IndexTensor counts;  // [B, T, H], number of valid entries
};

/// n blocks per (row, head) of scores [B, T, H, ceil(L / block)]: blocks
/// 0 .. forceFirst-1 and o-forceLast+1 .. o (o = the row's own block, both
/// clamped to [0, o]), then the best-scoring other blocks j <= o whose score
/// is neither -inf nor NaN, ties to the lower index.
Expected<TopkResult> topk(const Tensor &scores, int64_t kvTokens, int64_t block,
                          int64_t n, int64_t forceFirst, int64_t forceLast);

//===----------------------------------------------------------------------===//
// skim.combine and skim.merge
//===----------------------------------------------------------------------===//

/// sum_i gates[i][b, t, h] * outputs[i][b, t, h, :]; gates [B, T, Hq].
Expected<Tensor> combine(const std::vector<Tensor> &outputs,
                         const std::vector<Tensor> &gates);

/// Exact softmax merge of partial attentions over disjoint key sets:
/// LSE = log sum_i exp(LSE_i), O = sum_i exp(LSE_i - LSE) O_i. Rows whose
/// partial LSEs are all -inf give O = 0, LSE = -inf.
Expected<AttentionResult> merge(const std::vector<Tensor> &outs,
                                const std::vector<Tensor> &lses);

//===----------------------------------------------------------------------===//
// Variants
//===----------------------------------------------------------------------===//

/// A branch's own K and V (the paper); null means the shared k, v.
struct BranchKeysValues {
  const Tensor *k = nullptr;
  const Tensor *v = nullptr;
};

/// NSA with the paper's values as defaults.
struct NsaParams {
  int64_t cmpBlock = 32;    // l
  int64_t cmpStride = 16;   // d
  int64_t selBlock = 64;    // l'
  int64_t numSelected = 16; // n
  int64_t forceFirst = 1;
  int64_t forceLast = 2;
  int64_t window = 512;
  std::optional<double> scale;
  std::optional<double> softcap;
  /// The learned phi as a linear pool; mean pooling when null.
  const Tensor *kPoolWeights = nullptr;
  const Tensor *kPoolPosEmb = nullptr;
  const Tensor *vPoolWeights = nullptr;
  const Tensor *vPoolPosEmb = nullptr;
  /// Separate K/V for the selected and window branches; the compressed
  /// branch always pools the k, v passed to nsa().
  BranchKeysValues selected;
  BranchKeysValues sliding;
};

/// The result and every intermediate, so stage-by-stage tests can compare.
struct NsaResult {
  Tensor out;
  Tensor kCmp;
  Tensor vCmp;
  AttentionResult compressed;
  Tensor blockScores; // [B, T, Hkv, ceil(S / selBlock)]
  TopkResult selection;
  AttentionResult selected;
  AttentionResult sliding;
};

/// skim.nsa: gates gCmp, gSlc, gWin are [B, T, Hq].
Expected<NsaResult> nsa(const Tensor &q, const Tensor &k, const Tensor &v,
                        const Tensor &gCmp, const Tensor &gSlc,
                        const Tensor &gWin, const NsaParams &params = {});

/// MoBA with defaults from the paper's scaling-law runs (block 512, top-3).
struct MobaParams {
  int64_t block = 512;
  int64_t topK = 3;
  /// Attention scale; default 1 / sqrt(D).
  std::optional<double> scale;
  /// Gate scale; default none (raw inner product).
  std::optional<double> gateScale;
};

struct MobaResult {
  AttentionResult attention;
  Tensor kMean;       // [B, floor(S / block), Hkv, D]
  Tensor blockScores; // [B, T, Hq, ceil(S / block)]
  TopkResult selection;
};

/// skim.moba: per query token and per query head block selection.
Expected<MobaResult> moba(const Tensor &q, const Tensor &k, const Tensor &v,
                          const MobaParams &params = {});

} // namespace skim::ref

#endif // SKIM_TESTS_REFERENCE_REFERENCE_H
