//===- GoldenTest.cpp - hand-computed checks of the skim reference --------===//
//
// The reference is what every other test trusts, so it is pinned here by
// values worked out by hand (each comment shows the arithmetic) on shapes
// small enough to check on paper, plus a few random-input identities that
// must hold exactly or to rounding (merging disjoint key sets, GQA sharing).
//
//===----------------------------------------------------------------------===//

#include "reference/Reference.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <utility>

using namespace skim::ref;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

/// Unwraps a result, failing the test with the reference's own message.
template <typename T> T requireOk(Expected<T> result) {
  INFO("error: " << result.error());
  REQUIRE(result.ok());
  return std::move(*result);
}

/// Fails the test unless `result` is an error whose message contains
/// `needle`, so each rejection is for the reason the test means.
template <typename T>
void requireError(const Expected<T> &result, const std::string &needle) {
  REQUIRE_FALSE(result.ok());
  INFO("error: " << result.error());
  CHECK(result.error().find(needle) != std::string::npos);
}

/// Uniform values in [-1, 1) from a fixed seed: reproducible, and in a range
/// where no softmax over a few keys is degenerate.
Tensor randomTensor(std::vector<int64_t> shape, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t = Tensor::zeros(std::move(shape));
  for (float &x : t.data)
    x = dist(gen);
  return t;
}

void requireClose(const Tensor &actual, const Tensor &expected,
                  double tolerance) {
  REQUIRE(actual.shape == expected.shape);
  for (size_t i = 0; i < actual.data.size(); ++i) {
    INFO("element " << i);
    if (std::isinf(expected.data[i])) {
      CHECK(actual.data[i] == expected.data[i]);
      continue;
    }
    CHECK(actual.data[i] == Approx(expected.data[i]).margin(tolerance));
  }
}

/// [B, S, H, D] -> [B, S, H * factor, D], each head repeated `factor` times,
/// i.e. the KV heads a GQA group would see if it had its own copies.
Tensor repeatHeads(const Tensor &x, int64_t factor) {
  Tensor result =
      Tensor::zeros({x.dim(0), x.dim(1), x.dim(2) * factor, x.dim(3)});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t s = 0; s < x.dim(1); ++s)
      for (int64_t h = 0; h < x.dim(2) * factor; ++h)
        for (int64_t c = 0; c < x.dim(3); ++c)
          result.at({b, s, h, c}) = x.at({b, s, h / factor, c});
  return result;
}

/// Keys [first, last) of x [B, S, H, D].
Tensor sliceKeys(const Tensor &x, int64_t first, int64_t last) {
  Tensor result = Tensor::zeros({x.dim(0), last - first, x.dim(2), x.dim(3)});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t s = first; s < last; ++s)
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t c = 0; c < x.dim(3); ++c)
          result.at({b, s - first, h, c}) = x.at({b, s, h, c});
  return result;
}

/// A selection row for isAllowed.
RowSelection rowOf(std::vector<int32_t> entries, int64_t numKvBlocks,
                   std::optional<int64_t> count = std::nullopt) {
  RowSelection row;
  row.entries = std::move(entries);
  row.numKvBlocks = numKvBlocks;
  row.count = count;
  return row;
}

/// The keys in [0, numKeys) allowed for the row at `queryPos`.
std::vector<int64_t> allowedKeys(const AttentionParams &params,
                                 int64_t queryPos, int64_t numKeys,
                                 const RowSelection *selection = nullptr) {
  std::vector<int64_t> keys;
  for (int64_t s = 0; s < numKeys; ++s)
    if (isAllowed(params, queryPos, s, selection))
      keys.push_back(s);
  return keys;
}

using Keys = std::vector<int64_t>;

} // namespace

//===----------------------------------------------------------------------===//
// The allowed-key rule
//===----------------------------------------------------------------------===//

TEST_CASE("allowed: dense and causal", "[allowed]") {
  AttentionParams dense;
  // No restriction of any kind: every key, even one after the query.
  CHECK(allowedKeys(dense, 5, 8) == Keys{0, 1, 2, 3, 4, 5, 6, 7});

  AttentionParams causal;
  causal.causal = true;
  // p = 5: keys at positions 0..5; key 6 is in the future.
  CHECK(allowedKeys(causal, 5, 8) == Keys{0, 1, 2, 3, 4, 5});
  CHECK(allowedKeys(causal, 0, 8) == Keys{0});
}

TEST_CASE("allowed: window alone", "[allowed]") {
  AttentionParams params;
  params.causal = true;
  params.window = 3;
  // p = 5, w = 3: pos(s) > 5 - 3 = 2, so the w keys 3, 4, 5 ending at p.
  // pos(s) = p - w + 1 = 3 is the first allowed key, p - w = 2 is not.
  CHECK(isAllowed(params, 5, 3, nullptr));
  CHECK_FALSE(isAllowed(params, 5, 2, nullptr));
  CHECK(allowedKeys(params, 5, 8) == Keys{3, 4, 5});
  // Early rows: p = 1 keeps 0, 1 (nothing before the sequence start).
  CHECK(allowedKeys(params, 1, 8) == Keys{0, 1});

  // Without causal the window only bounds keys from below: the rule is
  // pos(s) > p - w and nothing else, so later keys stay allowed.
  params.causal = false;
  CHECK(allowedKeys(params, 5, 8) == Keys{3, 4, 5, 6, 7});
}

TEST_CASE("allowed: sink alone", "[allowed]") {
  AttentionParams params;
  params.causal = true;
  params.sink = 2;
  // Sink alone restricts to keys 0, 1 (no window: the rest is not allowed).
  CHECK(allowedKeys(params, 5, 8) == Keys{0, 1});
  // Causal still applies to the sink: p = 0 cannot see key 1.
  CHECK(allowedKeys(params, 0, 8) == Keys{0});
}

TEST_CASE("allowed: window plus sink (StreamingLLM)", "[allowed]") {
  AttentionParams params;
  params.causal = true;
  params.window = 3;
  params.sink = 2;
  // p = 10: sink {0, 1} and window pos(s) > 7: {8, 9, 10}; 11 is future.
  CHECK(allowedKeys(params, 10, 12) == Keys{0, 1, 8, 9, 10});
  // p = 2: sink {0, 1} and window {0, 1, 2} overlap: {0, 1, 2}.
  CHECK(allowedKeys(params, 2, 12) == Keys{0, 1, 2});
}

TEST_CASE("allowed: selection alone", "[allowed]") {
  AttentionParams params;
  params.kvBlock = 4; // S = 16: blocks {0..3} {4..7} {8..11} {12..15}

  // No counts: the live entries are those before the first -1: blocks 2, 0.
  // Block 1 comes after the -1 and is not selected.
  RowSelection row = rowOf({2, 0, -1, 1}, 4);
  CHECK(allowedKeys(params, 15, 16, &row) == Keys{0, 1, 2, 3, 8, 9, 10, 11});

  // counts = 1: only the first entry, block 2.
  row = rowOf({2, 0, -1, 1}, 4, 1);
  CHECK(allowedKeys(params, 15, 16, &row) == Keys{8, 9, 10, 11});

  // counts = 4: all four entries are live; the -1 among them is padding,
  // block 1 after it counts: blocks 2, 0, 1.
  row = rowOf({2, 0, -1, 1}, 4, 4);
  CHECK(allowedKeys(params, 15, 16, &row) ==
        Keys{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});

  // Padding: 5 >= 4 blocks and -2 are ignored; -2 does not end the list
  // (only -1 does), so block 3 after it is selected.
  row = rowOf({5, -2, 3}, 4);
  CHECK(allowedKeys(params, 15, 16, &row) == Keys{12, 13, 14, 15});

  // All padding: nothing at all, even though no window or sink is given
  // (a selection is a restriction even when empty).
  row = rowOf({-1, -1}, 4);
  CHECK(allowedKeys(params, 15, 16, &row).empty());

  // Selection with causal: block 2 = keys 8..11, p = 9 cuts 10 and 11.
  params.causal = true;
  row = rowOf({2}, 4);
  CHECK(allowedKeys(params, 9, 16, &row) == Keys{8, 9});
}

TEST_CASE("allowed: selection plus window", "[allowed]") {
  AttentionParams params;
  params.causal = true;
  params.window = 2;
  params.kvBlock = 4;
  RowSelection row = rowOf({0}, 4);
  // p = 9: block 0 = {0, 1, 2, 3} united with the window pos(s) > 7 = {8, 9};
  // 7 is outside both, 10 is future.
  CHECK(allowedKeys(params, 9, 16, &row) == Keys{0, 1, 2, 3, 8, 9});
}

TEST_CASE("allowed: key stride and offset", "[allowed]") {
  // NSA's compressed keys, l = 32 and d = 16: pos(s) = 16 s + 31, the
  // position of the block's last token.
  AttentionParams params;
  params.causal = true;
  params.keyStride = 16;
  params.keyOffset = 31;
  // p = 30: pos(0) = 31 > 30, no key.
  CHECK(allowedKeys(params, 30, 4).empty());
  // p = 46: pos(0) = 31 <= 46, pos(1) = 47 > 46.
  CHECK(allowedKeys(params, 46, 4) == Keys{0});
  // p = 47: pos(1) = 47 is now allowed.
  CHECK(allowedKeys(params, 47, 4) == Keys{0, 1});

  // The window compares positions, not indices: w = 32 at p = 100 keeps
  // pos(s) > 68: pos(2) = 63 no, pos(3) = 79 yes, pos(4) = 95 yes.
  params.window = 32;
  CHECK(allowedKeys(params, 100, 5) == Keys{3, 4});

  // The sink compares indices: sink 1 keeps key 0 (pos 31) whatever p is.
  params.window = 0;
  params.sink = 1;
  CHECK(allowedKeys(params, 100, 5) == Keys{0});
}

TEST_CASE("attention: queries aligned to the end (T < S)", "[attention]") {
  // T = 2, S = 5, causal: row 0 sits at p = 0 + 5 - 2 = 3, row 1 at p = 4.
  // q = 0 makes every score 0, so O is the plain mean of the allowed values
  // and LSE = log(number of allowed keys).
  Tensor q = Tensor::zeros({1, 2, 1, 1});
  Tensor k = Tensor::zeros({1, 5, 1, 1});
  Tensor v{{1, 5, 1, 1}, {0, 1, 2, 3, 4}};
  AttentionParams params;
  params.causal = true;
  const AttentionResult &r =
      requireOk(attention(q, k, v, nullptr, nullptr, params));
  // Row 0: keys 0..3, (0 + 1 + 2 + 3) / 4 = 1.5, LSE = log 4 = 1.3862944.
  CHECK(r.out.at({0, 0, 0, 0}) == Approx(1.5));
  CHECK(r.lse.at({0, 0, 0}) == Approx(1.3862943611198906));
  // Row 1: keys 0..4, 10 / 5 = 2, LSE = log 5 = 1.6094379.
  CHECK(r.out.at({0, 1, 0, 0}) == Approx(2.0));
  CHECK(r.lse.at({0, 0, 1}) == Approx(1.6094379124341003));
}

TEST_CASE("attention: kvTokens with strided keys", "[attention]") {
  // 3 keys standing for L = 6 tokens at positions 1, 3, 5 (stride 2,
  // offset 1); T = 2 rows at p = 0 + 6 - 2 = 4 and p = 5.
  Tensor q = Tensor::zeros({1, 2, 1, 1});
  Tensor k = Tensor::zeros({1, 3, 1, 1});
  Tensor v{{1, 3, 1, 1}, {0, 1, 2}};
  AttentionParams params;
  params.causal = true;
  params.keyStride = 2;
  params.keyOffset = 1;
  params.kvTokens = 6;
  const AttentionResult &r =
      requireOk(attention(q, k, v, nullptr, nullptr, params));
  // Row 0 (p = 4): positions 1, 3 -> keys 0, 1 -> (0 + 1) / 2 = 0.5.
  CHECK(r.out.at({0, 0, 0, 0}) == Approx(0.5));
  // Row 1 (p = 5): all three -> (0 + 1 + 2) / 3 = 1.
  CHECK(r.out.at({0, 1, 0, 0}) == Approx(1.0));
}

TEST_CASE("attention: a row with no allowed key", "[attention]") {
  // Keys at positions 3, 4 (offset 3); T = 5 rows at p = 0..4. Rows 0..2
  // precede every key.
  Tensor q = randomTensor({1, 5, 2, 3}, 1);
  Tensor k = randomTensor({1, 2, 1, 3}, 2);
  Tensor v{{1, 2, 1, 2}, {0.25f, -4.0f, 7.0f, 8.0f}};
  AttentionParams params;
  params.causal = true;
  params.keyOffset = 3;
  params.kvTokens = 5;
  const AttentionResult &r =
      requireOk(attention(q, k, v, nullptr, nullptr, params));
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t h = 0; h < 2; ++h) {
      // O = 0 (not 0/0 = NaN), LSE = -inf.
      CHECK(r.out.at({0, t, h, 0}) == 0.0f);
      CHECK(r.out.at({0, t, h, 1}) == 0.0f);
      CHECK(r.lse.at({0, h, t}) == -kInf);
    }
  // Row 3 (p = 3) sees exactly key 0, so O is V[0] exactly.
  CHECK(r.out.at({0, 3, 0, 0}) == 0.25f);
  CHECK(r.out.at({0, 3, 0, 1}) == -4.0f);
  for (float x : r.out.data)
    CHECK_FALSE(std::isnan(x));

  // The same through an all-padding selection: nothing allowed.
  IndexTensor indices{{1, 5, 1, 2}, {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
  AttentionParams sel;
  sel.kvBlock = 1;
  const AttentionResult &rs =
      requireOk(attention(q, k, v, &indices, nullptr, sel));
  for (float x : rs.out.data)
    CHECK(x == 0.0f);
  for (float x : rs.lse.data)
    CHECK(x == -kInf);
}

TEST_CASE("attention: one key gives V exactly", "[attention]") {
  // q = (1, 2), k = (3, 4): q.k = 11, scale 1/sqrt(2): LSE = 11 / sqrt(2) =
  // 7.7781746. The single weight is exp(0) = 1 and 1 * v / 1 = v exactly.
  Tensor q{{1, 1, 1, 2}, {1, 2}};
  Tensor k{{1, 1, 1, 2}, {3, 4}};
  Tensor v{{1, 1, 1, 3}, {0.1f, -3.7f, 1e-30f}};
  const AttentionResult &r =
      requireOk(attention(q, k, v, nullptr, nullptr, AttentionParams{}));
  CHECK(r.out.data == v.data);
  CHECK(r.lse.at({0, 0, 0}) == Approx(7.7781745930520225));
}

TEST_CASE("attention: uniform scores give LSE = log n", "[attention]") {
  // q = 0: seven scores of 0, LSE = log(7 * e^0) = 1.9459101; O the mean of
  // v = 1..7, 28 / 7 = 4.
  Tensor q = Tensor::zeros({1, 1, 1, 4});
  Tensor k = randomTensor({1, 7, 1, 4}, 3);
  Tensor v{{1, 7, 1, 1}, {1, 2, 3, 4, 5, 6, 7}};
  const AttentionResult &r =
      requireOk(attention(q, k, v, nullptr, nullptr, AttentionParams{}));
  CHECK(r.lse.at({0, 0, 0}) == Approx(1.9459101490553132));
  CHECK(r.out.at({0, 0, 0, 0}) == Approx(4.0));
}

TEST_CASE("attention: softcap", "[attention]") {
  // D = 1, q = 1, keys 1 and 0, scale 1, softcap 1: scores tanh(1) =
  // 0.7615942 and tanh(0) = 0. V one-hot picks each softmax weight:
  //   O0 = e^0.7616 / (e^0.7616 + 1) = 0.6816997, O1 = 0.3183003,
  //   LSE = log(e^0.7616 + 1) = 1.1447601.
  Tensor q{{1, 1, 1, 1}, {1}};
  Tensor k{{1, 2, 1, 1}, {1, 0}};
  Tensor v{{1, 2, 1, 2}, {1, 0, 0, 1}};
  AttentionParams params;
  params.scale = 1.0;
  params.softcap = 1.0;
  const AttentionResult &r =
      requireOk(attention(q, k, v, nullptr, nullptr, params));
  CHECK(r.out.at({0, 0, 0, 0}) == Approx(0.6816997421945262));
  CHECK(r.out.at({0, 0, 0, 1}) == Approx(0.3183002578054738));
  CHECK(r.lse.at({0, 0, 0}) == Approx(1.14476013474948));

  // One key, so LSE is the score itself: softcap 2, q.k = 4:
  // 2 tanh(4 / 2) = 1.9280552.
  Tensor k4{{1, 1, 1, 1}, {4}};
  Tensor v1{{1, 1, 1, 1}, {1}};
  params.softcap = 2.0;
  const AttentionResult &r2 =
      requireOk(attention(q, k4, v1, nullptr, nullptr, params));
  CHECK(r2.lse.at({0, 0, 0}) == Approx(1.9280551601516338));

  // The cap bounds the score: q.k = 1000 under softcap 1 scores
  // tanh(1000) = 1 (to double precision), so LSE = 1.
  Tensor kBig{{1, 1, 1, 1}, {1000}};
  params.softcap = 1.0;
  const AttentionResult &r3 =
      requireOk(attention(q, kBig, v1, nullptr, nullptr, params));
  CHECK(r3.lse.at({0, 0, 0}) == 1.0f);
}

TEST_CASE("attention: selection per head, per KV head, and q_block",
          "[attention]") {
  // S = 4, kvBlock 2: blocks {0, 1} and {2, 3}; V = 10, 20, 30, 40; q = 0
  // so O is the mean of the selected values.
  Tensor q = Tensor::zeros({1, 4, 2, 1}); // T = 4, Hq = 2
  Tensor k = Tensor::zeros({1, 4, 1, 1}); // Hkv = 1, G = 2
  Tensor v{{1, 4, 1, 1}, {10, 20, 30, 40}};
  AttentionParams params;
  params.kvBlock = 2;

  SECTION("H' = Hq: head 0 picks block 0, head 1 block 1") {
    IndexTensor indices{{1, 4, 2, 1}, {0, 1, 0, 1, 0, 1, 0, 1}};
    const AttentionResult &r =
        requireOk(attention(q, k, v, &indices, nullptr, params));
    for (int64_t t = 0; t < 4; ++t) {
      CHECK(r.out.at({0, t, 0, 0}) == Approx(15.0)); // (10 + 20) / 2
      CHECK(r.out.at({0, t, 1, 0}) == Approx(35.0)); // (30 + 40) / 2
    }
  }
  SECTION("H' = Hkv: the group shares one selection") {
    IndexTensor indices{{1, 4, 1, 1}, {1, 1, 0, 0}};
    const AttentionResult &r =
        requireOk(attention(q, k, v, &indices, nullptr, params));
    for (int64_t h = 0; h < 2; ++h) {
      CHECK(r.out.at({0, 0, h, 0}) == Approx(35.0));
      CHECK(r.out.at({0, 2, h, 0}) == Approx(15.0));
    }
  }
  SECTION("q_block 2: rows 0, 1 use entry 0 and rows 2, 3 entry 1") {
    params.qBlock = 2;
    IndexTensor indices{{1, 2, 1, 2}, {1, -1, 0, 1}};
    IndexTensor counts{{1, 2, 1}, {1, 2}};
    const AttentionResult &r =
        requireOk(attention(q, k, v, &indices, &counts, params));
    CHECK(r.out.at({0, 0, 0, 0}) == Approx(35.0)); // block 1
    CHECK(r.out.at({0, 1, 1, 0}) == Approx(35.0));
    CHECK(r.out.at({0, 2, 0, 0}) == Approx(25.0)); // blocks 0, 1: 100 / 4
    CHECK(r.out.at({0, 3, 1, 0}) == Approx(25.0));
  }
}

//===----------------------------------------------------------------------===//
// Block scores
//===----------------------------------------------------------------------===//

TEST_CASE("block_scores(nsa): Eq. 9 chunk-overlap weights", "[block_scores]") {
  // l = 32, d = 16, l' = 64, L = 256, T = 1 (p = 255 sees every compressed
  // key: nc = (256 - 32) / 16 + 1 = 15, last position 14 * 16 + 31 = 255).
  // nsel = 256 / 64 = 4; chunks of 16 tokens: compressed key i covers
  // chunks {i, i + 1}, selection block j covers {4j, .., 4j + 3}.
  //
  // One-hot p_cmp: D = 1, q = 1, scale 1, LSE_cmp = 0, k_cmp = 0 for the
  // target key (p = exp(0 - 0) = 1) and -1000 for the rest (exp(-1000)
  // underflows to exactly 0). The scores are then the overlap counts:
  //   i  chunks    j=0 j=1 j=2 j=3
  //   0  {0,1}      2   0   0   0
  //   1  {1,2}      2   0   0   0
  //   2  {2,3}      2   0   0   0
  //   3  {3,4}      1   1   0   0     <- i = 4j - 1 for j = 1: weight 1
  //   4  {4,5}      0   2   0   0     <- i = 4j
  //   5  {5,6}      0   2   0   0
  //   6  {6,7}      0   2   0   0     <- i = 4j + 2
  //   7  {7,8}      0   1   1   0     <- i = 4j + 3: weight 1
  //   8  {8,9}      0   0   2   0
  //   9  {9,10}     0   0   2   0
  //  10  {10,11}    0   0   2   0
  //  11  {11,12}    0   0   1   1
  //  12  {12,13}    0   0   0   2
  //  13  {13,14}    0   0   0   2
  //  14  {14,15}    0   0   0   2
  // Column j = 1 reads 1, 2, 2, 2, 1 on i = 3 .. 7 = 4j - 1 .. 4j + 3.
  const float expected[15][4] = {
      {2, 0, 0, 0}, // i = 0
      {2, 0, 0, 0}, // i = 1
      {2, 0, 0, 0}, // i = 2
      {1, 1, 0, 0}, // i = 3
      {0, 2, 0, 0}, // i = 4
      {0, 2, 0, 0}, // i = 5
      {0, 2, 0, 0}, // i = 6
      {0, 1, 1, 0}, // i = 7
      {0, 0, 2, 0}, // i = 8
      {0, 0, 2, 0}, // i = 9
      {0, 0, 2, 0}, // i = 10
      {0, 0, 1, 1}, // i = 11
      {0, 0, 0, 2}, // i = 12
      {0, 0, 0, 2}, // i = 13
      {0, 0, 0, 2}, // i = 14
  };
  Tensor q{{1, 1, 1, 1}, {1}};
  Tensor lse{{1, 1, 1}, {0}};
  for (int64_t target = 0; target < 15; ++target) {
    INFO("one-hot compressed key " << target);
    Tensor kCmp = Tensor::filled({1, 15, 1, 1}, -1000.0f);
    kCmp.at({0, target, 0, 0}) = 0.0f;
    const Tensor &scores =
        requireOk(blockScoresNsa(q, kCmp, lse, 256, 32, 16, 64, 1.0));
    REQUIRE(scores.shape == std::vector<int64_t>{1, 1, 1, 4});
    for (int64_t j = 0; j < 4; ++j)
      CHECK(scores.at({0, 0, 0, j}) == expected[target][j]);
  }
}

TEST_CASE("block_scores(nsa): Eq. 10 group sum", "[block_scores]") {
  // Same geometry, Hq = 2, Hkv = 1, D = 2. Head 0 (q = (1, 0)) sees only
  // key 4 (k = (0, -1000)); head 1 (q = (0, 1)) only key 3 (k = (-1000, 0));
  // every other key is (-1000, -1000). LSE = 0 for both heads.
  //   head 0, key 4: j = 1 weight 2
  //   head 1, key 3: j = 0 weight 1, j = 1 weight 1
  //   sum: j0 = 1, j1 = 2 + 1 = 3, j2 = j3 = 0.
  Tensor q{{1, 1, 2, 2}, {1, 0, 0, 1}};
  Tensor kCmp = Tensor::filled({1, 15, 1, 2}, -1000.0f);
  kCmp.at({0, 4, 0, 0}) = 0.0f;
  kCmp.at({0, 3, 0, 1}) = 0.0f;
  Tensor lse = Tensor::zeros({1, 2, 1});
  const Tensor &scores =
      requireOk(blockScoresNsa(q, kCmp, lse, 256, 32, 16, 64, 1.0));
  REQUIRE(scores.shape == std::vector<int64_t>{1, 1, 1, 4});
  CHECK(scores.data == std::vector<float>{1, 3, 0, 0});
}

TEST_CASE("block_scores(nsa): visibility and future blocks", "[block_scores]") {
  // L = T = 100, so row t sits at p = t. nc = (100 - 32) / 16 + 1 = 5
  // compressed keys at positions 31, 47, 63, 79, 95; nsel = ceil(100 / 64)
  // = 2. q = 0 and LSE = 0 make p_cmp = 1 for every visible key.
  Tensor q = Tensor::zeros({1, 100, 1, 1});
  Tensor kCmp = Tensor::zeros({1, 5, 1, 1});
  Tensor lse = Tensor::zeros({1, 1, 100});
  const Tensor &s =
      requireOk(blockScoresNsa(q, kCmp, lse, 100, 32, 16, 64, 1.0));
  REQUIRE(s.shape == std::vector<int64_t>{1, 100, 1, 2});
  // p = 30: no compressed key yet (31 > 30): -inf everywhere.
  CHECK(s.at({0, 30, 0, 0}) == -kInf);
  CHECK(s.at({0, 30, 0, 1}) == -kInf);
  // p = 31: key 0 (chunks {0, 1}) gives j0 = 2; j1 starts at 64 > 31: -inf.
  CHECK(s.at({0, 31, 0, 0}) == 2.0f);
  CHECK(s.at({0, 31, 0, 1}) == -kInf);
  // p = 63: keys 0, 1, 2 each put 2 on j0 = 6; j1 still future.
  CHECK(s.at({0, 63, 0, 0}) == 6.0f);
  CHECK(s.at({0, 63, 0, 1}) == -kInf);
  // p = 64: j1 is the query's own block (64 <= 64), not future, but no
  // visible key overlaps it yet: score 0, not -inf.
  CHECK(s.at({0, 64, 0, 0}) == 6.0f);
  CHECK(s.at({0, 64, 0, 1}) == 0.0f);
  // p = 79: key 3 (chunks {3, 4}) adds 1 to each: j0 = 7, j1 = 1.
  CHECK(s.at({0, 79, 0, 0}) == 7.0f);
  CHECK(s.at({0, 79, 0, 1}) == 1.0f);
  // p = 99: key 4 (chunks {4, 5}) adds 2 to j1: j0 = 7, j1 = 3.
  CHECK(s.at({0, 99, 0, 0}) == 7.0f);
  CHECK(s.at({0, 99, 0, 1}) == 3.0f);
}

TEST_CASE("block_scores(nsa): l = l' = d is the identity", "[block_scores]") {
  // l = l' = d = 16, L = 70, T = 1, p = 69. nc = (70 - 16) / 16 + 1 = 4 at
  // positions 15, 31, 47, 63, all visible. nsel = ceil(70 / 16) = 5.
  // k_cmp[i] = log(i + 1), q = 1, scale 1, LSE = 0: p_cmp[i] = i + 1, and
  // the identity remap gives block j score j + 1. Block 4 (tokens 64..69)
  // is the query's own, with no compressed key yet: 0.
  Tensor q{{1, 1, 1, 1}, {1}};
  Tensor kCmp = Tensor::zeros({1, 4, 1, 1});
  for (int64_t i = 0; i < 4; ++i)
    kCmp.at({0, i, 0, 0}) = static_cast<float>(std::log(i + 1.0));
  Tensor lse{{1, 1, 1}, {0}};
  const Tensor &s =
      requireOk(blockScoresNsa(q, kCmp, lse, 70, 16, 16, 16, 1.0));
  REQUIRE(s.shape == std::vector<int64_t>{1, 1, 1, 5});
  CHECK(s.at({0, 0, 0, 0}) == Approx(1.0));
  CHECK(s.at({0, 0, 0, 1}) == Approx(2.0));
  CHECK(s.at({0, 0, 0, 2}) == Approx(3.0));
  CHECK(s.at({0, 0, 0, 3}) == Approx(4.0));
  CHECK(s.at({0, 0, 0, 4}) == 0.0f);
}

TEST_CASE("block_scores(nsa): consistent with the compressed attention",
          "[block_scores]") {
  // With the LSE of the compressed attention itself, p_cmp sums to 1 over
  // each head's visible keys. With l = l' = d the remap is the identity and
  // a visible key's block is never future, so each row's finite scores sum
  // to G = 2: one unit of probability per query head of the group.
  Tensor q = randomTensor({1, 40, 4, 8}, 11);
  Tensor kCmp = randomTensor({1, 5, 2, 8}, 12); // L = 80, l = d = 16
  Tensor vCmp = randomTensor({1, 5, 2, 8}, 13);
  AttentionParams params;
  params.causal = true;
  params.keyStride = 16;
  params.keyOffset = 15;
  params.kvTokens = 80;
  const AttentionResult &cmp =
      requireOk(attention(q, kCmp, vCmp, nullptr, nullptr, params));
  const Tensor &s = requireOk(blockScoresNsa(q, kCmp, cmp.lse, 80, 16, 16, 16));
  for (int64_t t = 0; t < 40; ++t)
    for (int64_t g = 0; g < 2; ++g) {
      double sum = 0;
      for (int64_t j = 0; j < 5; ++j)
        if (!std::isinf(s.at({0, t, g, j})))
          sum += s.at({0, t, g, j});
      // Rows 40 + t >= 15 always see a key here, so the sum is G = 2.
      CHECK(sum == Approx(2.0).epsilon(1e-5));
    }
}

TEST_CASE("block_scores(moba): past complete blocks only", "[block_scores]") {
  // L = T = 8, block 2, D = 1, Hq = Hkv = 1. k = 1 1 -1 -1 2 2 0 0, so the
  // block means are 1, -1, 2, 0. q = 3 for every row: scores 3 * mean for
  // blocks j < floor(p / 2), no scale by default.
  Tensor q = Tensor::filled({1, 8, 1, 1}, 3.0f);
  Tensor k{{1, 8, 1, 1}, {1, 1, -1, -1, 2, 2, 0, 0}};
  const Tensor &kMean = requireOk(pool(k, PoolKind::Mean, 2, 2));
  CHECK(kMean.data == std::vector<float>{1, -1, 2, 0});
  const Tensor &s = requireOk(blockScoresMoba(q, kMean, 8, 2));
  REQUIRE(s.shape == std::vector<int64_t>{1, 8, 1, 4});
  // p = 1: own block 0, nothing before it.
  CHECK(s.at({0, 1, 0, 0}) == -kInf);
  // p = 2: own block 1; block 0 scores 3 * 1 = 3; blocks 1..3 -inf.
  CHECK(s.at({0, 2, 0, 0}) == 3.0f);
  CHECK(s.at({0, 2, 0, 1}) == -kInf);
  CHECK(s.at({0, 2, 0, 2}) == -kInf);
  // p = 7: own block 3; blocks 0, 1, 2 score 3, -3, 6.
  CHECK(s.at({0, 7, 0, 0}) == 3.0f);
  CHECK(s.at({0, 7, 0, 1}) == -3.0f);
  CHECK(s.at({0, 7, 0, 2}) == 6.0f);
  CHECK(s.at({0, 7, 0, 3}) == -kInf);
  // With a gate scale of 0.5: 1.5, -1.5, 3.
  const Tensor &scaled = requireOk(blockScoresMoba(q, kMean, 8, 2, 0.5));
  CHECK(scaled.at({0, 7, 0, 2}) == 3.0f);
}

//===----------------------------------------------------------------------===//
// Top-k
//===----------------------------------------------------------------------===//

TEST_CASE("topk: forced blocks, ties, -inf, NaN, padding", "[topk]") {
  // L = 32, block 4: 8 blocks; T = 1 so p = 31 and the own block o = 7.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor scores{{1, 1, 1, 8}, {9, 1, 5, 3, 5, 2, 8, 8}};

  // n = 4, forceFirst 1, forceLast 2: forced {0} and {6, 7}; one slot left,
  // blocks 2 and 4 tie at 5 and the lower index wins: {0, 2, 6, 7}.
  const TopkResult &r = requireOk(topk(scores, 32, 4, 4, 1, 2));
  CHECK(r.indices.data == std::vector<int32_t>{0, 2, 6, 7});
  CHECK(r.counts.data == std::vector<int32_t>{4});

  // n = 5: then block 4 (the other 5): {0, 2, 4, 6, 7}.
  const TopkResult &r5 = requireOk(topk(scores, 32, 4, 5, 1, 2));
  CHECK(r5.indices.data == std::vector<int32_t>{0, 2, 4, 6, 7});

  // Block 3 is -inf and block 5 NaN: neither is chosen by score even with
  // room to spare. Forced {0, 6, 7} plus 1, 2, 4 = 6 entries, 2 pads.
  Tensor holes{{1, 1, 1, 8}, {9, 1, 5, -kInf, 5, nan, 8, 8}};
  const TopkResult &rh = requireOk(topk(holes, 32, 4, 8, 1, 2));
  CHECK(rh.indices.data == std::vector<int32_t>{0, 1, 2, 4, 6, 7, -1, -1});
  CHECK(rh.counts.data == std::vector<int32_t>{6});

  // Forced blocks are kept whatever their score: all -inf keeps {0, 6, 7}.
  Tensor none = Tensor::filled({1, 1, 1, 8}, -kInf);
  const TopkResult &rn = requireOk(topk(none, 32, 4, 4, 1, 2));
  CHECK(rn.indices.data == std::vector<int32_t>{0, 6, 7, -1});
  CHECK(rn.counts.data == std::vector<int32_t>{3});

  // All scores equal: ties resolve to the lowest indices.
  Tensor flat = Tensor::zeros({1, 1, 1, 8});
  const TopkResult &rf = requireOk(topk(flat, 32, 4, 3, 0, 0));
  CHECK(rf.indices.data == std::vector<int32_t>{0, 1, 2});
}

TEST_CASE("topk: never a future block, forced ranges clamped", "[topk]") {
  // L = T = 32, block 4: row t is at p = t, own block o = t / 4. Future
  // blocks get the highest scores to tempt the selection.
  Tensor scores = Tensor::zeros({1, 32, 1, 8});
  for (int64_t t = 0; t < 32; ++t)
    for (int64_t j = 0; j < 8; ++j)
      scores.at({0, t, 0, j}) = j > t / 4 ? 100.0f : static_cast<float>(j);

  const TopkResult &r = requireOk(topk(scores, 32, 4, 4, 1, 2));
  // p = 0, o = 0: forceFirst {0}, forceLast {-1, 0} clamped to {0}: {0}.
  CHECK(r.indices.at({0, 0, 0, 0}) == 0);
  CHECK(r.indices.at({0, 0, 0, 1}) == -1);
  CHECK(r.counts.at({0, 0, 0}) == 1);
  // p = 5, o = 1: forced {0} and {0, 1}; nothing else is <= o: {0, 1}.
  CHECK(r.counts.at({0, 5, 0}) == 2);
  CHECK(r.indices.at({0, 5, 0, 0}) == 0);
  CHECK(r.indices.at({0, 5, 0, 1}) == 1);
  CHECK(r.indices.at({0, 5, 0, 2}) == -1);
  // p = 17, o = 4: forced {0, 3, 4}; best of {1, 2} by score j is 2.
  CHECK(r.counts.at({0, 17, 0}) == 4);
  CHECK(r.indices.at({0, 17, 0, 0}) == 0);
  CHECK(r.indices.at({0, 17, 0, 1}) == 2);
  CHECK(r.indices.at({0, 17, 0, 2}) == 3);
  CHECK(r.indices.at({0, 17, 0, 3}) == 4);

  // forceFirst 3 at p = 5 (o = 1) clamps to {0, 1}.
  const TopkResult &rc = requireOk(topk(scores, 32, 4, 3, 3, 0));
  CHECK(rc.indices.at({0, 5, 0, 0}) == 0);
  CHECK(rc.indices.at({0, 5, 0, 1}) == 1);
  CHECK(rc.indices.at({0, 5, 0, 2}) == -1);
  CHECK(rc.counts.at({0, 5, 0}) == 2);

  // forceFirst + forceLast > n is an error.
  requireError(topk(scores, 32, 4, 2, 1, 2), "exceeds n");
}

//===----------------------------------------------------------------------===//
// Merge and combine
//===----------------------------------------------------------------------===//

TEST_CASE("merge: hand values", "[merge]") {
  // LSEs 0 and 0, O = 1 and 3: LSE = log 2 = 0.6931472, weights 1/2 each,
  // O = 2.
  Tensor o1{{1, 1, 1, 1}, {1}}, o2{{1, 1, 1, 1}, {3}};
  Tensor l1{{1, 1, 1}, {0}}, l2{{1, 1, 1}, {0}};
  const AttentionResult &r = requireOk(merge({o1, o2}, {l1, l2}));
  CHECK(r.out.data[0] == Approx(2.0));
  CHECK(r.lse.data[0] == Approx(0.6931471805599453));

  // One empty partial (LSE -inf) contributes nothing: O and LSE of the other
  // one exactly (weight exp(0) = 1, exp(-inf) = 0).
  Tensor o3{{1, 1, 1, 1}, {5}}, o4{{1, 1, 1, 1}, {7}};
  Tensor l3{{1, 1, 1}, {1.0986123f}}, l4{{1, 1, 1}, {-kInf}};
  const AttentionResult &r2 = requireOk(merge({o3, o4}, {l3, l4}));
  CHECK(r2.out.data[0] == 5.0f);
  CHECK(r2.lse.data[0] == 1.0986123f);

  // Two empty partials: O = 0, LSE = -inf, no NaN.
  Tensor l5{{1, 1, 1}, {-kInf}};
  const AttentionResult &r3 = requireOk(merge({o3, o4}, {l5, l5}));
  CHECK(r3.out.data[0] == 0.0f);
  CHECK(r3.lse.data[0] == -kInf);
}

TEST_CASE("merge: halves of the keys equal full attention", "[merge]") {
  // B = 2, T = 6, Hq = 4, Hkv = 2, S = 10, D = 8, Dv = 5.
  Tensor q = randomTensor({2, 6, 4, 8}, 21);
  Tensor k = randomTensor({2, 10, 2, 8}, 22);
  Tensor v = randomTensor({2, 10, 2, 5}, 23);
  Tensor kLo = sliceKeys(k, 0, 4), kHi = sliceKeys(k, 4, 10);
  Tensor vLo = sliceKeys(v, 0, 4), vHi = sliceKeys(v, 4, 10);

  SECTION("dense") {
    AttentionParams params;
    const AttentionResult &full =
        requireOk(attention(q, k, v, nullptr, nullptr, params));
    const AttentionResult &lo =
        requireOk(attention(q, kLo, vLo, nullptr, nullptr, params));
    const AttentionResult &hi =
        requireOk(attention(q, kHi, vHi, nullptr, nullptr, params));
    const AttentionResult &m =
        requireOk(merge({lo.out, hi.out}, {lo.lse, hi.lse}));
    requireClose(m.out, full.out, 1e-6);
    requireClose(m.lse, full.lse, 1e-6);
  }
  SECTION("causal, the second half placed by keyOffset") {
    // Rows sit at p = 4..9; the upper half holds keys at positions 4..9, so
    // row p = 4 sees one of them and the lower half sees all four of its
    // keys. Positions must come from keyOffset and kvTokens = 10.
    AttentionParams params;
    params.causal = true;
    const AttentionResult &full =
        requireOk(attention(q, k, v, nullptr, nullptr, params));
    AttentionParams loParams = params;
    loParams.kvTokens = 10;
    AttentionParams hiParams = loParams;
    hiParams.keyOffset = 4;
    const AttentionResult &lo =
        requireOk(attention(q, kLo, vLo, nullptr, nullptr, loParams));
    const AttentionResult &hi =
        requireOk(attention(q, kHi, vHi, nullptr, nullptr, hiParams));
    const AttentionResult &m =
        requireOk(merge({lo.out, hi.out}, {lo.lse, hi.lse}));
    requireClose(m.out, full.out, 1e-6);
    requireClose(m.lse, full.lse, 1e-6);
  }
  SECTION("disjoint selections") {
    // Blocks of 2 keys: {0, 3} and {1, 2, 4} cover all five blocks once.
    AttentionParams params;
    params.kvBlock = 2;
    const AttentionResult &full =
        requireOk(attention(q, k, v, nullptr, nullptr, params));
    IndexTensor a = IndexTensor::zeros({2, 6, 2, 3});
    IndexTensor c = IndexTensor::zeros({2, 6, 2, 3});
    for (size_t i = 0; i < a.data.size(); i += 3) {
      a.data[i] = 3, a.data[i + 1] = 0, a.data[i + 2] = -1;
      c.data[i] = 4, c.data[i + 1] = 1, c.data[i + 2] = 2;
    }
    const AttentionResult &ra =
        requireOk(attention(q, k, v, &a, nullptr, params));
    const AttentionResult &rc =
        requireOk(attention(q, k, v, &c, nullptr, params));
    const AttentionResult &m =
        requireOk(merge({ra.out, rc.out}, {ra.lse, rc.lse}));
    requireClose(m.out, full.out, 1e-6);
    requireClose(m.lse, full.lse, 1e-6);
  }
}

TEST_CASE("combine: gated sum", "[combine]") {
  // O1 = (1, 2), O2 = (10, 20), gates 0.5 and 2: (0.5 + 20, 1 + 40).
  Tensor o1{{1, 1, 1, 2}, {1, 2}}, o2{{1, 1, 1, 2}, {10, 20}};
  Tensor g1{{1, 1, 1}, {0.5f}}, g2{{1, 1, 1}, {2}};
  const Tensor &r = requireOk(combine({o1, o2}, {g1, g2}));
  CHECK(r.data == std::vector<float>{20.5f, 41.0f});
  requireError(combine({o1, o2}, {g1}), "2 outputs but 1 gates");
}

//===----------------------------------------------------------------------===//
// Pool
//===----------------------------------------------------------------------===//

TEST_CASE("pool: mean block counts and values", "[pool]") {
  // x[s] = s, B = H = D = 1.
  Tensor x5{{1, 5, 1, 1}, {0, 1, 2, 3, 4}};
  // l = 2, d = 2, S = 5: nb = (5 - 2) / 2 + 1 = 2; token 4 is in no
  // complete block. Means (0 + 1) / 2 = 0.5 and (2 + 3) / 2 = 2.5.
  const Tensor &a = requireOk(pool(x5, PoolKind::Mean, 2, 2));
  CHECK(a.shape == std::vector<int64_t>{1, 2, 1, 1});
  CHECK(a.data == std::vector<float>{0.5f, 2.5f});

  // Overlapping: l = 4, d = 2, S = 8: nb = (8 - 4) / 2 + 1 = 3, blocks
  // [0, 4) [2, 6) [4, 8): means 1.5, 3.5, 5.5.
  Tensor x8{{1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7}};
  const Tensor &b = requireOk(pool(x8, PoolKind::Mean, 4, 2));
  CHECK(b.data == std::vector<float>{1.5f, 3.5f, 5.5f});

  // S = l: exactly one block; S < l: none, shape [1, 0, 1, 1].
  const Tensor &c = requireOk(pool(x8, PoolKind::Mean, 8, 16));
  CHECK(c.data == std::vector<float>{3.5f});
  const Tensor &d = requireOk(pool(x5, PoolKind::Mean, 8, 4));
  CHECK(d.shape == std::vector<int64_t>{1, 0, 1, 1});
  CHECK(d.data.empty());
}

TEST_CASE("pool: linear with position embedding", "[pool]") {
  // l = 2, d = 2, D = 2, Dout = 2, S = 2 (one block): tokens (1, 2) and
  // (3, 4) flatten token-major to (1, 2, 3, 4). Weight column 0 is
  // (1, 10, 100, 1000): 1 + 20 + 300 + 4000 = 4321; column 1 all ones: 10.
  Tensor x{{1, 2, 1, 2}, {1, 2, 3, 4}};
  Tensor w{{4, 2}, {1, 1, 10, 1, 100, 1, 1000, 1}};
  const Tensor &a = requireOk(pool(x, PoolKind::Linear, 2, 2, &w));
  CHECK(a.shape == std::vector<int64_t>{1, 1, 1, 2});
  CHECK(a.data == std::vector<float>{4321.0f, 10.0f});

  // posEmb row j is added to token j: (0.5, 0) on token 0 and (0, 0.25) on
  // token 1 give (1.5, 2, 3, 4.25): column 0 4321 + 0.5 + 250 = 4571.5,
  // column 1 10 + 0.75 = 10.75.
  Tensor pe{{2, 2}, {0.5f, 0, 0, 0.25f}};
  const Tensor &b = requireOk(pool(x, PoolKind::Linear, 2, 2, &w, &pe));
  CHECK(b.data == std::vector<float>{4571.5f, 10.75f});

  requireError(pool(x, PoolKind::Linear, 2, 2), "needs operand 'weights'");
  requireError(pool(x, PoolKind::Mean, 2, 2, &w), "takes no 'weights'");
  Tensor wBad{{3, 2}, {1, 1, 1, 1, 1, 1}};
  requireError(pool(x, PoolKind::Linear, 2, 2, &wBad), "'weights'");
}

//===----------------------------------------------------------------------===//
// GQA
//===----------------------------------------------------------------------===//

TEST_CASE("attention: GQA group of 2 equals replicated KV heads", "[gqa]") {
  // Hq = 4 on Hkv = 2 must equal Hq = 4 on the KV heads repeated to 4:
  // head h reads KV head h / 2 in both, so the arithmetic is identical.
  Tensor q = randomTensor({2, 5, 4, 8}, 31);
  Tensor k = randomTensor({2, 7, 2, 8}, 32);
  Tensor v = randomTensor({2, 7, 2, 3}, 33);
  AttentionParams params;
  params.causal = true;
  params.window = 3;
  params.sink = 1;
  const AttentionResult &grouped =
      requireOk(attention(q, k, v, nullptr, nullptr, params));
  const AttentionResult &replicated = requireOk(attention(
      q, repeatHeads(k, 2), repeatHeads(v, 2), nullptr, nullptr, params));
  CHECK(grouped.out.data == replicated.out.data);
  CHECK(grouped.lse.data == replicated.lse.data);

  // A selection shared by the group (H' = Hkv) equals the same selection
  // given per head (H' = Hq), each entry repeated for the group's heads.
  params = AttentionParams{};
  params.kvBlock = 3;
  IndexTensor shared = IndexTensor::zeros({2, 5, 2, 2});
  for (size_t i = 0; i < shared.data.size(); ++i)
    shared.data[i] = static_cast<int32_t>((i * 7) % 4) - 1; // -1..2
  IndexTensor perHead = IndexTensor::zeros({2, 5, 4, 2});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t i = 0; i < 2; ++i)
          perHead.at({b, t, h, i}) = shared.at({b, t, h / 2, i});
  const AttentionResult &a =
      requireOk(attention(q, k, v, &shared, nullptr, params));
  const AttentionResult &b =
      requireOk(attention(q, k, v, &perHead, nullptr, params));
  CHECK(a.out.data == b.out.data);
  CHECK(a.lse.data == b.lse.data);
}

//===----------------------------------------------------------------------===//
// Variants
//===----------------------------------------------------------------------===//

TEST_CASE("moba: routing by hand", "[moba]") {
  // S = T = 8, block 2, top-2, D = 1: k = 1 1 -1 -1 2 2 0 0 has block means
  // 1, -1, 2, 0 and q = 1 scores them 1, -1, 2 (past blocks only).
  Tensor q = Tensor::filled({1, 8, 1, 1}, 1.0f);
  Tensor k{{1, 8, 1, 1}, {1, 1, -1, -1, 2, 2, 0, 0}};
  Tensor v = randomTensor({1, 8, 1, 2}, 41);
  MobaParams params;
  params.block = 2;
  params.topK = 2;
  const MobaResult &r = requireOk(moba(q, k, v, params));
  const IndexTensor &idx = r.selection.indices;
  // p = 1: own block 0 only.
  CHECK(idx.at({0, 1, 0, 0}) == 0);
  CHECK(idx.at({0, 1, 0, 1}) == -1);
  // p = 5: own block 2 forced; block 0 (1) beats block 1 (-1): {0, 2}.
  CHECK(idx.at({0, 5, 0, 0}) == 0);
  CHECK(idx.at({0, 5, 0, 1}) == 2);
  // p = 7: own block 3; block 2 (2) is best: {2, 3}.
  CHECK(idx.at({0, 7, 0, 0}) == 2);
  CHECK(idx.at({0, 7, 0, 1}) == 3);

  // Row 7 then attends keys 4..7 only: its output equals causal attention
  // over those four keys (placed at positions 4..7).
  AttentionParams ref;
  ref.causal = true;
  ref.keyOffset = 4;
  ref.kvTokens = 8;
  Tensor q7{{1, 1, 1, 1}, {1}};
  const AttentionResult &direct = requireOk(attention(
      q7, sliceKeys(k, 4, 8), sliceKeys(v, 4, 8), nullptr, nullptr, ref));
  CHECK(r.attention.out.at({0, 7, 0, 0}) ==
        Approx(direct.out.at({0, 0, 0, 0})));
  CHECK(r.attention.out.at({0, 7, 0, 1}) ==
        Approx(direct.out.at({0, 0, 0, 1})));
  CHECK(r.attention.lse.at({0, 0, 7}) == Approx(direct.lse.at({0, 0, 0})));
}

TEST_CASE("moba: top-k over all blocks is causal attention", "[moba]") {
  // With k >= the number of blocks every past block is chosen, so MoBA is
  // plain causal attention. Hq = 4, Hkv = 2, S = T = 20, block 4.
  Tensor q = randomTensor({1, 20, 4, 8}, 51);
  Tensor k = randomTensor({1, 20, 2, 8}, 52);
  Tensor v = randomTensor({1, 20, 2, 8}, 53);
  MobaParams params;
  params.block = 4;
  params.topK = 5;
  const MobaResult &r = requireOk(moba(q, k, v, params));
  AttentionParams causal;
  causal.causal = true;
  const AttentionResult &full =
      requireOk(attention(q, k, v, nullptr, nullptr, causal));
  requireClose(r.attention.out, full.out, 1e-6);
  requireClose(r.attention.lse, full.lse, 1e-6);
}

TEST_CASE("nsa: branches against plain attention", "[nsa]") {
  // S = T = 160, Hq = 4, Hkv = 2, D = 16. nsel = ceil(160 / 64) = 3.
  Tensor q = randomTensor({1, 160, 4, 16}, 61);
  Tensor k = randomTensor({1, 160, 2, 16}, 62);
  Tensor v = randomTensor({1, 160, 2, 16}, 63);
  Tensor zero = Tensor::zeros({1, 160, 4});
  Tensor one = Tensor::filled({1, 160, 4}, 1.0f);
  AttentionParams causal;
  causal.causal = true;
  const AttentionResult &full =
      requireOk(attention(q, k, v, nullptr, nullptr, causal));

  SECTION("window branch: S < 512 makes it causal attention") {
    const NsaResult &r = requireOk(nsa(q, k, v, zero, zero, one));
    requireClose(r.out, full.out, 1e-6);
  }
  SECTION("selected branch with n = nsel is causal attention") {
    // Every non-future block has a finite score (or, for rows that see no
    // compressed key, p < 31, is block 0 = forced), so all are chosen.
    NsaParams params;
    params.numSelected = 3;
    const NsaResult &r = requireOk(nsa(q, k, v, zero, one, zero, params));
    requireClose(r.out, full.out, 1e-6);
  }
  SECTION("paper defaults: intermediates have the contract's shapes") {
    const NsaResult &r = requireOk(nsa(q, k, v, one, one, one));
    // nc = (160 - 32) / 16 + 1 = 9.
    CHECK(r.kCmp.shape == std::vector<int64_t>{1, 9, 2, 16});
    CHECK(r.blockScores.shape == std::vector<int64_t>{1, 160, 2, 3});
    CHECK(r.selection.indices.shape == std::vector<int64_t>{1, 160, 2, 16});
    // Row 30 sees no compressed key (31 > 30): -inf everywhere, and only
    // the forced block 0 (o = 0).
    CHECK(r.blockScores.at({0, 30, 0, 0}) == -kInf);
    CHECK(r.selection.counts.at({0, 30, 0}) == 1);
    CHECK(r.compressed.lse.at({0, 0, 30}) == -kInf);
    // Row 159 (o = 2): forced 0 and {1, 2}: all three.
    CHECK(r.selection.counts.at({0, 159, 1}) == 3);
    for (float x : r.out.data)
      CHECK_FALSE(std::isnan(x));
  }
}

//===----------------------------------------------------------------------===//
// Argument errors
//===----------------------------------------------------------------------===//

TEST_CASE("errors: bad arguments are reported, not fatal", "[errors]") {
  Tensor q = randomTensor({1, 4, 3, 8}, 71);
  Tensor k = randomTensor({1, 4, 2, 8}, 72);
  Tensor v = randomTensor({1, 4, 2, 8}, 73);
  AttentionParams params;
  // Hq = 3 over Hkv = 2.
  requireError(attention(q, k, v, nullptr, nullptr, params),
               "not a multiple of KV heads");

  Tensor q4 = randomTensor({1, 4, 4, 8}, 74);
  Tensor kShort = randomTensor({1, 4, 2, 7}, 75);
  requireError(attention(q4, kShort, v, nullptr, nullptr, params),
               "operand 'k'");
  Tensor vLong = randomTensor({1, 5, 2, 8}, 76);
  requireError(attention(q4, k, vLong, nullptr, nullptr, params),
               "operand 'v'");
  Tensor kRank3{{1, 4, 2}, std::vector<float>(8)};
  requireError(attention(q4, kRank3, v, nullptr, nullptr, params), "rank 3");
  Tensor kWrongData{{1, 4, 2, 8}, std::vector<float>(3)};
  requireError(attention(q4, kWrongData, v, nullptr, nullptr, params),
               "elements");

  params.scale = std::numeric_limits<double>::quiet_NaN();
  requireError(attention(q4, k, v, nullptr, nullptr, params), "scale");
  params.scale = std::numeric_limits<double>::infinity();
  requireError(attention(q4, k, v, nullptr, nullptr, params), "scale");
  params.scale.reset();
  params.softcap = 0.0;
  requireError(attention(q4, k, v, nullptr, nullptr, params), "softcap");
  params.softcap.reset();

  IndexTensor indices = IndexTensor::zeros({1, 4, 2, 2});
  params.kvBlock = 0;
  requireError(attention(q4, k, v, &indices, nullptr, params), "kvBlock");
  params.kvBlock = 2;
  IndexTensor badHeads = IndexTensor::zeros({1, 4, 3, 2});
  requireError(attention(q4, k, v, &badHeads, nullptr, params),
               "expected Hkv = 2 or Hq = 4");
  IndexTensor counts = IndexTensor::filled({1, 4, 2}, 3);
  requireError(attention(q4, k, v, &indices, &counts, params),
               "operand 'counts' holds 3");
  requireError(attention(q4, k, v, nullptr, &counts, params),
               "without 'indices'");
  params.qBlock = 0;
  requireError(attention(q4, k, v, &indices, nullptr, params), "qBlock");

  requireError(pool(k, PoolKind::Mean, 0, 1), "block");
  Tensor lse = Tensor::zeros({1, 4, 4});
  // L = 48, l = 32, d = 16: (48 - 32) / 16 + 1 = 2 compressed keys.
  Tensor kCmp = Tensor::zeros({1, 2, 2, 8});
  requireError(blockScoresNsa(q4, kCmp, lse, 48, 32, 12, 64),
               "not a multiple of cmpStride");
  requireError(blockScoresNsa(q4, kCmp, lse, 48, 32, 16, 64, 0.0, -1.0),
               "softcap");
  requireError(topk(Tensor::zeros({1, 4, 2, 3}), 8, 4, 4, 0, 1),
               "ceil(kvTokens / block)");
  requireError(merge({}, {}), "no partial outputs");
}
