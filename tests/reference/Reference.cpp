//===- Reference.cpp - plain reference for skim ops -----------------------===//
//
// Each function checks its arguments, then runs the formula of
// ARCHITECTURE.md section 2 as plain loops with double accumulation. Where
// the contract leaves room, the comment at that spot says how it is read.
//
//===----------------------------------------------------------------------===//

#include "reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace skim::ref {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// Collects argument problems for one op so the message names the op, the
/// operand and the offending value, like a verifier.
class ArgChecker {
public:
  explicit ArgChecker(const char *op) : opName(op) {}

  bool failed() const { return !message.empty(); }
  Error error() const { return Error{message}; }

  /// Records the first failure only: later checks may rely on earlier ones.
  void fail(const std::string &what) {
    if (message.empty())
      message = std::string(opName) + ": " + what;
  }

  template <typename T>
  void checkTensor(const char *name, const TensorOf<T> &t, int64_t rank) {
    if (failed())
      return;
    if (t.rank() != rank) {
      fail(std::string("operand '") + name + "' has rank " +
           std::to_string(t.rank()) + " (shape " + formatShape(t.shape) +
           "), expected rank " + std::to_string(rank));
      return;
    }
    for (int64_t d : t.shape)
      if (d < 0) {
        fail(std::string("operand '") + name + "' has a negative dimension " +
             "in shape " + formatShape(t.shape));
        return;
      }
    if (static_cast<int64_t>(t.data.size()) != t.numel())
      fail(std::string("operand '") + name + "' has " +
           std::to_string(t.data.size()) + " elements but shape " +
           formatShape(t.shape) + " needs " + std::to_string(t.numel()));
  }

  /// `name` dimension `dim` must equal `expected` (`why` says where the
  /// expectation comes from).
  template <typename T>
  void checkDim(const char *name, const TensorOf<T> &t, int64_t dim,
                int64_t expected, const char *why) {
    if (failed() || t.dim(dim) == expected)
      return;
    fail(std::string("operand '") + name + "' has shape " +
         formatShape(t.shape) + ": dimension " + std::to_string(dim) + " is " +
         std::to_string(t.dim(dim)) + ", expected " + std::to_string(expected) +
         " (" + why + ")");
  }

  void checkAtLeast(const char *name, int64_t value, int64_t minimum) {
    if (failed() || value >= minimum)
      return;
    fail(std::string(name) + " is " + std::to_string(value) +
         ", expected >= " + std::to_string(minimum));
  }

  void checkScale(double scale, const char *what) {
    if (failed() || std::isfinite(scale))
      return;
    std::ostringstream os;
    os << what << " is not finite (" << scale << ")";
    fail(os.str());
  }

  void checkSoftcap(const std::optional<double> &softcap) {
    if (failed() || !softcap || (std::isfinite(*softcap) && *softcap > 0))
      return;
    std::ostringstream os;
    os << "softcap is " << *softcap << ", expected a finite value > 0";
    fail(os.str());
  }

  void checkHeads(int64_t hq, int64_t hkv) {
    if (failed())
      return;
    if (hkv < 1 || hq % hkv != 0)
      fail("query heads Hq = " + std::to_string(hq) +
           " is not a multiple of KV heads Hkv = " + std::to_string(hkv));
  }

private:
  const char *opName;
  std::string message;
};

/// The score of one query-key pair as the contract defines it.
double scoreOf(double dot, double scale, const std::optional<double> &softcap) {
  double scaled = scale * dot;
  if (softcap)
    return *softcap * std::tanh(scaled / *softcap);
  return scaled;
}

/// <q[b, t, h, :], k[b, s, kvHead, :]> accumulated in double.
double dotQK(const Tensor &q, const Tensor &k, int64_t b, int64_t t, int64_t h,
             int64_t s, int64_t kvHead) {
  int64_t headDim = q.dim(3);
  double sum = 0.0;
  for (int64_t c = 0; c < headDim; ++c)
    sum += static_cast<double>(q.at({b, t, h, c})) *
           static_cast<double>(k.at({b, s, kvHead, c}));
  return sum;
}

double defaultScale(int64_t headDim) {
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

} // namespace

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

int64_t numelOf(const std::vector<int64_t> &shape) {
  int64_t result = 1;
  for (int64_t d : shape)
    result *= d;
  return result;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string result = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      result += ", ";
    result += std::to_string(shape[i]);
  }
  return result + "]";
}

//===----------------------------------------------------------------------===//
// skim.attention
//===----------------------------------------------------------------------===//

namespace {

bool inSelection(const RowSelection &selection, int64_t key, int64_t kvBlock) {
  int64_t block = key / kvBlock;
  int64_t numEntries = static_cast<int64_t>(selection.entries.size());
  // With counts, the row's first `count` entries are live. Without, the live
  // entries are those before the first -1; other negative values do not end
  // the list, they are padding like any index outside [0, numKvBlocks).
  int64_t live = numEntries;
  if (selection.count) {
    live = std::min(*selection.count, numEntries);
  } else {
    for (int64_t i = 0; i < numEntries; ++i)
      if (selection.entries[static_cast<size_t>(i)] == -1) {
        live = i;
        break;
      }
  }
  for (int64_t i = 0; i < live; ++i) {
    int64_t entry = selection.entries[static_cast<size_t>(i)];
    if (entry < 0 || entry >= selection.numKvBlocks)
      continue;
    if (entry == block)
      return true;
  }
  return false;
}

} // namespace

bool isAllowed(const AttentionParams &params, int64_t queryPos, int64_t key,
               const RowSelection *selection) {
  int64_t keyPos = key * params.keyStride + params.keyOffset;
  bool causalOk = !params.causal || keyPos <= queryPos;
  bool hasWindow = params.window > 0;
  bool hasSink = params.sink > 0;
  bool hasSelection = selection != nullptr;
  bool unrestricted = !hasWindow && !hasSink && !hasSelection;
  bool inWindow = hasWindow && keyPos > queryPos - params.window;
  // The sink counts key indices, not positions: StreamingLLM keeps the first
  // n cached entries whatever positions they stand for.
  bool inSink = hasSink && key < params.sink;
  bool inSel = hasSelection && inSelection(*selection, key, params.kvBlock);
  return causalOk && (unrestricted || inWindow || inSink || inSel);
}

Expected<AttentionResult> attention(const Tensor &q, const Tensor &k,
                                    const Tensor &v, const IndexTensor *indices,
                                    const IndexTensor *counts,
                                    const AttentionParams &params) {
  ArgChecker check("attention");
  check.checkTensor("q", q, 4);
  check.checkTensor("k", k, 4);
  check.checkTensor("v", v, 4);
  if (check.failed())
    return check.error();
  int64_t batch = q.dim(0), numRows = q.dim(1), numHeads = q.dim(2),
          headDim = q.dim(3);
  int64_t numKeys = k.dim(1), numKvHeads = k.dim(2), valueDim = v.dim(3);
  check.checkDim("k", k, 0, batch, "batch of q");
  check.checkDim("k", k, 3, headDim, "head dim of q");
  check.checkDim("v", v, 0, batch, "batch of q");
  check.checkDim("v", v, 1, numKeys, "keys of k");
  check.checkDim("v", v, 2, numKvHeads, "KV heads of k");
  check.checkHeads(numHeads, numKvHeads);
  double scale = params.scale.value_or(defaultScale(headDim));
  check.checkScale(scale, "scale");
  check.checkSoftcap(params.softcap);
  check.checkAtLeast("window", params.window, 0);
  check.checkAtLeast("sink", params.sink, 0);
  check.checkAtLeast("keyStride", params.keyStride, 1);
  check.checkAtLeast("qBlock", params.qBlock, 1);
  int64_t kvTokens = params.kvTokens.value_or(numKeys);
  check.checkAtLeast("kvTokens", kvTokens, 0);
  if (counts && !indices)
    check.fail("operand 'counts' given without 'indices'");
  int64_t numSelHeads = 0, numKvBlocks = 0;
  if (indices && !check.failed()) {
    check.checkAtLeast("kvBlock", params.kvBlock, 1);
    check.checkTensor("indices", *indices, 4);
    if (check.failed())
      return check.error();
    int64_t numEntryRows = ceilDiv(numRows, params.qBlock);
    check.checkDim("indices", *indices, 0, batch, "batch of q");
    check.checkDim("indices", *indices, 1, numEntryRows, "ceil(T / qBlock)");
    numSelHeads = indices->dim(2);
    if (!check.failed() && numSelHeads != numKvHeads && numSelHeads != numHeads)
      check.fail("operand 'indices' has shape " + formatShape(indices->shape) +
                 ": dimension 2 is " + std::to_string(numSelHeads) +
                 ", expected Hkv = " + std::to_string(numKvHeads) +
                 " or Hq = " + std::to_string(numHeads));
    if (counts) {
      check.checkTensor("counts", *counts, 3);
      check.checkDim("counts", *counts, 0, batch, "batch of q");
      check.checkDim("counts", *counts, 1, numEntryRows, "rows of indices");
      check.checkDim("counts", *counts, 2, numSelHeads, "heads of indices");
      int64_t numEntries = indices->dim(3);
      for (size_t i = 0; i < counts->data.size() && !check.failed(); ++i)
        if (counts->data[i] < 0 || counts->data[i] > numEntries)
          check.fail(
              "operand 'counts' holds " + std::to_string(counts->data[i]) +
              ", expected a value in [0, " + std::to_string(numEntries) + "]");
    }
    numKvBlocks = check.failed() ? 0 : ceilDiv(numKeys, params.kvBlock);
  }
  if (check.failed())
    return check.error();

  int64_t group = numHeads / numKvHeads;
  // With Hq == Hkv both readings of H' coincide, so either is fine.
  bool perHeadSelection = numSelHeads == numHeads;
  AttentionResult result;
  result.out = Tensor::zeros({batch, numRows, numHeads, valueDim});
  result.lse = Tensor::zeros({batch, numHeads, numRows});

  std::vector<double> scores(static_cast<size_t>(numKeys));
  std::vector<char> allowed(static_cast<size_t>(numKeys));
  std::vector<double> acc(static_cast<size_t>(valueDim));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < numRows; ++t) {
      int64_t queryPos = queryPosition(t, numRows, kvTokens);
      for (int64_t h = 0; h < numHeads; ++h) {
        int64_t kvHead = h / group;
        std::optional<RowSelection> selection;
        if (indices) {
          int64_t entryRow = t / params.qBlock;
          int64_t selHead = perHeadSelection ? h : kvHead;
          RowSelection row;
          for (int64_t i = 0; i < indices->dim(3); ++i)
            row.entries.push_back(indices->at({b, entryRow, selHead, i}));
          if (counts)
            row.count = counts->at({b, entryRow, selHead});
          row.numKvBlocks = numKvBlocks;
          selection = std::move(row);
        }

        // First pass: scores of the allowed keys and their maximum, so that
        // the exponentials below are at most 1 and cannot overflow.
        double maxScore = kNegInf;
        bool anyAllowed = false;
        for (int64_t s = 0; s < numKeys; ++s) {
          size_t si = static_cast<size_t>(s);
          allowed[si] =
              isAllowed(params, queryPos, s, selection ? &*selection : nullptr);
          if (!allowed[si])
            continue;
          anyAllowed = true;
          scores[si] =
              scoreOf(dotQK(q, k, b, t, h, s, kvHead), scale, params.softcap);
          maxScore = std::max(maxScore, scores[si]);
        }
        if (!anyAllowed) {
          // O is already 0; dividing by an empty sum would make it NaN.
          result.lse.at({b, h, t}) = -std::numeric_limits<float>::infinity();
          continue;
        }

        double sum = 0.0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t s = 0; s < numKeys; ++s) {
          size_t si = static_cast<size_t>(s);
          if (!allowed[si])
            continue;
          double weight = std::exp(scores[si] - maxScore);
          sum += weight;
          for (int64_t e = 0; e < valueDim; ++e)
            acc[static_cast<size_t>(e)] +=
                weight * static_cast<double>(v.at({b, s, kvHead, e}));
        }
        for (int64_t e = 0; e < valueDim; ++e)
          result.out.at({b, t, h, e}) =
              static_cast<float>(acc[static_cast<size_t>(e)] / sum);
        result.lse.at({b, h, t}) = static_cast<float>(maxScore + std::log(sum));
      }
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// skim.pool
//===----------------------------------------------------------------------===//

Expected<Tensor> pool(const Tensor &x, PoolKind kind, int64_t block,
                      int64_t stride, const Tensor *weights,
                      const Tensor *posEmb) {
  ArgChecker check("pool");
  check.checkTensor("x", x, 4);
  check.checkAtLeast("block", block, 1);
  check.checkAtLeast("stride", stride, 1);
  if (check.failed())
    return check.error();
  int64_t batch = x.dim(0), numTokens = x.dim(1), numHeads = x.dim(2),
          dim = x.dim(3);
  int64_t outDim = dim;
  if (kind == PoolKind::Mean) {
    if (weights || posEmb)
      check.fail("mean pooling takes no 'weights' or 'posEmb'");
  } else {
    if (!weights) {
      check.fail("linear pooling needs operand 'weights'");
      return check.error();
    }
    check.checkTensor("weights", *weights, 2);
    check.checkDim("weights", *weights, 0, block * dim, "block * D");
    if (!check.failed())
      outDim = weights->dim(1);
    if (posEmb) {
      check.checkTensor("posEmb", *posEmb, 2);
      check.checkDim("posEmb", *posEmb, 0, block, "block");
      check.checkDim("posEmb", *posEmb, 1, dim, "D");
    }
  }
  if (check.failed())
    return check.error();

  int64_t numBlocks = poolCount(numTokens, block, stride);
  Tensor result = Tensor::zeros({batch, numBlocks, numHeads, outDim});
  std::vector<double> acc(static_cast<size_t>(outDim));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < numBlocks; ++i) {
      int64_t first = i * stride;
      for (int64_t h = 0; h < numHeads; ++h) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < block; ++j) {
          for (int64_t c = 0; c < dim; ++c) {
            double value = x.at({b, first + j, h, c});
            if (kind == PoolKind::Mean) {
              acc[static_cast<size_t>(c)] += value;
              continue;
            }
            if (posEmb)
              value += static_cast<double>(posEmb->at({j, c}));
            // Flattened token-major: token j, channel c is row j * D + c.
            for (int64_t o = 0; o < outDim; ++o)
              acc[static_cast<size_t>(o)] +=
                  value * static_cast<double>(weights->at({j * dim + c, o}));
          }
        }
        for (int64_t o = 0; o < outDim; ++o) {
          double value = acc[static_cast<size_t>(o)];
          if (kind == PoolKind::Mean)
            value /= static_cast<double>(block);
          result.at({b, i, h, o}) = static_cast<float>(value);
        }
      }
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// skim.block_scores
//===----------------------------------------------------------------------===//

Expected<Tensor> blockScoresNsa(const Tensor &q, const Tensor &kCmp,
                                const Tensor &lseCmp, int64_t kvTokens,
                                int64_t cmpBlock, int64_t cmpStride,
                                int64_t selBlock, std::optional<double> scale,
                                std::optional<double> softcap) {
  ArgChecker check("block_scores(nsa)");
  check.checkTensor("q", q, 4);
  check.checkTensor("kCmp", kCmp, 4);
  check.checkTensor("lseCmp", lseCmp, 3);
  check.checkAtLeast("cmpBlock", cmpBlock, 1);
  check.checkAtLeast("cmpStride", cmpStride, 1);
  check.checkAtLeast("selBlock", selBlock, 1);
  if (check.failed())
    return check.error();
  int64_t batch = q.dim(0), numRows = q.dim(1), numHeads = q.dim(2),
          headDim = q.dim(3);
  int64_t numKvHeads = kCmp.dim(2);
  // Eq. 9 as chunk overlap needs both block kinds to be whole chunks.
  if (cmpBlock % cmpStride != 0)
    check.fail("cmpBlock " + std::to_string(cmpBlock) +
               " is not a multiple of cmpStride " + std::to_string(cmpStride));
  if (selBlock % cmpStride != 0)
    check.fail("selBlock " + std::to_string(selBlock) +
               " is not a multiple of cmpStride " + std::to_string(cmpStride));
  // Every row needs a position >= 0, i.e. a token of its own.
  check.checkAtLeast("kvTokens", kvTokens, numRows);
  check.checkDim("kCmp", kCmp, 0, batch, "batch of q");
  check.checkDim("kCmp", kCmp, 1, poolCount(kvTokens, cmpBlock, cmpStride),
                 "compressed keys of kvTokens tokens");
  check.checkDim("kCmp", kCmp, 3, headDim, "head dim of q");
  check.checkDim("lseCmp", lseCmp, 0, batch, "batch of q");
  check.checkDim("lseCmp", lseCmp, 1, numHeads, "query heads of q");
  check.checkDim("lseCmp", lseCmp, 2, numRows, "rows of q");
  check.checkHeads(numHeads, numKvHeads);
  double scaleValue = scale.value_or(defaultScale(headDim));
  check.checkScale(scaleValue, "scale");
  check.checkSoftcap(softcap);
  if (check.failed())
    return check.error();

  int64_t group = numHeads / numKvHeads;
  int64_t numCmp = kCmp.dim(1);
  int64_t numSel = ceilDiv(kvTokens, selBlock);
  int64_t chunksPerCmp = cmpBlock / cmpStride;
  int64_t chunksPerSel = selBlock / cmpStride;
  // |chunks(i) ∩ chunks(j)| with chunks(i) = {i .. i + l/d - 1} (compressed
  // key i covers tokens [i*d, i*d + l)) and chunks(j) = {j*l'/d ..
  // (j+1)*l'/d - 1}.
  auto overlap = [&](int64_t i, int64_t j) -> int64_t {
    int64_t lo = std::max(i, j * chunksPerSel);
    int64_t hi = std::min(i + chunksPerCmp - 1, (j + 1) * chunksPerSel - 1);
    return std::max<int64_t>(0, hi - lo + 1);
  };

  Tensor result = Tensor::zeros({batch, numRows, numKvHeads, numSel});
  std::vector<double> acc(static_cast<size_t>(numSel));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < numRows; ++t) {
      int64_t queryPos = queryPosition(t, numRows, kvTokens);
      for (int64_t g = 0; g < numKvHeads; ++g) {
        std::fill(acc.begin(), acc.end(), 0.0);
        bool anyVisible = false;
        // Eq. 10: the group's query heads share one selection, so their
        // (separately normalised) p_cmp add up.
        for (int64_t h = g * group; h < (g + 1) * group; ++h) {
          // Reuses the compressed branch's LSE instead of a second softmax,
          // so p_cmp over the visible keys sums to 1 per head.
          double lse = lseCmp.at({b, h, t});
          for (int64_t i = 0; i < numCmp; ++i) {
            int64_t keyPos = i * cmpStride + cmpBlock - 1;
            if (keyPos > queryPos)
              continue;
            anyVisible = true;
            double pCmp = std::exp(
                scoreOf(dotQK(q, kCmp, b, t, h, i, g), scaleValue, softcap) -
                lse);
            for (int64_t j = 0; j < numSel; ++j)
              acc[static_cast<size_t>(j)] +=
                  pCmp * static_cast<double>(overlap(i, j));
          }
        }
        // Reading of "invisible or future blocks score -inf": a block is
        // future when it starts after the query (j * l' > p) and scores -inf;
        // a row that sees no compressed key scores -inf everywhere (topk then
        // keeps only its forced blocks). A non-future block that no visible
        // compressed key overlaps (e.g. the query's own, not yet compressed
        // block) keeps the plain sum, 0.0: it is a real candidate with no
        // evidence, not a forbidden one.
        for (int64_t j = 0; j < numSel; ++j) {
          bool future = j * selBlock > queryPos;
          result.at({b, t, g, j}) =
              (!anyVisible || future)
                  ? -std::numeric_limits<float>::infinity()
                  : static_cast<float>(acc[static_cast<size_t>(j)]);
        }
      }
    }
  }
  return result;
}

Expected<Tensor> blockScoresMoba(const Tensor &q, const Tensor &kMean,
                                 int64_t kvTokens, int64_t block,
                                 std::optional<double> scale) {
  ArgChecker check("block_scores(moba)");
  check.checkTensor("q", q, 4);
  check.checkTensor("kMean", kMean, 4);
  check.checkAtLeast("block", block, 1);
  if (check.failed())
    return check.error();
  int64_t batch = q.dim(0), numRows = q.dim(1), numHeads = q.dim(2),
          headDim = q.dim(3);
  int64_t numKvHeads = kMean.dim(2);
  check.checkAtLeast("kvTokens", kvTokens, numRows);
  check.checkDim("kMean", kMean, 0, batch, "batch of q");
  check.checkDim("kMean", kMean, 1, kvTokens / block,
                 "complete blocks of kvTokens tokens");
  check.checkDim("kMean", kMean, 3, headDim, "head dim of q");
  check.checkHeads(numHeads, numKvHeads);
  if (scale)
    check.checkScale(*scale, "scale");
  if (check.failed())
    return check.error();

  int64_t group = numHeads / numKvHeads;
  int64_t numBlocks = ceilDiv(kvTokens, block);
  Tensor result = Tensor::filled({batch, numRows, numHeads, numBlocks},
                                 -std::numeric_limits<float>::infinity());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < numRows; ++t) {
      int64_t ownBlock = queryPosition(t, numRows, kvTokens) / block;
      for (int64_t h = 0; h < numHeads; ++h) {
        // Only blocks wholly before the query's own block compete; the own
        // block is always attended (topk forces it) with its causal mask.
        for (int64_t j = 0; j < ownBlock; ++j) {
          double dot = dotQK(q, kMean, b, t, h, j, h / group);
          result.at({b, t, h, j}) =
              static_cast<float>(scale ? *scale * dot : dot);
        }
      }
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// skim.topk
//===----------------------------------------------------------------------===//

Expected<TopkResult> topk(const Tensor &scores, int64_t kvTokens, int64_t block,
                          int64_t n, int64_t forceFirst, int64_t forceLast) {
  ArgChecker check("topk");
  check.checkTensor("scores", scores, 4);
  check.checkAtLeast("block", block, 1);
  check.checkAtLeast("n", n, 0);
  check.checkAtLeast("forceFirst", forceFirst, 0);
  check.checkAtLeast("forceLast", forceLast, 0);
  if (check.failed())
    return check.error();
  if (forceFirst + forceLast > n)
    check.fail(
        "forceFirst + forceLast = " + std::to_string(forceFirst + forceLast) +
        " exceeds n = " + std::to_string(n));
  int64_t batch = scores.dim(0), numRows = scores.dim(1),
          numHeads = scores.dim(2);
  check.checkAtLeast("kvTokens", kvTokens, numRows);
  check.checkDim("scores", scores, 3, ceilDiv(kvTokens, block),
                 "ceil(kvTokens / block)");
  if (check.failed())
    return check.error();

  int64_t numBlocks = scores.dim(3);
  TopkResult result;
  result.indices = IndexTensor::filled({batch, numRows, numHeads, n}, -1);
  result.counts = IndexTensor::zeros({batch, numRows, numHeads});
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < numRows; ++t) {
      int64_t ownBlock = queryPosition(t, numRows, kvTokens) / block;
      for (int64_t h = 0; h < numHeads; ++h) {
        std::vector<char> chosen(static_cast<size_t>(numBlocks), 0);
        // Forced ranges are clamped to [0, ownBlock]: never a future block.
        for (int64_t j = 0; j < std::min(forceFirst, ownBlock + 1); ++j)
          chosen[static_cast<size_t>(j)] = 1;
        for (int64_t j = std::max<int64_t>(0, ownBlock - forceLast + 1);
             j <= ownBlock && forceLast > 0; ++j)
          chosen[static_cast<size_t>(j)] = 1;
        int64_t numChosen = std::count(chosen.begin(), chosen.end(), 1);

        // -inf marks a forbidden block and NaN has no rank; neither is
        // chosen by score. (+inf, an overflow, is an ordinary high score.)
        std::vector<int64_t> candidates;
        for (int64_t j = 0; j <= ownBlock; ++j) {
          double s = scores.at({b, t, h, j});
          if (!chosen[static_cast<size_t>(j)] && !std::isnan(s) &&
              s != -std::numeric_limits<double>::infinity())
            candidates.push_back(j);
        }
        // Stable sort on descending score keeps ascending index among ties.
        std::stable_sort(
            candidates.begin(), candidates.end(), [&](int64_t x, int64_t y) {
              return scores.at({b, t, h, x}) > scores.at({b, t, h, y});
            });
        for (size_t c = 0; c < candidates.size() && numChosen < n; ++c) {
          chosen[static_cast<size_t>(candidates[c])] = 1;
          ++numChosen;
        }

        int64_t slot = 0;
        for (int64_t j = 0; j < numBlocks; ++j)
          if (chosen[static_cast<size_t>(j)])
            result.indices.at({b, t, h, slot++}) = static_cast<int32_t>(j);
        result.counts.at({b, t, h}) = static_cast<int32_t>(slot);
      }
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// skim.combine and skim.merge
//===----------------------------------------------------------------------===//

Expected<Tensor> combine(const std::vector<Tensor> &outputs,
                         const std::vector<Tensor> &gates) {
  ArgChecker check("combine");
  if (outputs.empty())
    check.fail("no branch outputs");
  else if (outputs.size() != gates.size())
    check.fail(std::to_string(outputs.size()) + " outputs but " +
               std::to_string(gates.size()) + " gates");
  if (check.failed())
    return check.error();
  check.checkTensor("outputs[0]", outputs[0], 4);
  if (check.failed())
    return check.error();
  const std::vector<int64_t> &shape = outputs[0].shape;
  for (size_t i = 0; i < outputs.size() && !check.failed(); ++i) {
    std::string name = "outputs[" + std::to_string(i) + "]";
    check.checkTensor(name.c_str(), outputs[i], 4);
    if (!check.failed() && outputs[i].shape != shape)
      check.fail("operand '" + name + "' has shape " +
                 formatShape(outputs[i].shape) + ", expected " +
                 formatShape(shape) + " (shape of outputs[0])");
    std::string gateName = "gates[" + std::to_string(i) + "]";
    check.checkTensor(gateName.c_str(), gates[i], 3);
    for (int64_t d = 0; d < 3; ++d)
      check.checkDim(gateName.c_str(), gates[i], d, shape[d],
                     "[B, T, Hq] of outputs[0]");
  }
  if (check.failed())
    return check.error();

  Tensor result = Tensor::zeros(shape);
  for (int64_t b = 0; b < shape[0]; ++b)
    for (int64_t t = 0; t < shape[1]; ++t)
      for (int64_t h = 0; h < shape[2]; ++h)
        for (int64_t e = 0; e < shape[3]; ++e) {
          double sum = 0.0;
          for (size_t i = 0; i < outputs.size(); ++i)
            sum += static_cast<double>(gates[i].at({b, t, h})) *
                   static_cast<double>(outputs[i].at({b, t, h, e}));
          result.at({b, t, h, e}) = static_cast<float>(sum);
        }
  return result;
}

Expected<AttentionResult> merge(const std::vector<Tensor> &outs,
                                const std::vector<Tensor> &lses) {
  ArgChecker check("merge");
  if (outs.empty())
    check.fail("no partial outputs");
  else if (outs.size() != lses.size())
    check.fail(std::to_string(outs.size()) + " outputs but " +
               std::to_string(lses.size()) + " LSEs");
  if (check.failed())
    return check.error();
  check.checkTensor("outs[0]", outs[0], 4);
  if (check.failed())
    return check.error();
  const std::vector<int64_t> &shape = outs[0].shape;
  int64_t batch = shape[0], numRows = shape[1], numHeads = shape[2],
          valueDim = shape[3];
  for (size_t i = 0; i < outs.size() && !check.failed(); ++i) {
    std::string name = "outs[" + std::to_string(i) + "]";
    check.checkTensor(name.c_str(), outs[i], 4);
    if (!check.failed() && outs[i].shape != shape)
      check.fail("operand '" + name + "' has shape " +
                 formatShape(outs[i].shape) + ", expected " +
                 formatShape(shape) + " (shape of outs[0])");
    std::string lseName = "lses[" + std::to_string(i) + "]";
    check.checkTensor(lseName.c_str(), lses[i], 3);
    check.checkDim(lseName.c_str(), lses[i], 0, batch, "B of outs[0]");
    check.checkDim(lseName.c_str(), lses[i], 1, numHeads, "Hq of outs[0]");
    check.checkDim(lseName.c_str(), lses[i], 2, numRows, "T of outs[0]");
  }
  if (check.failed())
    return check.error();

  AttentionResult result;
  result.out = Tensor::zeros(shape);
  result.lse = Tensor::zeros({batch, numHeads, numRows});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < numRows; ++t)
      for (int64_t h = 0; h < numHeads; ++h) {
        double maxLse = kNegInf;
        for (const Tensor &lse : lses)
          maxLse = std::max(maxLse, static_cast<double>(lse.at({b, h, t})));
        if (maxLse == kNegInf) {
          // No partial saw a key: the merged row saw none either.
          result.lse.at({b, h, t}) = -std::numeric_limits<float>::infinity();
          continue;
        }
        // Subtracting the max keeps every exp <= 1.
        double sum = 0.0;
        for (const Tensor &lse : lses)
          sum += std::exp(static_cast<double>(lse.at({b, h, t})) - maxLse);
        double merged = maxLse + std::log(sum);
        for (int64_t e = 0; e < valueDim; ++e) {
          double acc = 0.0;
          for (size_t i = 0; i < outs.size(); ++i)
            acc +=
                std::exp(static_cast<double>(lses[i].at({b, h, t})) - merged) *
                static_cast<double>(outs[i].at({b, t, h, e}));
          result.out.at({b, t, h, e}) = static_cast<float>(acc);
        }
        result.lse.at({b, h, t}) = static_cast<float>(merged);
      }
  return result;
}

//===----------------------------------------------------------------------===//
// Variants
//===----------------------------------------------------------------------===//

Expected<NsaResult> nsa(const Tensor &q, const Tensor &k, const Tensor &v,
                        const Tensor &gCmp, const Tensor &gSlc,
                        const Tensor &gWin, const NsaParams &params) {
  ArgChecker check("nsa");
  check.checkTensor("q", q, 4);
  check.checkTensor("k", k, 4);
  if (check.failed())
    return check.error();
  const Tensor &kSlc = params.selected.k ? *params.selected.k : k;
  const Tensor &vSlc = params.selected.v ? *params.selected.v : v;
  const Tensor &kWin = params.sliding.k ? *params.sliding.k : k;
  const Tensor &vWin = params.sliding.v ? *params.sliding.v : v;
  // Selection indices count blocks of the compressed branch's tokens, so
  // every branch must see the same S.
  int64_t numKeys = k.dim(1);
  check.checkTensor("selected.k", kSlc, 4);
  check.checkDim("selected.k", kSlc, 1, numKeys, "keys of k");
  check.checkTensor("sliding.k", kWin, 4);
  check.checkDim("sliding.k", kWin, 1, numKeys, "keys of k");
  if (check.failed())
    return check.error();

  NsaResult result;
  auto pooled = [&](const Tensor &x, const Tensor *weights,
                    const Tensor *posEmb) {
    return pool(x, weights ? PoolKind::Linear : PoolKind::Mean, params.cmpBlock,
                params.cmpStride, weights, posEmb);
  };
  Expected<Tensor> kCmp = pooled(k, params.kPoolWeights, params.kPoolPosEmb);
  if (!kCmp)
    return Error{"nsa: " + kCmp.error()};
  Expected<Tensor> vCmp = pooled(v, params.vPoolWeights, params.vPoolPosEmb);
  if (!vCmp)
    return Error{"nsa: " + vCmp.error()};
  result.kCmp = std::move(*kCmp);
  result.vCmp = std::move(*vCmp);

  AttentionParams cmpParams;
  cmpParams.causal = true;
  cmpParams.scale = params.scale;
  cmpParams.softcap = params.softcap;
  cmpParams.keyStride = params.cmpStride;
  cmpParams.keyOffset = params.cmpBlock - 1;
  cmpParams.kvTokens = numKeys;
  Expected<AttentionResult> compressed =
      attention(q, result.kCmp, result.vCmp, nullptr, nullptr, cmpParams);
  if (!compressed)
    return Error{"nsa: " + compressed.error()};
  result.compressed = std::move(*compressed);

  Expected<Tensor> scores = blockScoresNsa(
      q, result.kCmp, result.compressed.lse, numKeys, params.cmpBlock,
      params.cmpStride, params.selBlock, params.scale, params.softcap);
  if (!scores)
    return Error{"nsa: " + scores.error()};
  result.blockScores = std::move(*scores);

  Expected<TopkResult> selection =
      topk(result.blockScores, numKeys, params.selBlock, params.numSelected,
           params.forceFirst, params.forceLast);
  if (!selection)
    return Error{"nsa: " + selection.error()};
  result.selection = std::move(*selection);

  // Indices are [B, T, Hkv, n]: one selection per KV head (Eq. 10).
  AttentionParams slcParams;
  slcParams.causal = true;
  slcParams.scale = params.scale;
  slcParams.softcap = params.softcap;
  slcParams.kvBlock = params.selBlock;
  slcParams.qBlock = 1;
  Expected<AttentionResult> selected =
      attention(q, kSlc, vSlc, &result.selection.indices,
                &result.selection.counts, slcParams);
  if (!selected)
    return Error{"nsa: " + selected.error()};
  result.selected = std::move(*selected);

  AttentionParams winParams;
  winParams.causal = true;
  winParams.scale = params.scale;
  winParams.softcap = params.softcap;
  winParams.window = params.window;
  Expected<AttentionResult> sliding =
      attention(q, kWin, vWin, nullptr, nullptr, winParams);
  if (!sliding)
    return Error{"nsa: " + sliding.error()};
  result.sliding = std::move(*sliding);

  Expected<Tensor> out =
      combine({result.compressed.out, result.selected.out, result.sliding.out},
              {gCmp, gSlc, gWin});
  if (!out)
    return Error{"nsa: " + out.error()};
  result.out = std::move(*out);
  return result;
}

Expected<MobaResult> moba(const Tensor &q, const Tensor &k, const Tensor &v,
                          const MobaParams &params) {
  ArgChecker check("moba");
  check.checkTensor("k", k, 4);
  if (check.failed())
    return check.error();
  int64_t numKeys = k.dim(1);

  MobaResult result;
  Expected<Tensor> kMean = pool(k, PoolKind::Mean, params.block, params.block);
  if (!kMean)
    return Error{"moba: " + kMean.error()};
  result.kMean = std::move(*kMean);

  Expected<Tensor> scores =
      blockScoresMoba(q, result.kMean, numKeys, params.block, params.gateScale);
  if (!scores)
    return Error{"moba: " + scores.error()};
  result.blockScores = std::move(*scores);

  // force_last 1: the query's own (partial) block is always attended.
  Expected<TopkResult> selection =
      topk(result.blockScores, numKeys, params.block, params.topK,
           /*forceFirst=*/0, /*forceLast=*/1);
  if (!selection)
    return Error{"moba: " + selection.error()};
  result.selection = std::move(*selection);

  // Indices are [B, T, Hq, k]: every query head routes on its own.
  AttentionParams attnParams;
  attnParams.causal = true;
  attnParams.scale = params.scale;
  attnParams.kvBlock = params.block;
  attnParams.qBlock = 1;
  Expected<AttentionResult> attn = attention(
      q, k, v, &result.selection.indices, &result.selection.counts, attnParams);
  if (!attn)
    return Error{"moba: " + attn.error()};
  result.attention = std::move(*attn);
  return result;
}

} // namespace skim::ref
