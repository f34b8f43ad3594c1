//===- VariantsTest.cpp - nsa, moba, merge, combine and pool
//---------------===//
//
// The variant ops end to end against ref::nsa and ref::moba, and the
// primitive ops around attention (merge, combine, pool) against theirs.
//
// NSA and MoBA choose blocks by score, so a near-tie at the n-th place may
// legitimately flip a selection between kernel and reference: a row that
// differs is accepted only when the reference's block scores for it have a
// near-tie (within 1e-5 relative) at the n-th place. Both variants are
// causal, so row t of the reference is computed alone from the tokens up to
// its position, which lets long sequences check sampled rows cheaply.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

//===----------------------------------------------------------------------===//
// Row-by-row comparison with the near-tie rule
//===----------------------------------------------------------------------===//

/// The reference for one query row, computed alone.
struct RowReference {
  ref::Tensor out;                  // [B, 1, Hq, Dv]
  std::optional<ref::Tensor> lse;   // [B, Hq, 1]
  std::optional<ref::Tensor> naive; // [B, 1, Hq, Dv]: the naive bf16 model
  ref::Tensor blockScores;          // [B, 1, H', blocks]
  /// How far the kernel's block scores may legitimately stray from
  /// blockScores (same shape; empty = 0): in bf16 the pooled keys are a
  /// bf16 tensor, so the kernel scores rounded keys the double reference
  /// never rounds.
  ref::Tensor slack;
  int64_t group = 1; // query heads per score head
  int64_t own = 0, n = 0, forceFirst = 0, forceLast = 0;
};

/// Whether the row's selection by score has a near-tie at the n-th place:
/// the last block chosen by score and the best one left out score within
/// 1e-5 relative. `why` says what the scores were.
bool nearTie(const RowReference &r, int64_t b, int64_t scoreHead,
             std::string &why) {
  int64_t blocks = r.blockScores.dim(3);
  auto forced = [&](int64_t j) {
    return j < std::min(r.forceFirst, r.own + 1) ||
           (r.forceLast > 0 && j > r.own - r.forceLast && j <= r.own);
  };
  auto slack = [&](int64_t j) {
    return r.slack.data.empty() ? 0.0
                                : double(r.slack.at({b, 0, scoreHead, j}));
  };
  int64_t numForced = 0;
  std::vector<std::pair<double, int64_t>> candidates; // (score, block)
  for (int64_t j = 0; j <= r.own && j < blocks; ++j) {
    double s = r.blockScores.at({b, 0, scoreHead, j});
    if (forced(j))
      ++numForced;
    else if (!std::isnan(s) && s != -std::numeric_limits<double>::infinity())
      candidates.push_back({s, j});
  }
  // Descending score, ascending block among ties: the reference's order.
  std::sort(candidates.begin(), candidates.end(), [](auto x, auto y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  });
  int64_t free = r.n - numForced;
  std::ostringstream os;
  os.precision(9);
  if (free <= 0 || int64_t(candidates.size()) <= free) {
    os << "no choice by score (" << candidates.size() << " candidates, " << free
       << " free slots)";
    why = os.str();
    return false;
  }
  auto [last, lastBlock] = candidates[size_t(free - 1)];
  auto [next, nextBlock] = candidates[size_t(free)];
  double allowed = 1e-5 * std::max(std::fabs(last), std::fabs(next)) +
                   slack(lastBlock) + slack(nextBlock);
  os << "n-th score " << last << " (block " << lastBlock << "), next " << next
     << " (block " << nextBlock << "), near-tie window " << allowed;
  why = os.str();
  return std::fabs(last - next) <= allowed;
}

/// Compares row t of the kernel's O (and LSE) with a one-row reference, per
/// (batch, head). A mismatching head passes only on a near-tie; `ties`
/// counts those.
std::string compareRow(const ref::Tensor &gotO, const ref::Tensor *gotLse,
                       int64_t t, const RowReference &r, ElementType type,
                       int64_t &ties) {
  int64_t batch = gotO.dim(0), hq = gotO.dim(2), dv = gotO.dim(3);
  Tolerance tol = Tolerance::of(type), lseTol = Tolerance::lse(type);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < hq; ++h) {
      std::ostringstream bad;
      bad.precision(9);
      for (int64_t e = 0; e < dv && bad.str().empty(); ++e) {
        double g = gotO.at({b, t, h, e}), w = r.out.at({b, 0, h, e});
        double bound = tol.bound(w);
        if (r.naive) {
          double naive = r.naive->at({b, 0, h, e});
          bound = 2.0 * std::max(std::fabs(naive - w),
                                 std::ldexp(std::fabs(w), -9)) +
                  1e-3;
        }
        if (!(std::isfinite(g) && std::fabs(g - w) <= bound))
          bad << "O at [" << b << ", " << t << ", " << h << ", " << e
              << "]: got " << g << ", want " << w << " (allowed error " << bound
              << ")";
      }
      if (bad.str().empty() && gotLse && r.lse) {
        double g = gotLse->at({b, h, t}), w = r.lse->at({b, h, 0});
        bool ok = std::isinf(w)
                      ? g == w
                      : std::isfinite(g) && std::fabs(g - w) <= lseTol.bound(w);
        if (!ok)
          bad << "LSE at [" << b << ", " << h << ", " << t << "]: got " << g
              << ", want " << w;
      }
      if (bad.str().empty())
        continue;
      std::string why;
      if (nearTie(r, b, h / r.group, why)) {
        ++ties;
        continue;
      }
      return bad.str() + "; no near-tie in the reference's block scores (" +
             why + ")";
    }
  return "";
}

/// Rows to check: all of a short sequence, a sample of a long one.
std::vector<int64_t> variantRows(int64_t numRows) {
  if (numRows <= 128) {
    std::vector<int64_t> all(size_t(numRows), 0);
    for (int64_t t = 0; t < numRows; ++t)
      all[size_t(t)] = t;
    return all;
  }
  return sampleRows(numRows, 48, unsigned(numRows));
}

struct Shape {
  int64_t batch, rows, keys;
};

//===----------------------------------------------------------------------===//
// NSA
//===----------------------------------------------------------------------===//

struct NsaIR {
  int64_t hq = 16, hkv = 1, d = 64, dv = 64;
  ElementType type = ElementType::F32;
  /// Absent: the op's default (the paper's value).
  std::optional<int64_t> cmpBlock, cmpStride, selBlock, numSelected, window,
      forceFirst, forceLast;
  std::optional<float> scale;
  /// The entries of the `schedules` dictionary, or "".
  std::string schedules;
  /// The paper's form: one K/V per branch and a learned linear pool.
  bool perBranch = false, poolWeights = false;

  int64_t l() const { return cmpBlock.value_or(32); }
  int64_t stride() const { return cmpStride.value_or(16); }
  int64_t lsel() const { return selBlock.value_or(64); }
  int64_t n() const { return numSelected.value_or(16); }

  std::string mlir() const {
    std::string t = mlirName(type), hq_ = std::to_string(hq);
    std::string q = tensorType({"?", "?", hq_, std::to_string(d)}, t);
    std::string k =
        tensorType({"?", "?", std::to_string(hkv), std::to_string(d)}, t);
    std::string v =
        tensorType({"?", "?", std::to_string(hkv), std::to_string(dv)}, t);
    std::string g = tensorType({"?", "?", hq_}, t);
    std::string o = tensorType({"?", "?", hq_, std::to_string(dv)}, t);
    std::string wk =
        tensorType({std::to_string(l() * d), std::to_string(d)}, t);
    std::string wv =
        tensorType({std::to_string(l() * dv), std::to_string(dv)}, t);
    std::string s = "func.func @nsa(%q: " + q + ", %kc: " + k + ", %vc: " + v;
    if (perBranch)
      s += ", %ks: " + k + ", %kw: " + k + ", %vs: " + v + ", %vw: " + v;
    s += ", %gc: " + g + ", %gs: " + g + ", %gw: " + g;
    if (poolWeights)
      s += ", %wk: " + wk + ", %wv: " + wv;
    s += ") -> " + o + " {\n  %o = skim.nsa %q, keys(%kc" +
         std::string(perBranch ? ", %ks, %kw" : "") + "), values(%vc" +
         (perBranch ? ", %vs, %vw" : "") + "), gates(%gc, %gs, %gw)";
    if (poolWeights)
      s += " pool_weights(%wk, %wv)";
    std::vector<std::string> attrs;
    auto add = [&](const char *name, const std::optional<int64_t> &value) {
      if (value)
        attrs.push_back(std::string(name) + " = " + std::to_string(*value));
    };
    add("cmp_block", cmpBlock);
    add("cmp_stride", cmpStride);
    add("sel_block", selBlock);
    add("num_selected", numSelected);
    add("window", window);
    add("force_first", forceFirst);
    add("force_last", forceLast);
    if (scale)
      attrs.push_back("scale = " + f32Attr(*scale));
    if (!schedules.empty())
      attrs.push_back("schedules = {" + schedules + "}");
    if (!attrs.empty()) {
      s += " {";
      for (size_t i = 0; i < attrs.size(); ++i)
        s += (i ? ", " : "") + attrs[i];
      s += "}";
    }
    s += "\n      : " + q + ", keys(" + k +
         (perBranch ? ", " + k + ", " + k : "") + "), values(" + v +
         (perBranch ? ", " + v + ", " + v : "") + "), gates " + g;
    if (poolWeights)
      s += ", pool_weights " + wk + ", " + wv;
    s += "\n  return %o : " + o + "\n}\n";
    return s;
  }

  std::string describe() const {
    std::ostringstream os;
    os << "nsa Hq=" << hq << " Hkv=" << hkv << " D=" << d << " "
       << mlirName(type) << " l=" << l() << " d=" << stride()
       << " l'=" << lsel() << " n=" << n() << " w=" << window.value_or(512)
       << " force " << forceFirst.value_or(1) << "/" << forceLast.value_or(2)
       << (scale ? " scale=" + std::to_string(*scale) : "")
       << (schedules.empty() ? "" : " schedules {" + schedules + "}")
       << (perBranch ? " per-branch K/V" : "")
       << (poolWeights ? " linear pool" : "");
    return os.str();
  }
};

struct NsaInputs {
  ref::Tensor q, kc, vc, ks, kw, vs, vw, gc, gs, gw, wk, wv;
};

NsaInputs makeNsaInputs(const NsaIR &ir, const Shape &shape, unsigned seed) {
  NsaInputs in;
  ElementType type = ir.type;
  in.q = input({shape.batch, shape.rows, ir.hq, ir.d}, seed++, type, -2.f, 2.f);
  in.kc = input({shape.batch, shape.keys, ir.hkv, ir.d}, seed++, type);
  in.vc = input({shape.batch, shape.keys, ir.hkv, ir.dv}, seed++, type);
  if (ir.perBranch) {
    in.ks = input({shape.batch, shape.keys, ir.hkv, ir.d}, seed++, type);
    in.kw = input({shape.batch, shape.keys, ir.hkv, ir.d}, seed++, type);
    in.vs = input({shape.batch, shape.keys, ir.hkv, ir.dv}, seed++, type);
    in.vw = input({shape.batch, shape.keys, ir.hkv, ir.dv}, seed++, type);
  }
  in.gc = input({shape.batch, shape.rows, ir.hq}, seed++, type, 0.f, 1.f);
  in.gs = input({shape.batch, shape.rows, ir.hq}, seed++, type, 0.f, 1.f);
  in.gw = input({shape.batch, shape.rows, ir.hq}, seed++, type, 0.f, 1.f);
  if (ir.poolWeights) {
    // ~1/sqrt(l D), so the learned pool keeps keys at the raw keys' scale.
    float wScale = 1.f / std::sqrt(float(ir.l() * ir.d));
    in.wk = input({ir.l() * ir.d, ir.d}, seed++, type, -2 * wScale, 2 * wScale);
    in.wv =
        input({ir.l() * ir.dv, ir.dv}, seed++, type, -2 * wScale, 2 * wScale);
  }
  return in;
}

/// ref::nsa for row t alone: the tokens up to its position are all it sees.
std::string nsaRow(const NsaIR &ir, const NsaInputs &in, int64_t t,
                   RowReference &row) {
  int64_t numRows = in.q.dim(1), numKeys = in.kc.dim(1);
  int64_t p = ref::queryPosition(t, numRows, numKeys);
  auto keys = [&](const ref::Tensor &x) { return sliceRows(x, 0, p + 1); };
  ref::Tensor q = sliceRows(in.q, t, t + 1), kc = keys(in.kc), vc = keys(in.vc);
  ref::Tensor gc = sliceRows(in.gc, t, t + 1), gs = sliceRows(in.gs, t, t + 1),
              gw = sliceRows(in.gw, t, t + 1);
  ref::Tensor ks, kw, vs, vw;
  ref::NsaParams params;
  params.cmpBlock = ir.l(), params.cmpStride = ir.stride(),
  params.selBlock = ir.lsel();
  params.numSelected = ir.n(), params.window = ir.window.value_or(512);
  params.forceFirst = ir.forceFirst.value_or(1),
  params.forceLast = ir.forceLast.value_or(2);
  if (ir.scale)
    params.scale = double(*ir.scale);
  if (ir.perBranch) {
    ks = keys(in.ks), kw = keys(in.kw), vs = keys(in.vs), vw = keys(in.vw);
    params.selected = {&ks, &vs};
    params.sliding = {&kw, &vw};
  }
  if (ir.poolWeights) {
    params.kPoolWeights = &in.wk;
    params.vPoolWeights = &in.wv;
  }
  auto r = ref::nsa(q, kc, vc, gc, gs, gw, params);
  if (!r)
    return "reference: " + r.error();
  row.out = r->out;
  row.blockScores = r->blockScores;
  row.group = ir.hq / ir.hkv;
  row.own = p / ir.lsel();
  row.n = params.numSelected;
  row.forceFirst = params.forceFirst;
  row.forceLast = params.forceLast;
  if (ir.type == ElementType::BF16) {
    // A naive bf16 NSA stores each branch in bf16, then the gated sum.
    ref::Tensor naive = r->out;
    for (size_t i = 0; i < naive.data.size(); ++i) {
      size_t gi = i / size_t(ir.dv);
      double sum = double(gc.data[gi]) * roundBf16(r->compressed.out.data[i]) +
                   double(gs.data[gi]) * roundBf16(r->selected.out.data[i]) +
                   double(gw.data[gi]) * roundBf16(r->sliding.out.data[i]);
      naive.data[i] = roundBf16(float(sum));
    }
    row.naive = naive;
    // Rounding a compressed key to bf16 moves a score s = scale q.k by at
    // most delta = 2^-8 scale sum |q||k|, so p_cmp = exp(s - LSE) moves by a
    // factor within exp(+-2 delta), and so does every block score.
    row.slack = ref::Tensor::zeros(r->blockScores.shape);
    double scale = ir.scale ? double(*ir.scale) : 1.0 / std::sqrt(double(ir.d));
    for (int64_t b = 0; b < q.dim(0); ++b)
      for (int64_t g = 0; g < ir.hkv; ++g) {
        double delta = 0.0;
        for (int64_t h = g * row.group; h < (g + 1) * row.group; ++h)
          for (int64_t i = 0; i < r->kCmp.dim(1); ++i) {
            double sum = 0.0;
            for (int64_t c = 0; c < ir.d; ++c)
              sum += std::fabs(q.at({b, 0, h, c}) * r->kCmp.at({b, i, g, c}));
            delta = std::max(delta, std::ldexp(scale * sum, -8));
          }
        for (int64_t j = 0; j < r->blockScores.dim(3); ++j) {
          double s = r->blockScores.at({b, 0, g, j});
          if (std::isfinite(s))
            row.slack.at({b, 0, g, j}) =
                float(std::fabs(s) * std::expm1(2 * delta));
        }
      }
  }
  return "";
}

/// Row t of NSA as its IR computes it in bf16: the pooled keys and values
/// and the branch outputs are bf16 tensors (rounded), scores and LSE f32.
/// Built from the reference's stages, so a selection that the rounded
/// pooled keys flip is reproduced exactly, and near-ties are judged on the
/// scores the kernel really sees.
std::string nsaStagedRow(const NsaIR &ir, const NsaInputs &in, int64_t t,
                         RowReference &row) {
  const ElementType bf16 = ElementType::BF16;
  int64_t numRows = in.q.dim(1), numKeys = in.kc.dim(1);
  int64_t p = ref::queryPosition(t, numRows, numKeys), tokens = p + 1;
  auto keys = [&](const ref::Tensor &x) { return sliceRows(x, 0, tokens); };
  ref::Tensor q = sliceRows(in.q, t, t + 1);
  std::vector<ref::Tensor> gates = {sliceRows(in.gc, t, t + 1),
                                    sliceRows(in.gs, t, t + 1),
                                    sliceRows(in.gw, t, t + 1)};
  ref::PoolKind kind =
      ir.poolWeights ? ref::PoolKind::Linear : ref::PoolKind::Mean;
  auto kc = ref::pool(keys(in.kc), kind, ir.l(), ir.stride(),
                      ir.poolWeights ? &in.wk : nullptr);
  auto vc = ref::pool(keys(in.vc), kind, ir.l(), ir.stride(),
                      ir.poolWeights ? &in.wv : nullptr);
  if (!kc || !vc)
    return "reference pool failed";
  ref::Tensor kCmp = roundTo(*kc, bf16), vCmp = roundTo(*vc, bf16);
  std::optional<double> scale;
  if (ir.scale)
    scale = double(*ir.scale);
  ref::AttentionParams cmpParams;
  cmpParams.causal = true, cmpParams.scale = scale;
  cmpParams.keyStride = ir.stride(), cmpParams.keyOffset = ir.l() - 1;
  cmpParams.kvTokens = tokens;
  auto cmp = ref::attention(q, kCmp, vCmp, nullptr, nullptr, cmpParams);
  if (!cmp)
    return "reference: " + cmp.error();
  auto scores = ref::blockScoresNsa(q, kCmp, cmp->lse, tokens, ir.l(),
                                    ir.stride(), ir.lsel(), scale);
  if (!scores)
    return "reference: " + scores.error();
  int64_t ff = ir.forceFirst.value_or(1), fl = ir.forceLast.value_or(2);
  auto sel = ref::topk(*scores, tokens, ir.lsel(), ir.n(), ff, fl);
  if (!sel)
    return "reference: " + sel.error();
  ref::AttentionParams slcParams;
  slcParams.causal = true, slcParams.scale = scale,
  slcParams.kvBlock = ir.lsel();
  auto slc = ref::attention(q, keys(ir.perBranch ? in.ks : in.kc),
                            keys(ir.perBranch ? in.vs : in.vc), &sel->indices,
                            &sel->counts, slcParams);
  ref::AttentionParams winParams;
  winParams.causal = true, winParams.scale = scale,
  winParams.window = ir.window.value_or(512);
  auto win = ref::attention(q, keys(ir.perBranch ? in.kw : in.kc),
                            keys(ir.perBranch ? in.vw : in.vc), nullptr,
                            nullptr, winParams);
  if (!slc || !win)
    return "reference attention failed";
  auto exact = ref::combine({cmp->out, slc->out, win->out}, gates);
  auto naive = ref::combine({roundTo(cmp->out, bf16), roundTo(slc->out, bf16),
                             roundTo(win->out, bf16)},
                            gates);
  if (!exact || !naive)
    return "reference combine failed";
  row.out = *exact;
  row.naive = roundTo(*naive, bf16);
  row.blockScores = *scores;
  row.group = ir.hq / ir.hkv;
  row.own = p / ir.lsel();
  row.n = ir.n(), row.forceFirst = ff, row.forceLast = fl;
  return "";
}

void checkNsa(const NsaIR &ir, const Shape &shape, unsigned seed) {
  INFO(ir.describe() << " B=" << shape.batch << " T=" << shape.rows
                     << " S=" << shape.keys);
  std::string error;
  const rt::CpuExecutable *exe = load(ir.mlir(), &error);
  REQUIRE(error == "");
  NsaInputs in = makeNsaInputs(ir, shape, seed);
  std::vector<Argument> args = {in.q, in.kc, in.vc};
  if (ir.perBranch)
    args.insert(args.end(), {in.ks, in.kw, in.vs, in.vw});
  args.insert(args.end(), {in.gc, in.gs, in.gw});
  if (ir.poolWeights)
    args.insert(args.end(), {in.wk, in.wv});
  auto got = run(*exe, args, ir.type);
  REQUIRE(got);
  REQUIRE(noNaN("O", (*got)[0]) == "");
  int64_t ties = 0, stagedTies = 0;
  std::vector<int64_t> rows = variantRows(shape.rows);
  for (int64_t t : rows) {
    RowReference row;
    REQUIRE(nsaRow(ir, in, t, row) == "");
    std::string msg = compareRow((*got)[0], nullptr, t, row, ir.type, ties);
    CHECK(msg == "");
    if (ir.type == ElementType::BF16 && msg.empty()) {
      // And, with no slack for rounding, against the staged bf16 model.
      RowReference staged;
      REQUIRE(nsaStagedRow(ir, in, t, staged) == "");
      msg = compareRow((*got)[0], nullptr, t, staged, ir.type, stagedTies);
      INFO("against the staged bf16 model");
      CHECK(msg == "");
    }
    if (!msg.empty())
      break;
  }
  CHECK(stagedTies * 20 <= int64_t(rows.size()) * shape.batch * ir.hq);
  // Near-ties are rare in random inputs: many accepted ones hide a bug.
  CHECK(ties * 20 <= int64_t(rows.size()) * shape.batch * ir.hq);
}

const Shape kNsaShapes[] = {
    {2, 100, 100}, {1, 1000, 1000}, {2, 1, 1000}, {1, 100, 777}};

//===----------------------------------------------------------------------===//
// MoBA
//===----------------------------------------------------------------------===//

struct MobaIR {
  int64_t hq = 8, hkv = 2, d = 64, dv = 64, block = 64, topK = 3;
  ElementType type = ElementType::F32;
  /// The entries of the `schedules` dictionary, or "".
  std::string schedules;
  /// The attention's scale (the gate stays the raw inner product).
  std::optional<float> scale;

  std::string mlir() const {
    std::string t = mlirName(type);
    std::string q =
        tensorType({"?", "?", std::to_string(hq), std::to_string(d)}, t);
    std::string k =
        tensorType({"?", "?", std::to_string(hkv), std::to_string(d)}, t);
    std::string v =
        tensorType({"?", "?", std::to_string(hkv), std::to_string(dv)}, t);
    std::string o =
        tensorType({"?", "?", std::to_string(hq), std::to_string(dv)}, t);
    std::string lse = tensorType({"?", std::to_string(hq), "?"}, "f32");
    return "func.func @moba(%q: " + q + ", %k: " + k + ", %v: " + v + ") -> (" +
           o + ", " + lse + ") {\n  %o, %lse = skim.moba %q, %k, %v {block = " +
           std::to_string(block) + ", top_k = " + std::to_string(topK) +
           (scale ? ", scale = " + f32Attr(*scale) : "") +
           (schedules.empty() ? "" : ", schedules = {" + schedules + "}") +
           "}\n      : " + q + ", " + k + ", " + v +
           "\n  return %o, %lse : " + o + ", " + lse + "\n}\n";
  }
  std::string describe() const {
    std::ostringstream os;
    os << "moba Hq=" << hq << " Hkv=" << hkv << " D=" << d << " "
       << mlirName(type) << " block=" << block << " top_k=" << topK
       << (scale ? " scale=" + std::to_string(*scale) : "")
       << (schedules.empty() ? "" : " schedules {" + schedules + "}");
    return os.str();
  }
};

void checkMoba(const MobaIR &ir, const Shape &shape, unsigned seed) {
  INFO(ir.describe() << " B=" << shape.batch << " T=" << shape.rows
                     << " S=" << shape.keys);
  std::string error;
  const rt::CpuExecutable *exe = load(ir.mlir(), &error);
  REQUIRE(error == "");
  ref::Tensor q =
      input({shape.batch, shape.rows, ir.hq, ir.d}, seed, ir.type, -2.f, 2.f);
  ref::Tensor k =
      input({shape.batch, shape.keys, ir.hkv, ir.d}, seed + 1, ir.type);
  ref::Tensor v =
      input({shape.batch, shape.keys, ir.hkv, ir.dv}, seed + 2, ir.type);
  auto got = run(*exe, {q, k, v}, ir.type);
  REQUIRE(got);
  REQUIRE(noNaN("O", (*got)[0]) == "");
  REQUIRE(noNaN("LSE", (*got)[1]) == "");
  ref::MobaParams params;
  params.block = ir.block, params.topK = ir.topK;
  if (ir.scale)
    params.scale = double(*ir.scale);
  int64_t ties = 0, stagedTies = 0;
  std::vector<int64_t> rows = variantRows(shape.rows);
  for (int64_t t : rows) {
    int64_t p = ref::queryPosition(t, shape.rows, shape.keys);
    auto r = ref::moba(sliceRows(q, t, t + 1), sliceRows(k, 0, p + 1),
                       sliceRows(v, 0, p + 1), params);
    REQUIRE(r);
    RowReference row;
    row.out = r->attention.out;
    row.lse = r->attention.lse;
    row.blockScores = r->blockScores;
    row.group = 1;
    row.own = p / ir.block;
    row.n = ir.topK, row.forceFirst = 0, row.forceLast = 1;
    if (ir.type == ElementType::BF16) {
      // The block means are a bf16 tensor: rounding them moves <q, mean>
      // by at most 2^-8 sum |q| |mean|.
      row.slack = ref::Tensor::zeros(r->blockScores.shape);
      for (int64_t b = 0; b < shape.batch; ++b)
        for (int64_t h = 0; h < ir.hq; ++h)
          for (int64_t j = 0; j < r->kMean.dim(1); ++j) {
            double sum = 0.0;
            for (int64_t c = 0; c < ir.d; ++c)
              sum += std::fabs(q.at({b, t, h, c}) *
                               r->kMean.at({b, j, h / (ir.hq / ir.hkv), c}));
            row.slack.at({b, 0, h, j}) = float(std::ldexp(sum, -8));
          }
    }
    std::string msg = compareRow((*got)[0], &(*got)[1], t, row, ir.type, ties);
    CHECK(msg == "");
    if (ir.type == ElementType::BF16 && msg.empty()) {
      // And, with no slack for rounding, against MoBA as its IR computes it
      // in bf16: block means stored in bf16, then scores, top-k, attention.
      ref::Tensor q1 = sliceRows(q, t, t + 1), k1 = sliceRows(k, 0, p + 1),
                  v1 = sliceRows(v, 0, p + 1);
      auto means = ref::pool(k1, ref::PoolKind::Mean, ir.block, ir.block);
      REQUIRE(means);
      auto scores =
          ref::blockScoresMoba(q1, roundTo(*means, ir.type), p + 1, ir.block);
      REQUIRE(scores);
      auto sel = ref::topk(*scores, p + 1, ir.block, ir.topK, 0, 1);
      REQUIRE(sel);
      ref::AttentionParams ap;
      ap.causal = true, ap.kvBlock = ir.block;
      if (ir.scale)
        ap.scale = double(*ir.scale);
      auto att = ref::attention(q1, k1, v1, &sel->indices, &sel->counts, ap);
      REQUIRE(att);
      RowReference staged = row;
      staged.out = att->out, staged.lse = att->lse,
      staged.blockScores = *scores;
      staged.slack = ref::Tensor();
      msg = compareRow((*got)[0], &(*got)[1], t, staged, ir.type, stagedTies);
      INFO("against the staged bf16 model");
      CHECK(msg == "");
    }
    if (!msg.empty())
      break;
  }
  CHECK(stagedTies * 20 <= int64_t(rows.size()) * shape.batch * ir.hq);
  CHECK(ties * 20 <= int64_t(rows.size()) * shape.batch * ir.hq);
}

} // namespace

TEST_CASE("nsa with the paper's defaults", "[pipeline][variants][nsa]") {
  unsigned seed = 10000;
  for (auto heads : {std::pair<int64_t, int64_t>{16, 1}, {4, 2}}) {
    NsaIR ir;
    ir.hq = heads.first, ir.hkv = heads.second;
    for (const Shape &shape : kNsaShapes)
      checkNsa(ir, shape, seed += 20);
    // Sequences with no complete compressed block, or only a few.
    for (const Shape &shape :
         {Shape{1, 20, 20}, Shape{2, 1, 31}, Shape{1, 48, 48}, Shape{1, 1, 1},
          Shape{1, 3, 70}})
      checkNsa(ir, shape, seed += 20);
  }
}

TEST_CASE("nsa with l = l' = d (16/16/16) and a smaller selection",
          "[pipeline][variants][nsa]") {
  unsigned seed = 11000;
  for (auto heads : {std::pair<int64_t, int64_t>{16, 1}, {4, 2}}) {
    NsaIR ir;
    ir.hq = heads.first, ir.hkv = heads.second;
    ir.cmpBlock = 16, ir.cmpStride = 16, ir.selBlock = 16;
    for (const Shape &shape : kNsaShapes)
      checkNsa(ir, shape, seed += 20);
  }
  // The paper's blocks with 4 selected blocks and a 128-token window, so
  // that at T = 1000 the selection leaves most blocks out.
  NsaIR ir;
  ir.hq = 4, ir.hkv = 2;
  ir.numSelected = 4, ir.window = 128;
  for (const Shape &shape : kNsaShapes)
    checkNsa(ir, shape, seed += 20);
}

TEST_CASE("nsa with other forced blocks, a scale and stage schedules",
          "[pipeline][variants][nsa]") {
  unsigned seed = 11500;
  NsaIR ir;
  ir.hq = 16, ir.hkv = 1;
  ir.numSelected = 3, ir.window = 64, ir.forceFirst = 0, ir.forceLast = 1;
  ir.scale = 0.1875f;
  ir.schedules = "compressed = #skim.schedule<block_m = 16, block_n = 32>, "
                 "selected = #skim.schedule<pack_gqa = false>, "
                 "window = #skim.schedule<block_m = 128, block_n = 64>";
  for (const Shape &shape : kNsaShapes)
    checkNsa(ir, shape, seed += 20);
  NsaIR wide;
  wide.hq = 4, wide.hkv = 2;
  wide.cmpBlock = 16, wide.cmpStride = 16, wide.selBlock = 16;
  wide.numSelected = 5, wide.forceFirst = 2, wide.forceLast = 2;
  wide.schedules = "compressed = #skim.schedule<block_m = 128, block_n = 16, "
                   "pack_gqa = false>, "
                   "selected = #skim.schedule<block_m = 16, block_n = 16>";
  for (const Shape &shape : kNsaShapes)
    checkNsa(wide, shape, seed += 20);
  // Nothing forced: a token that sees no compressed key yet (p < l − 1)
  // scores every block −inf and selects none.
  NsaIR unforced;
  unforced.hq = 4, unforced.hkv = 1;
  unforced.numSelected = 2, unforced.forceFirst = 0, unforced.forceLast = 0;
  for (const Shape &shape : kNsaShapes)
    checkNsa(unforced, shape, seed += 20);
  // Tiles of odd sizes in every stage (the fused selection rounds the
  // compressed chunk to whole selection blocks).
  NsaIR odd;
  odd.hq = 4, odd.hkv = 2;
  odd.numSelected = 4, odd.window = 100;
  odd.schedules = "compressed = #skim.schedule<block_m = 3, block_n = 7>, "
                  "selected = #skim.schedule<block_m = 5, block_n = 24>, "
                  "window = #skim.schedule<block_m = 1, block_n = 1>, "
                  "pool = #skim.schedule<block_m = 7>";
  for (const Shape &shape : kNsaShapes)
    checkNsa(odd, shape, seed += 20);
}

TEST_CASE("nsa with a learned linear pool", "[pipeline][variants][nsa]") {
  unsigned seed = 12000;
  NsaIR ir;
  ir.hq = 4, ir.hkv = 2;
  ir.poolWeights = true;
  ir.numSelected = 4, ir.window = 128;
  for (const Shape &shape : kNsaShapes)
    checkNsa(ir, shape, seed += 20);
}

TEST_CASE("nsa in the paper's form: one K/V per branch",
          "[pipeline][variants][nsa]") {
  // Regression: with dynamic S this failed to compile ("kv_tokens must be a
  // constant or a tensor.dim of a tensor the plan knows"): the selection's
  // kv_tokens, a tensor.dim of the selected branch's K, was defined after
  // the compressed attention its scores fuse into (fixed in b338f29).
  unsigned seed = 12500;
  NsaIR ir;
  ir.hq = 4, ir.hkv = 2;
  ir.perBranch = true;
  ir.numSelected = 4, ir.window = 128;
  for (const Shape &shape : kNsaShapes)
    checkNsa(ir, shape, seed += 20);
  ir.poolWeights = true;
  checkNsa(ir, {1, 100, 100}, seed += 20);
}

TEST_CASE("nsa in bf16", "[pipeline][variants][nsa][bf16]") {
  unsigned seed = 13000;
  NsaIR ir;
  ir.type = ElementType::BF16;
  ir.hq = 16, ir.hkv = 1;
  checkNsa(ir, {1, 1000, 1000}, seed += 20);
  checkNsa(ir, {1, 100, 777}, seed += 20);
  ir.hq = 4, ir.hkv = 2;
  ir.cmpBlock = 16, ir.cmpStride = 16, ir.selBlock = 16;
  checkNsa(ir, {1, 1000, 1000}, seed += 20);
}

TEST_CASE("moba against the reference", "[pipeline][variants][moba]") {
  unsigned seed = 14000;
  const Shape shapes[] = {{2, 100, 100},
                          {1, 1000, 1000},
                          {1, 2000, 2000},
                          {2, 1, 1000},
                          {1, 100, 777}};
  for (int64_t block : {64, 128, 512})
    for (int64_t topK : {1, 3, 8}) {
      MobaIR ir;
      ir.block = block, ir.topK = topK;
      for (const Shape &shape : shapes)
        checkMoba(ir, shape, seed += 10);
    }
}

TEST_CASE("moba with other head counts, schedules, and in bf16",
          "[pipeline][variants][moba][bf16]") {
  unsigned seed = 15000;
  MobaIR ir;
  ir.hq = 4, ir.hkv = 4, ir.block = 128, ir.topK = 3;
  checkMoba(ir, {1, 1000, 1000}, seed += 10);
  ir.hq = 16, ir.hkv = 1, ir.d = 128, ir.dv = 128;
  checkMoba(ir, {1, 1000, 1000}, seed += 10);
  ir.schedules = "selected = #skim.schedule<block_m = 16, block_n = 32>, "
                 "pool = #skim.schedule<block_m = 128>";
  checkMoba(ir, {2, 300, 300}, seed += 10);
  ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
  ir.schedules = "selected = #skim.schedule<pack_gqa = false, block_m = 128, "
                 "block_n = 64>";
  checkMoba(ir, {1, 1000, 1000}, seed += 10);
  ir.schedules = "";
  ir.scale = 0.3125f;
  checkMoba(ir, {2, 300, 300}, seed += 10);
  MobaIR bf;
  bf.type = ElementType::BF16;
  for (auto [block, topK] : {std::pair<int64_t, int64_t>{64, 3}, {512, 1}})
    for (const Shape &shape : {Shape{1, 1000, 1000}, Shape{1, 100, 777}}) {
      bf.block = block, bf.topK = topK;
      checkMoba(bf, shape, seed += 10);
    }
}

TEST_CASE("nsa and moba at 8k tokens", "[pipeline][variants][slow]") {
  unsigned seed = 41000;
  NsaIR nsa; // the paper's defaults: 16 of 128 selection blocks
  nsa.hq = 16, nsa.hkv = 1;
  checkNsa(nsa, {1, 8192, 8192}, seed += 20);
  NsaIR preset;
  preset.hq = 4, preset.hkv = 2;
  preset.cmpBlock = 16, preset.cmpStride = 16, preset.selBlock = 16;
  preset.type = ElementType::BF16;
  checkNsa(preset, {1, 8192, 8192}, seed += 20);
  MobaIR moba; // the paper's scaling-law setting: 512-token blocks, top 3
  moba.block = 512, moba.topK = 3;
  checkMoba(moba, {1, 8192, 8192}, seed += 20);
}

//===----------------------------------------------------------------------===//
// merge, combine, pool
//===----------------------------------------------------------------------===//

namespace {

ref::Tensor concatKeys(const ref::Tensor &a, const ref::Tensor &b) {
  ref::Tensor r;
  r.shape = a.shape;
  r.shape[1] = a.dim(1) + b.dim(1);
  int64_t inner = a.dim(2) * a.dim(3);
  for (int64_t batch = 0; batch < a.dim(0); ++batch) {
    auto at = [&](const ref::Tensor &x) {
      return x.data.begin() + batch * x.dim(1) * inner;
    };
    r.data.insert(r.data.end(), at(a), at(a) + a.dim(1) * inner);
    r.data.insert(r.data.end(), at(b), at(b) + b.dim(1) * inner);
  }
  return r;
}

} // namespace

TEST_CASE("merge of attention over two key halves equals attention over all",
          "[pipeline][variants][merge]") {
  for (ElementType type : {ElementType::F32, ElementType::BF16}) {
    AttentionIR ir;
    ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64, ir.type = type;
    std::string q = ir.qType(), k = ir.kType(), v = ir.vType(), o = ir.oType(),
                lse = ir.lseType();
    std::string mlir =
        "func.func @split(%q: " + q + ", %k1: " + k + ", %v1: " + v +
        ", %k2: " + k + ", %v2: " + v + ") -> (" + o + ", " + lse + ") {\n" +
        "  %o1, %l1 = skim.attention %q, %k1, %v1 : " + q + ", " + k + ", " +
        v + "\n" + "  %o2, %l2 = skim.attention %q, %k2, %v2 : " + q + ", " +
        k + ", " + v + "\n" +
        "  %o, %l = skim.merge(%o1, %o2) lse(%l1, %l2) : (" + o + ", " + o +
        "), (" + lse + ", " + lse + ")\n" + "  return %o, %l : " + o + ", " +
        lse + "\n}\n";
    std::string error;
    const rt::CpuExecutable *exe = load(mlir, &error);
    REQUIRE(error == "");
    unsigned seed = 16000;
    for (Shape shape : {Shape{2, 50, 300}, Shape{1, 1, 1000}, Shape{1, 7, 3}}) {
      int64_t half = shape.keys / 2 + 1;
      ref::Tensor tq =
          input({shape.batch, shape.rows, 4, 64}, seed++, type, -2.f, 2.f);
      ref::Tensor k1 = input({shape.batch, half, 2, 64}, seed++, type);
      ref::Tensor v1 = input({shape.batch, half, 2, 64}, seed++, type);
      ref::Tensor k2 =
          input({shape.batch, shape.keys - half, 2, 64}, seed++, type);
      ref::Tensor v2 =
          input({shape.batch, shape.keys - half, 2, 64}, seed++, type);
      INFO(mlirName(type) << " B=" << shape.batch << " T=" << shape.rows
                          << " S=" << half << " + " << shape.keys - half);
      auto got = run(*exe, {tq, k1, v1, k2, v2}, type);
      REQUIRE(got);
      auto want = ref::attention(tq, concatKeys(k1, k2), concatKeys(v1, v2),
                                 nullptr, nullptr, {});
      REQUIRE(want);
      if (type == ElementType::F32) {
        CHECK(compare("O", (*got)[0], want->out, Tolerance::f32()) == "");
      } else {
        // A naive bf16 split stores both partial outputs in bf16 first.
        auto p1 = ref::attention(tq, k1, v1, nullptr, nullptr, {});
        auto p2 = ref::attention(tq, k2, v2, nullptr, nullptr, {});
        REQUIRE(p1);
        REQUIRE(p2);
        auto naive =
            ref::merge({roundTo(p1->out, type), roundTo(p2->out, type)},
                       {p1->lse, p2->lse});
        REQUIRE(naive);
        CHECK(compareNaive("O", (*got)[0], want->out,
                           roundTo(naive->out, type)) == "");
      }
      CHECK(compare("LSE", (*got)[1], want->lse, Tolerance::lse(type)) == "");
    }
  }
}

TEST_CASE("merge against ref::merge, with rows where every LSE is -inf",
          "[pipeline][variants][merge]") {
  const float inf = std::numeric_limits<float>::infinity();
  for (int parts : {1, 2, 3}) {
    std::string o = "tensor<?x?x4x32xf32>", lse = "tensor<?x4x?xf32>";
    std::string args, outs, lses, outTypes, lseTypes;
    for (int i = 0; i < parts; ++i) {
      std::string n = std::to_string(i);
      args += std::string(i ? ", " : "") + "%o" + n + ": " + o;
      outs += std::string(i ? ", " : "") + "%o" + n;
      lses += std::string(i ? ", " : "") + "%l" + n;
      outTypes += std::string(i ? ", " : "") + o;
      lseTypes += std::string(i ? ", " : "") + lse;
    }
    for (int i = 0; i < parts; ++i)
      args += ", %l" + std::to_string(i) + ": " + lse;
    std::string mlir = "func.func @merge(" + args + ") -> (" + o + ", " + lse +
                       ") {\n  %o, %l = skim.merge(" + outs + ") lse(" + lses +
                       ") : (" + outTypes + "), (" + lseTypes +
                       ")\n  return %o, %l : " + o + ", " + lse + "\n}\n";
    std::string error;
    const rt::CpuExecutable *exe = load(mlir, &error);
    REQUIRE(error == "");
    for (Shape shape : {Shape{2, 37, 0}, Shape{1, 1, 0}}) {
      INFO(parts << " partials, B=" << shape.batch << " T=" << shape.rows);
      std::vector<ref::Tensor> partialOut, partialLse;
      std::mt19937 rng(unsigned(parts * 100 + shape.rows));
      for (int i = 0; i < parts; ++i) {
        partialOut.push_back(random({shape.batch, shape.rows, 4, 32}, rng()));
        ref::Tensor l = random({shape.batch, 4, shape.rows}, rng(), -3.f, 8.f);
        partialLse.push_back(l);
      }
      // Row pattern per (b, h, t): every LSE -inf, some -inf, LSEs far
      // apart (exp underflows), or plain.
      for (size_t j = 0; j < partialLse[0].data.size(); ++j) {
        switch (j % 5) {
        case 0:
          for (auto &l : partialLse)
            l.data[j] = -inf;
          break;
        case 1:
          partialLse[0].data[j] = -inf;
          break;
        case 2:
          partialLse[size_t(parts - 1)].data[j] += 200.f;
          break;
        default:
          break;
        }
      }
      std::vector<Argument> inputs(partialOut.begin(), partialOut.end());
      inputs.insert(inputs.end(), partialLse.begin(), partialLse.end());
      auto got = run(*exe, inputs, ElementType::F32);
      REQUIRE(got);
      auto want = ref::merge(partialOut, partialLse);
      REQUIRE(want);
      CHECK(compare("O", (*got)[0], want->out, Tolerance::f32()) == "");
      CHECK(compare("LSE", (*got)[1], want->lse, Tolerance::f32()) == "");
      // Rows whose LSEs are all -inf: O exactly 0, LSE -inf.
      const ref::Tensor &go = (*got)[0], &gl = (*got)[1];
      int64_t emptyRows = 0;
      for (int64_t b = 0; b < shape.batch; ++b)
        for (int64_t h = 0; h < 4; ++h)
          for (int64_t t = 0; t < shape.rows; ++t) {
            bool allInf = true;
            for (auto &l : partialLse)
              allInf = allInf && std::isinf(l.at({b, h, t}));
            if (!allInf)
              continue;
            ++emptyRows;
            CHECK(gl.at({b, h, t}) == -inf);
            for (int64_t e = 0; e < 32; ++e)
              CHECK(go.at({b, t, h, e}) == 0.f);
          }
      CHECK(emptyRows > 0);
    }
  }
}

TEST_CASE("combine against ref::combine", "[pipeline][variants][combine]") {
  for (ElementType type : {ElementType::F32, ElementType::BF16})
    for (int branches : {1, 2, 3}) {
      std::string t = mlirName(type);
      std::string o = tensorType({"?", "?", "8", "48"}, t),
                  g = tensorType({"?", "?", "8"}, t);
      std::string args, outs, gates, outTypes, gateTypes;
      for (int i = 0; i < branches; ++i) {
        std::string n = std::to_string(i), sep = i ? ", " : "";
        args += sep + "%o" + n + ": " + o;
        outs += sep + "%o" + n;
        gates += sep + "%g" + n;
        outTypes += sep + o;
        gateTypes += sep + g;
      }
      for (int i = 0; i < branches; ++i)
        args += ", %g" + std::to_string(i) + ": " + g;
      std::string mlir = "func.func @combine(" + args + ") -> " + o +
                         " {\n  %r = skim.combine(" + outs + ") gates(" +
                         gates + ") : (" + outTypes + "), (" + gateTypes +
                         ")\n  return %r : " + o + "\n}\n";
      std::string error;
      const rt::CpuExecutable *exe = load(mlir, &error);
      REQUIRE(error == "");
      unsigned seed = 17000 + unsigned(branches);
      for (Shape shape : {Shape{2, 77, 0}, Shape{1, 1, 0}}) {
        INFO(mlirName(type) << " " << branches << " branches B=" << shape.batch
                            << " T=" << shape.rows);
        std::vector<ref::Tensor> outputs, gateValues;
        for (int i = 0; i < branches; ++i)
          outputs.push_back(
              input({shape.batch, shape.rows, 8, 48}, seed++, type, -3.f, 3.f));
        for (int i = 0; i < branches; ++i)
          gateValues.push_back(
              input({shape.batch, shape.rows, 8}, seed++, type, -1.f, 1.f));
        std::vector<Argument> inputs(outputs.begin(), outputs.end());
        inputs.insert(inputs.end(), gateValues.begin(), gateValues.end());
        auto got = run(*exe, inputs, type);
        REQUIRE(got);
        auto want = ref::combine(outputs, gateValues);
        REQUIRE(want);
        CHECK(compare("combine", (*got)[0], *want, Tolerance::of(type)) == "");
      }
    }
}

TEST_CASE("pool against ref::pool", "[pipeline][variants][pool]") {
  struct Case {
    ref::PoolKind kind;
    int64_t block, stride, dout;
    bool posEmb;
    ElementType type;
  };
  const Case cases[] = {
      {ref::PoolKind::Mean, 32, 16, 64, false, ElementType::F32},
      {ref::PoolKind::Mean, 64, 64, 64, false, ElementType::F32},
      {ref::PoolKind::Mean, 16, 16, 64, false, ElementType::BF16},
      {ref::PoolKind::Linear, 32, 16, 64, true, ElementType::F32},
      {ref::PoolKind::Linear, 16, 8, 32, false, ElementType::F32},
      {ref::PoolKind::Linear, 32, 16, 48, true, ElementType::BF16},
      // Strides larger than the block (gaps between blocks), blocks of one.
      {ref::PoolKind::Mean, 16, 32, 64, false, ElementType::F32},
      {ref::PoolKind::Linear, 8, 24, 16, true, ElementType::F32},
      {ref::PoolKind::Mean, 1, 1, 64, false, ElementType::F32},
  };
  unsigned seed = 18000;
  const int64_t heads = 2, d = 64;
  for (const Case &c : cases) {
    bool linear = c.kind == ref::PoolKind::Linear;
    std::string t = mlirName(c.type);
    std::string x =
        tensorType({"?", "?", std::to_string(heads), std::to_string(d)}, t);
    std::string w =
        tensorType({std::to_string(c.block * d), std::to_string(c.dout)}, t);
    std::string pe =
        tensorType({std::to_string(c.block), std::to_string(d)}, t);
    std::string out = tensorType(
        {"?", "?", std::to_string(heads), std::to_string(c.dout)}, t);
    std::string mlir = "func.func @pool(%x: " + x;
    if (linear)
      mlir += ", %w: " + w + (c.posEmb ? ", %pe: " + pe : "");
    mlir += ") -> " + out + " {\n  %r = skim.pool " +
            (linear ? "linear" : "mean") + " %x";
    if (linear) {
      mlir += " weights(%w : " + w + ")";
      if (c.posEmb)
        mlir += " pos_emb(%pe : " + pe + ")";
    }
    mlir += " {block = " + std::to_string(c.block) +
            ", stride = " + std::to_string(c.stride) + "} : " + x +
            "\n  return %r : " + out + "\n}\n";
    std::string error;
    const rt::CpuExecutable *exe = load(mlir, &error);
    INFO(mlir);
    REQUIRE(error == "");
    for (Shape shape : {Shape{2, 0, 100}, Shape{1, 0, 1000}, Shape{1, 0, 20},
                        Shape{1, 0, c.block}}) {
      INFO("B=" << shape.batch << " S=" << shape.keys);
      ref::Tensor xs =
          input({shape.batch, shape.keys, heads, d}, seed++, c.type);
      float wScale = 1.f / std::sqrt(float(c.block * d));
      ref::Tensor ws =
          input({c.block * d, c.dout}, seed++, c.type, -2 * wScale, 2 * wScale);
      ref::Tensor pes = input({c.block, d}, seed++, c.type);
      std::vector<Argument> args = {xs};
      if (linear) {
        args.push_back(ws);
        if (c.posEmb)
          args.push_back(pes);
      }
      auto got = run(*exe, args, c.type);
      REQUIRE(got);
      auto want =
          ref::pool(xs, c.kind, c.block, c.stride, linear ? &ws : nullptr,
                    linear && c.posEmb ? &pes : nullptr);
      REQUIRE(want);
      CHECK(compare("pool", (*got)[0], *want, Tolerance::of(c.type)) == "");
    }
  }
}

TEST_CASE("two variants loaded one after the other run their own kernels",
          "[pipeline][runtime]") {
  // Regression: CpuExecutable::load used to dlopen each artifact as
  // "/proc/self/fd/N" and close N at once; the next load reused N, and
  // dlopen, knowing that name, returned the first artifact's object, so the
  // second variant ran the first one's kernels (fixed in 8ced204 by keeping
  // the fd open). Here: causal, then dense, with the same kernel ABI.
  AttentionIR causal;
  causal.hq = 2, causal.hkv = 1, causal.d = 32, causal.dv = 32;
  causal.causal = true;
  AttentionIR dense = causal;
  dense.causal = false;
  // Texts no other test compiles, so both are loaded here, back to back.
  std::string first = "// two variants: first\n" + causal.mlir();
  std::string second = "// two variants: second\n" + dense.mlir();
  REQUIRE(compileError(first) == "");
  REQUIRE(compileError(second) == "");
  const rt::CpuExecutable &a = compile(first), &b = compile(second);
  ref::Tensor q = random({1, 40, 2, 32}, 1), k = random({1, 40, 1, 32}, 2),
              v = random({1, 40, 1, 32}, 3);
  auto gotA = run(a, {q, k, v}, ElementType::F32);
  auto gotB = run(b, {q, k, v}, ElementType::F32);
  REQUIRE(gotA);
  REQUIRE(gotB);
  auto wantA = ref::attention(q, k, v, nullptr, nullptr, causal.params());
  auto wantB = ref::attention(q, k, v, nullptr, nullptr, dense.params());
  CHECK(compare("O of the causal variant", (*gotA)[0], wantA->out,
                Tolerance::f32()) == "");
  CHECK(compare("O of the dense variant", (*gotB)[0], wantB->out,
                Tolerance::f32()) == "");
}

TEST_CASE("variants with static shapes", "[pipeline][variants]") {
  // B, T and S static (as in examples/*.mlir): kv_tokens becomes a constant
  // that verifiers check block counts against, and sizes fold.
  auto staticText = [](std::string text, int64_t hq, int64_t rows) {
    auto replaceAll = [&](const std::string &from, const std::string &to) {
      for (size_t at = text.find(from); at != std::string::npos;
           at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    };
    std::string n = std::to_string(rows), h = std::to_string(hq);
    replaceAll("tensor<?x?x", "tensor<1x" + n + "x");
    replaceAll("tensor<?x" + h + "x?x", "tensor<1x" + h + "x" + n + "x");
    return text;
  };
  const int64_t rows = 300;
  unsigned seed = 19000;
  {
    AttentionIR ir;
    ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.causal = true, ir.window = 100, ir.sink = 2;
    std::string text = staticText(ir.mlir(), ir.hq, rows);
    std::string error;
    const rt::CpuExecutable *exe = load(text, &error);
    INFO(text);
    REQUIRE(error == "");
    ref::Tensor q = input({1, rows, 8, 64}, seed++, ir.type, -2.f, 2.f),
                k = input({1, rows, 2, 64}, seed++, ir.type),
                v = input({1, rows, 2, 64}, seed++, ir.type);
    auto got = run(*exe, {q, k, v}, ir.type);
    REQUIRE(got);
    auto want = ref::attention(q, k, v, nullptr, nullptr, ir.params());
    REQUIRE(want);
    CHECK(compare("O", (*got)[0], want->out, Tolerance::f32()) == "");
    CHECK(compare("LSE", (*got)[1], want->lse, Tolerance::f32()) == "");
  }
  {
    NsaIR ir;
    ir.hq = 16, ir.hkv = 1;
    ir.numSelected = 3;
    std::string text = staticText(ir.mlir(), ir.hq, rows);
    std::string error;
    const rt::CpuExecutable *exe = load(text, &error);
    INFO(text);
    REQUIRE(error == "");
    NsaInputs in = makeNsaInputs(ir, {1, rows, rows}, seed++);
    auto got = run(*exe, {in.q, in.kc, in.vc, in.gc, in.gs, in.gw}, ir.type);
    REQUIRE(got);
    int64_t ties = 0;
    for (int64_t t : sampleRows(rows, 40, seed++)) {
      RowReference row;
      REQUIRE(nsaRow(ir, in, t, row) == "");
      CHECK(compareRow((*got)[0], nullptr, t, row, ir.type, ties) == "");
    }
    CHECK(ties <= 2);
  }
  {
    // The paper's form with static S (constant kv_tokens): one K/V per
    // branch and a learned pool.
    NsaIR ir;
    ir.hq = 4, ir.hkv = 2;
    ir.perBranch = true, ir.poolWeights = true;
    ir.numSelected = 3, ir.window = 64;
    std::string text = staticText(ir.mlir(), ir.hq, rows);
    std::string error;
    const rt::CpuExecutable *exe = load(text, &error);
    INFO(text);
    REQUIRE(error == "");
    NsaInputs in = makeNsaInputs(ir, {1, rows, rows}, seed++);
    auto got = run(*exe,
                   {in.q, in.kc, in.vc, in.ks, in.kw, in.vs, in.vw, in.gc,
                    in.gs, in.gw, in.wk, in.wv},
                   ir.type);
    REQUIRE(got);
    int64_t ties = 0;
    for (int64_t t : sampleRows(rows, 40, seed++)) {
      RowReference row;
      REQUIRE(nsaRow(ir, in, t, row) == "");
      CHECK(compareRow((*got)[0], nullptr, t, row, ir.type, ties) == "");
    }
    CHECK(ties <= 2);
  }
  {
    MobaIR ir;
    ir.block = 64, ir.topK = 2;
    std::string text = staticText(ir.mlir(), ir.hq, rows);
    std::string error;
    const rt::CpuExecutable *exe = load(text, &error);
    INFO(text);
    REQUIRE(error == "");
    ref::Tensor q = input({1, rows, 8, 64}, seed++, ir.type, -2.f, 2.f),
                k = input({1, rows, 2, 64}, seed++, ir.type),
                v = input({1, rows, 2, 64}, seed++, ir.type);
    auto got = run(*exe, {q, k, v}, ir.type);
    REQUIRE(got);
    ref::MobaParams params;
    params.block = 64, params.topK = 2;
    auto want = ref::moba(q, k, v, params);
    REQUIRE(want);
    CHECK(compare("O", (*got)[0], want->attention.out, Tolerance::f32()) == "");
    CHECK(compare("LSE", (*got)[1], want->attention.lse, Tolerance::f32()) ==
          "");
  }
}
