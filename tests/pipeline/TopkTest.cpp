//===- TopkTest.cpp - skim.topk on its own against ref::topk --------------===//
//
// Scores come in as a function argument, so top-k is tested apart from the
// scoring kernels: n from 1 to 8 and 16, every force_first / force_last
// combination that fits, kv_tokens from tensor.dim of another argument or a
// constant, T = L, decode and chunked prefill. Random float scores may swap
// blocks whose scores lie within 1e-6 of the n-th; scores with exact
// duplicates (small integers), -inf, NaN and +inf must match exactly: ties
// go to the lower index, -inf and NaN are never chosen by score, and no
// block after the row's own block is ever chosen, forced or not.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

struct TopkIR {
  int64_t heads = 3, n = 4, block = 64, forceFirst = 0, forceLast = 0;
  KvTokens kvTokens = KvTokens::DimOfRaw;
  int64_t tokens = 0; // for KvTokens::Constant

  std::string mlir() const {
    std::string h = std::to_string(heads), ns = std::to_string(n);
    std::string scores = "tensor<?x?x" + h + "x?xf32>";
    std::string idx = "tensor<?x?x" + h + "x" + ns + "xi32>";
    std::string cnt = "tensor<?x?x" + h + "xi32>";
    std::string s = "func.func @topk(%s: " + scores;
    if (kvTokens == KvTokens::DimOfRaw)
      s += ", %raw: tensor<?x?xf32>";
    s += ") -> (" + idx + ", " + cnt + ") {\n";
    if (kvTokens == KvTokens::DimOfRaw)
      s += "  %c1 = arith.constant 1 : index\n"
           "  %L = tensor.dim %raw, %c1 : tensor<?x?xf32>\n";
    else
      s += "  %L = arith.constant " + std::to_string(tokens) + " : index\n";
    s += "  %i, %c = skim.topk %s kv_tokens(%L) {n = " + ns +
         ", block = " + std::to_string(block) +
         ", force_first = " + std::to_string(forceFirst) +
         ", force_last = " + std::to_string(forceLast) + "} : " + scores + "\n";
    s += "  return %i, %c : " + idx + ", " + cnt + "\n}\n";
    return s;
  }
  std::string describe() const {
    std::ostringstream os;
    os << "H=" << heads << " n=" << n << " block=" << block
       << " force_first=" << forceFirst << " force_last=" << forceLast
       << (kvTokens == KvTokens::Constant ? " kv_tokens=constant"
                                          : " kv_tokens=dim");
    return os.str();
  }
};

enum class Scores { Random, Ties, Infinities };

/// Scores [B, T, H, ceil(L / block)] of the given kind.
ref::Tensor makeScores(int64_t batch, int64_t rows, int64_t heads,
                       int64_t blocks, Scores kind, unsigned seed) {
  ref::Tensor s = random({batch, rows, heads, blocks}, seed);
  std::mt19937 rng(seed * 7 + 1);
  const float inf = std::numeric_limits<float>::infinity();
  for (float &x : s.data) {
    if (kind == Scores::Ties) {
      x = float(rng() % 4); // many exact duplicates
    } else if (kind == Scores::Infinities) {
      switch (rng() % 20) {
      case 0:
      case 1:
      case 2:
      case 3:
        x = -inf;
        break;
      case 4:
        x = std::numeric_limits<float>::quiet_NaN();
        break;
      case 5:
        x = inf;
        break;
      case 6:
      case 7:
        x = 0.5f; // ties among finite scores too
        break;
      default:
        break;
      }
    }
  }
  return s;
}

/// "" when the kernel's selection matches the reference's; with `nearTies`,
/// a row may differ by blocks whose scores lie within 1e-6 of the n-th
/// chosen score, as long as the result is still a valid selection (same
/// count, ascending, unique, forced blocks in, nothing after the own block).
std::string compareTopk(const TopkIR &ir, const ref::Tensor &scores,
                        int64_t tokens, const ref::Tensor &gotIdx,
                        const ref::Tensor &gotCnt, bool nearTies) {
  auto want =
      ref::topk(scores, tokens, ir.block, ir.n, ir.forceFirst, ir.forceLast);
  if (!want)
    return "reference: " + want.error();
  std::string exact = compareExact("indices", gotIdx, want->indices);
  std::string counts = compareExact("counts", gotCnt, want->counts);
  if (exact.empty() && counts.empty())
    return "";
  if (!nearTies || gotIdx.shape != want->indices.shape ||
      gotCnt.shape != want->counts.shape)
    return exact + (exact.empty() || counts.empty() ? "" : "\n") + counts;
  int64_t batch = scores.dim(0), rows = scores.dim(1), heads = scores.dim(2);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        std::ostringstream where;
        where << "row [" << b << ", " << t << ", " << h << "]";
        int64_t own = ref::queryPosition(t, rows, tokens) / ir.block;
        int64_t count = want->counts.at({b, t, h});
        if (gotCnt.at({b, t, h}) != float(count))
          return where.str() + ": count " +
                 std::to_string(gotCnt.at({b, t, h})) + ", want " +
                 std::to_string(count);
        std::set<int64_t> got, ref;
        for (int64_t e = 0; e < ir.n; ++e) {
          float g = gotIdx.at({b, t, h, e});
          if (e < count) {
            if (g < 0 || g > float(own) ||
                (e && g <= gotIdx.at({b, t, h, e - 1})))
              return where.str() + ": entry " + std::to_string(e) + " is " +
                     std::to_string(g) + " (not ascending, or not a block <= " +
                     std::to_string(own) + ")";
            got.insert(int64_t(g));
            ref.insert(want->indices.at({b, t, h, e}));
          } else if (g != -1.f) {
            return where.str() + ": entry " + std::to_string(e) +
                   " past the count is " + std::to_string(g);
          }
        }
        if (got == ref)
          continue;
        // Forced blocks must be there; swapped ones must be near the n-th.
        double nth = std::numeric_limits<double>::infinity();
        auto forced = [&](int64_t j) {
          return j < std::min(ir.forceFirst, own + 1) ||
                 (ir.forceLast > 0 && j > own - ir.forceLast && j <= own);
        };
        for (int64_t j : ref)
          if (!forced(j))
            nth = std::min(nth, double(scores.at({b, t, h, j})));
        for (int64_t j = 0; j <= own; ++j) {
          if (got.count(j) == ref.count(j))
            continue;
          double s = scores.at({b, t, h, j});
          if (forced(j) ||
              !(std::fabs(s - nth) <= 1e-6 * std::max(1.0, std::fabs(nth))))
            return where.str() + ": block " + std::to_string(j) + " (score " +
                   std::to_string(s) + ") is " + (got.count(j) ? "" : "not ") +
                   "chosen; the reference says otherwise and the n-th score "
                   "is " +
                   std::to_string(nth);
        }
      }
  return "";
}

struct Shape {
  int64_t batch, rows, tokens;
};

void checkTopk(const TopkIR &ir, const Shape &shape, Scores kind,
               unsigned seed) {
  std::string error;
  const rt::CpuExecutable *exe = load(ir.mlir(), &error);
  INFO(ir.describe() << " B=" << shape.batch << " T=" << shape.rows
                     << " L=" << shape.tokens << " scores kind " << int(kind));
  REQUIRE(error == "");
  ref::Tensor scores =
      makeScores(shape.batch, shape.rows, ir.heads,
                 ref::ceilDiv(shape.tokens, ir.block), kind, seed);
  std::vector<Argument> args = {scores};
  if (ir.kvTokens == KvTokens::DimOfRaw)
    args.push_back(random({1, shape.tokens}, seed + 1));
  auto got = run(*exe, args, ElementType::F32);
  REQUIRE(got);
  CHECK(compareTopk(ir, scores, shape.tokens, (*got)[0], (*got)[1],
                    kind == Scores::Random) == "");
}

const Shape kShapes[] = {
    {2, 1000, 1000}, // prefill: early rows see fewer than n blocks
    {1, 1, 1000},    // decode
    {1, 100, 777},   // chunked prefill, partial last block
    {1, 512, 512},   // L a multiple of the block
    {1, 1, 1},       // one token
};

} // namespace

TEST_CASE("topk against the reference", "[pipeline][topk]") {
  unsigned seed = 7000;
  struct Force {
    int64_t first, last;
  };
  for (int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 16})
    for (Force force :
         {Force{0, 0}, Force{1, 0}, Force{0, 1}, Force{1, 2}, Force{2, 1}}) {
      if (force.first + force.last > n)
        continue;
      TopkIR ir;
      ir.n = n, ir.forceFirst = force.first, ir.forceLast = force.last;
      for (const Shape &shape : kShapes)
        for (Scores kind : {Scores::Random, Scores::Ties, Scores::Infinities})
          checkTopk(ir, shape, kind, seed += 5);
    }
}

TEST_CASE("topk with every forced slot, block sizes and constant kv_tokens",
          "[pipeline][topk]") {
  unsigned seed = 8000;
  // Forced blocks fill all of n (nothing chosen by score), other blocks.
  struct Case {
    int64_t n, block, first, last;
  };
  for (Case c : {Case{3, 64, 1, 2}, Case{4, 64, 0, 4}, Case{4, 16, 4, 0},
                 Case{5, 128, 2, 1}, Case{16, 32, 1, 2}}) {
    TopkIR ir;
    ir.n = c.n, ir.block = c.block, ir.forceFirst = c.first,
    ir.forceLast = c.last;
    for (const Shape &shape : kShapes)
      for (Scores kind : {Scores::Random, Scores::Ties, Scores::Infinities})
        checkTopk(ir, shape, kind, seed += 5);
  }
  // kv_tokens as a constant: one text per L.
  for (const Shape &shape :
       {Shape{1, 1000, 1000}, Shape{2, 1, 1000}, Shape{1, 100, 777}}) {
    TopkIR ir;
    ir.n = 6, ir.forceFirst = 1, ir.forceLast = 2;
    ir.kvTokens = KvTokens::Constant;
    ir.tokens = shape.tokens;
    for (Scores kind : {Scores::Random, Scores::Ties, Scores::Infinities})
      checkTopk(ir, shape, kind, seed += 5);
  }
}

TEST_CASE("moba block scores alone, fused with topk, and both",
          "[pipeline][topk][scores]") {
  // skim.block_scores moba on given block means: stored when returned (the
  // unfused kernel), fused with a topk that is its only user, or both.
  const int64_t hq = 8, hkv = 2, d = 64, block = 64;
  std::string q = "tensor<?x?x8x64xf32>", km = "tensor<?x?x2x64xf32>",
              scores = "tensor<?x?x8x?xf32>", idx = "tensor<?x?x8x4xi32>",
              cnt = "tensor<?x?x8xi32>";
  std::string head =
      "func.func @f(%q: " + q + ", %km: " + km + ", %raw: tensor<?x?xf32>)";
  std::string prologue = "  %c1 = arith.constant 1 : index\n"
                         "  %L = tensor.dim %raw, %c1 : tensor<?x?xf32>\n";
  auto scoresOp = [&](const std::string &attrs) {
    return "  %s = skim.block_scores moba %q, %km kv_tokens(%L) {" + attrs +
           "} : " + q + ", " + km + " -> " + scores + "\n";
  };
  std::string topkOp =
      "  %i, %c = skim.topk %s kv_tokens(%L) {n = 4, block = 64, "
      "force_first = 1, force_last = 2} : " +
      scores + "\n";
  struct Variant {
    const char *name;
    std::string mlir;
    bool returnsScores, returnsSelection;
    std::optional<double> scale;
  };
  const Variant variants[] = {
      {"scores alone",
       head + " -> " + scores + " {\n" + prologue + scoresOp("block = 64") +
           "  return %s : " + scores + "\n}\n",
       true,
       false,
       {}},
      {"scores alone, scaled",
       head + " -> " + scores + " {\n" + prologue +
           scoresOp("block = 64, scale = 0.125 : f32") +
           "  return %s : " + scores + "\n}\n",
       true, false, 0.125},
      {"fused",
       head + " -> (" + idx + ", " + cnt + ") {\n" + prologue +
           scoresOp("block = 64") + topkOp + "  return %i, %c : " + idx + ", " +
           cnt + "\n}\n",
       false,
       true,
       {}},
      {"both",
       head + " -> (" + scores + ", " + idx + ", " + cnt + ") {\n" + prologue +
           scoresOp("block = 64") + topkOp + "  return %s, %i, %c : " + scores +
           ", " + idx + ", " + cnt + "\n}\n",
       true,
       true,
       {}},
  };
  unsigned seed = 9000;
  for (const Variant &variant : variants) {
    std::string error;
    const rt::CpuExecutable *exe = load(variant.mlir, &error);
    INFO(variant.name << "\n" << variant.mlir);
    REQUIRE(error == "");
    for (const Shape &shape : {Shape{2, 300, 300}, Shape{1, 1, 1000},
                               Shape{1, 100, 777}, Shape{1, 50, 50}}) {
      INFO("B=" << shape.batch << " T=" << shape.rows << " L=" << shape.tokens);
      ref::Tensor tq =
          random({shape.batch, shape.rows, hq, d}, seed++, -2.f, 2.f);
      ref::Tensor means =
          random({shape.batch, shape.tokens / block, hkv, d}, seed++);
      auto got = run(*exe, {tq, means, random({1, shape.tokens}, seed++)},
                     ElementType::F32);
      REQUIRE(got);
      auto want =
          ref::blockScoresMoba(tq, means, shape.tokens, block, variant.scale);
      REQUIRE(want);
      size_t out = 0;
      if (variant.returnsScores)
        CHECK(compare("scores", (*got)[out++], *want, Tolerance::f32()) == "");
      if (variant.returnsSelection) {
        TopkIR ir;
        ir.heads = hq, ir.n = 4, ir.block = block, ir.forceFirst = 1,
        ir.forceLast = 2;
        CHECK(compareTopk(ir, *want, shape.tokens, (*got)[out], (*got)[out + 1],
                          true) == "");
      }
    }
  }
}
