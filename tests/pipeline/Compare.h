//===- Compare.h - tolerance checks and MLIR builders for tests -*- C++ -*-===//
//
// Shared by the pipeline numerics tests: comparisons against the reference
// that return "" or a message naming the first mismatching index (so a test
// writes `CHECK(compare(...) == "")` and Catch prints the message), the
// ARCHITECTURE.md §7 tolerance rules, reference attention on sampled rows,
// and builders for the MLIR text of attention variants.
//
// Every builder keeps B, T and S dynamic, so one MLIR text (one compile)
// serves every length a test tries.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_TESTS_PIPELINE_COMPARE_H
#define SKIM_TESTS_PIPELINE_COMPARE_H

#include "Harness.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace skim::testing {

//===----------------------------------------------------------------------===//
// Loading compiled variants
//===----------------------------------------------------------------------===//

/// The compiled variant, or null with the compiler's diagnostics in
/// `error` (compile() itself aborts on a compile error).
inline const rt::CpuExecutable *load(const std::string &mlir,
                                     std::string *error = nullptr,
                                     Target target = Target::Host) {
  std::string diagnostics = compileError(mlir, target);
  if (error)
    *error = diagnostics;
  if (!diagnostics.empty())
    return nullptr;
  return &compile(mlir, target);
}

//===----------------------------------------------------------------------===//
// Tolerances
//===----------------------------------------------------------------------===//

/// bf16 rounding of one value, nearest even (as Harness's roundTo).
inline float roundBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return f; // NaN stays NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

/// How far an output may be from the double reference.
struct Tolerance {
  /// |got - want| <= abs + rel * |want|.
  double abs = 1e-5;
  double rel = 1e-4;
  /// ARCHITECTURE.md §7 for bf16 outputs: at most twice the error of a naive
  /// implementation that rounds the exact result to bf16 (at least half a
  /// bf16 ulp, 2^-9 |want|), plus a small absolute term `abs`.
  bool bf16Naive = false;

  /// f32 everywhere: 1e-5 absolute plus 1e-4 relative.
  static Tolerance f32() { return {}; }
  /// A bf16 output (O of a bf16 variant).
  static Tolerance bf16() { return {1e-3, 0.0, true}; }
  /// An output of a variant in `type`: O follows the element type, f32
  /// results (LSE) of a bf16 variant see bf16 inputs but f32 arithmetic.
  static Tolerance of(ElementType type) {
    return type == ElementType::F32 ? f32() : bf16();
  }
  static Tolerance lse(ElementType type) {
    return type == ElementType::F32 ? f32() : Tolerance{1e-4, 1e-4, false};
  }

  double bound(double want) const {
    if (!bf16Naive)
      return abs + rel * std::fabs(want);
    double naive = std::fabs(double(roundBf16(float(want))) - want);
    return 2.0 * std::max(naive, std::ldexp(std::fabs(want), -9)) + abs;
  }
};

/// "[b, t, h, e]" for a flat index into `shape`.
inline std::string formatIndex(const std::vector<int64_t> &shape,
                               int64_t flat) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return ref::formatShape(index);
}

/// "" when `got` matches `want` within `tol`, else a message with the first
/// mismatching index, got and want, and the number of mismatches. A NaN in
/// `want` means "not checked" (the reference never produces NaN); an
/// infinite `want` must be matched exactly; a NaN in `got` always fails.
inline std::string compare(const std::string &what, const ref::Tensor &got,
                           const ref::Tensor &want, Tolerance tol) {
  std::ostringstream os;
  if (got.shape != want.shape) {
    os << what << ": shape " << ref::formatShape(got.shape) << ", expected "
       << ref::formatShape(want.shape);
    return os.str();
  }
  int64_t bad = 0, first = -1, checked = 0;
  double worst = 0.0;
  for (size_t i = 0; i < want.data.size(); ++i) {
    double w = want.data[i], g = got.data[i];
    if (std::isnan(w))
      continue;
    ++checked;
    bool ok;
    if (std::isinf(w))
      ok = g == w;
    else
      ok = std::isfinite(g) && std::fabs(g - w) <= tol.bound(w);
    if (std::isfinite(g) && std::isfinite(w))
      worst = std::max(worst, std::fabs(g - w) / tol.bound(w));
    if (!ok) {
      if (first < 0)
        first = int64_t(i);
      ++bad;
    }
  }
  if (!bad)
    return "";
  os.precision(9);
  os << what << ": " << bad << " of " << checked
     << " checked elements differ; first at " << formatIndex(want.shape, first)
     << ": got " << got.data[size_t(first)] << ", want "
     << want.data[size_t(first)] << " (allowed error "
     << tol.bound(want.data[size_t(first)]) << "; worst error/allowed " << worst
     << ")";
  return os.str();
}

/// The bf16 rule of §7 against an explicit naive model: `naive` holds what a
/// naive bf16 implementation computes (the exact result with its bf16
/// roundings), so an element may be off by 2 max(|naive - want|, 2^-9
/// |want|) + `abs`. NaN in `want` means "not checked".
inline std::string compareNaive(const std::string &what, const ref::Tensor &got,
                                const ref::Tensor &want,
                                const ref::Tensor &naive, double abs = 1e-3) {
  std::ostringstream os;
  if (got.shape != want.shape || naive.shape != want.shape) {
    os << what << ": shape " << ref::formatShape(got.shape) << ", expected "
       << ref::formatShape(want.shape);
    return os.str();
  }
  int64_t bad = 0, first = -1, checked = 0;
  auto bound = [&](size_t i) {
    double w = want.data[i];
    return 2.0 * std::max(std::fabs(double(naive.data[i]) - w),
                          std::ldexp(std::fabs(w), -9)) +
           abs;
  };
  for (size_t i = 0; i < want.data.size(); ++i) {
    double w = want.data[i], g = got.data[i];
    if (std::isnan(w))
      continue;
    ++checked;
    if (!(std::isfinite(g) && std::fabs(g - w) <= bound(i))) {
      if (first < 0)
        first = int64_t(i);
      ++bad;
    }
  }
  if (!bad)
    return "";
  os.precision(9);
  os << what << ": " << bad << " of " << checked
     << " checked elements differ; first at " << formatIndex(want.shape, first)
     << ": got " << got.data[size_t(first)] << ", want "
     << want.data[size_t(first)] << " (naive bf16 " << naive.data[size_t(first)]
     << ", allowed error " << bound(size_t(first)) << ")";
  return os.str();
}

/// Exact comparison of i32 results (returned by the harness as floats).
inline std::string compareExact(const std::string &what, const ref::Tensor &got,
                                const ref::IndexTensor &want) {
  std::ostringstream os;
  if (got.shape != want.shape) {
    os << what << ": shape " << ref::formatShape(got.shape) << ", expected "
       << ref::formatShape(want.shape);
    return os.str();
  }
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < want.data.size(); ++i)
    if (got.data[i] != float(want.data[i])) {
      if (first < 0)
        first = int64_t(i);
      ++bad;
    }
  if (!bad)
    return "";
  os << what << ": " << bad << " of " << want.data.size()
     << " elements differ; first at " << formatIndex(want.shape, first)
     << ": got " << got.data[size_t(first)] << ", want "
     << want.data[size_t(first)];
  return os.str();
}

/// Checks that no element is NaN (for rows the reference did not compute).
inline std::string noNaN(const std::string &what, const ref::Tensor &got) {
  for (size_t i = 0; i < got.data.size(); ++i)
    if (std::isnan(got.data[i]))
      return what + ": NaN at " + formatIndex(got.shape, int64_t(i));
  return "";
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

/// Random inputs in the element type: rounded before the reference sees them.
inline ref::Tensor input(std::vector<int64_t> shape, unsigned seed,
                         ElementType type, float lo = -1.f, float hi = 1.f) {
  return roundTo(random(std::move(shape), seed, lo, hi), type);
}

/// Rows [lo, hi) of a [B, T, ...] tensor.
template <typename T>
ref::TensorOf<T> sliceRows(const ref::TensorOf<T> &x, int64_t lo, int64_t hi) {
  ref::TensorOf<T> r;
  r.shape = x.shape;
  r.shape[1] = hi - lo;
  int64_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d)
    inner *= x.shape[d];
  for (int64_t b = 0; b < x.shape[0]; ++b)
    for (int64_t t = lo; t < hi; ++t)
      for (int64_t i = 0; i < inner; ++i)
        r.data.push_back(x.data[size_t((b * x.shape[1] + t) * inner + i)]);
  return r;
}

/// Sampled query rows of T: the first and last few, tile edges, and random
/// rows, sorted and unique.
inline std::vector<int64_t> sampleRows(int64_t numRows, int count,
                                       unsigned seed) {
  std::set<int64_t> rows;
  for (int64_t t : {int64_t(0), int64_t(1), int64_t(15), int64_t(16),
                    int64_t(63), int64_t(64), int64_t(127), int64_t(128),
                    numRows / 2, numRows - 2, numRows - 1})
    if (t >= 0 && t < numRows)
      rows.insert(t);
  std::mt19937 rng(seed);
  while (int(rows.size()) < count && int64_t(rows.size()) < numRows)
    rows.insert(int64_t(rng() % uint64_t(numRows)));
  return {rows.begin(), rows.end()};
}

//===----------------------------------------------------------------------===//
// Reference attention, whole or on sampled rows
//===----------------------------------------------------------------------===//

/// ref::attention, or only the given rows of it (the other rows of O and
/// LSE are NaN: "not checked"). A row t is computed alone: a one-row query
/// with kv_tokens chosen so that it keeps its position t + L - T, and the
/// selection entry row t / q_block. Returns an error message or "".
inline std::string referenceAttention(
    const ref::Tensor &q, const ref::Tensor &k, const ref::Tensor &v,
    const ref::IndexTensor *indices, const ref::IndexTensor *counts,
    const ref::AttentionParams &params, const std::vector<int64_t> &rows,
    ref::AttentionResult &want) {
  if (rows.empty()) {
    auto full = ref::attention(q, k, v, indices, counts, params);
    if (!full)
      return "reference: " + full.error();
    want = std::move(*full);
    return "";
  }
  int64_t batch = q.dim(0), numRows = q.dim(1), hq = q.dim(2), dv = v.dim(3);
  float nan = std::numeric_limits<float>::quiet_NaN();
  want.out = ref::Tensor::filled({batch, numRows, hq, dv}, nan);
  want.lse = ref::Tensor::filled({batch, hq, numRows}, nan);
  int64_t tokens = params.kvTokens.value_or(k.dim(1));
  for (int64_t t : rows) {
    int64_t position = ref::queryPosition(t, numRows, tokens);
    if (position + 1 < 0)
      return "referenceAttention: row " + std::to_string(t) +
             " has no position to sample at";
    ref::AttentionParams one = params;
    one.kvTokens = position + 1;
    one.qBlock = 1;
    ref::IndexTensor idx, cnt;
    if (indices) {
      int64_t entry = t / params.qBlock;
      idx = sliceRows(*indices, entry, entry + 1);
      if (counts)
        cnt = sliceRows(*counts, entry, entry + 1);
    }
    auto r =
        ref::attention(sliceRows(q, t, t + 1), k, v, indices ? &idx : nullptr,
                       counts ? &cnt : nullptr, one);
    if (!r)
      return "reference: " + r.error();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < hq; ++h) {
        want.lse.at({b, h, t}) = r->lse.at({b, h, 0});
        for (int64_t e = 0; e < dv; ++e)
          want.out.at({b, t, h, e}) = r->out.at({b, 0, h, e});
      }
  }
  return "";
}

//===----------------------------------------------------------------------===//
// MLIR text
//===----------------------------------------------------------------------===//

/// "tensor<?x?x4x64xf32>" from dims ("?" or a number) and an element type.
inline std::string tensorType(const std::vector<std::string> &dims,
                              const std::string &element) {
  std::string s = "tensor<";
  for (const std::string &d : dims)
    s += d + "x";
  return s + element + ">";
}

/// An f32 attribute spelled by its bits, so the kernel and the reference see
/// exactly the same value.
inline std::string f32Attr(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%08X : f32", bits);
  return buf;
}

/// Where an attention's kv_tokens operand comes from.
enum class KvTokens {
  None,     ///< absent: L = S
  DimOfRaw, ///< tensor.dim of an extra argument (raw keys [B, L, Hkv, D])
  Constant, ///< an arith.constant
};

/// One skim.attention variant: the static part of its MLIR and how the
/// reference reads it.
struct AttentionIR {
  int64_t hq = 1, hkv = 1, d = 64, dv = 64;
  ElementType type = ElementType::F32;
  bool causal = false;
  int64_t window = 0, sink = 0;
  std::optional<float> scale, softcap;
  int64_t keyStride = 1, keyOffset = 0;
  KvTokens kvTokens = KvTokens::None;
  int64_t kvTokensConstant = 0;
  /// Selection: selHeads = 0 means none; else H' (Hkv or Hq).
  int64_t selHeads = 0, entries = 0, kvBlock = 0, qBlock = 1;
  bool counts = false;
  /// The fields of #skim.schedule<...>, or "" for none.
  std::string schedule;
  /// Where it runs (not part of the MLIR text).
  Target target = Target::Host;
  /// The unit roundoff of P where the kernels round it before P·V (2^-8 for
  /// bf16, 2^-11 for f16 on the tensor-core paths), or 0 where P stays f32.
  double pRoundoff = 0;

  std::string elt() const { return mlirName(type); }
  std::string qType() const {
    return tensorType({"?", "?", std::to_string(hq), std::to_string(d)}, elt());
  }
  std::string kType() const {
    return tensorType({"?", "?", std::to_string(hkv), std::to_string(d)},
                      elt());
  }
  std::string vType() const {
    return tensorType({"?", "?", std::to_string(hkv), std::to_string(dv)},
                      elt());
  }
  std::string oType() const {
    return tensorType({"?", "?", std::to_string(hq), std::to_string(dv)},
                      elt());
  }
  std::string lseType() const {
    return tensorType({"?", std::to_string(hq), "?"}, "f32");
  }
  std::string idxType() const {
    return tensorType(
        {"?", "?", std::to_string(selHeads), std::to_string(entries)}, "i32");
  }
  std::string cntType() const {
    return tensorType({"?", "?", std::to_string(selHeads)}, "i32");
  }

  std::string attrs() const {
    std::vector<std::string> a;
    if (causal || window || sink) {
      std::string m;
      auto add = [&](const std::string &f) {
        m += (m.empty() ? "" : ", ") + f;
      };
      if (causal)
        add("causal");
      if (window)
        add("window = " + std::to_string(window));
      if (sink)
        add("sink = " + std::to_string(sink));
      a.push_back("mask = #skim.mask<" + m + ">");
    }
    if (scale)
      a.push_back("scale = " + f32Attr(*scale));
    if (softcap)
      a.push_back("softcap = " + f32Attr(*softcap));
    if (keyStride != 1)
      a.push_back("key_stride = " + std::to_string(keyStride));
    if (keyOffset != 0)
      a.push_back("key_offset = " + std::to_string(keyOffset));
    if (selHeads) {
      a.push_back("kv_block = " + std::to_string(kvBlock));
      if (qBlock != 1)
        a.push_back("q_block = " + std::to_string(qBlock));
    }
    if (!schedule.empty())
      a.push_back("schedule = #skim.schedule<" + schedule + ">");
    if (a.empty())
      return "";
    std::string s = " {";
    for (size_t i = 0; i < a.size(); ++i)
      s += (i ? ", " : "") + a[i];
    return s + "}";
  }

  /// The variant function: arguments q, k, v [, indices] [, counts]
  /// [, raw keys], results O and LSE.
  std::string mlir() const {
    std::string args =
        "%q: " + qType() + ", %k: " + kType() + ", %v: " + vType();
    if (selHeads) {
      args += ", %idx: " + idxType();
      if (counts)
        args += ", %cnt: " + cntType();
    }
    if (kvTokens == KvTokens::DimOfRaw)
      args += ", %raw: " + kType();
    std::string body;
    if (kvTokens == KvTokens::DimOfRaw)
      body =
          "  %c1 = arith.constant 1 : index\n  %L = tensor.dim %raw, %c1 : " +
          kType() + "\n";
    else if (kvTokens == KvTokens::Constant)
      body = "  %L = arith.constant " + std::to_string(kvTokensConstant) +
             " : index\n";
    std::string op = "  %o, %lse = skim.attention %q, %k, %v";
    if (selHeads) {
      op += " indices(%idx : " + idxType() + ")";
      if (counts)
        op += " counts(%cnt : " + cntType() + ")";
    }
    if (kvTokens != KvTokens::None)
      op += " kv_tokens(%L)";
    op += attrs() + "\n      : " + qType() + ", " + kType() + ", " + vType() +
          "\n";
    return "func.func @attention(" + args + ")\n    -> (" + oType() + ", " +
           lseType() + ") {\n" + body + op + "  return %o, %lse : " + oType() +
           ", " + lseType() + "\n}\n";
  }

  /// The reference's reading, for kv_tokens `tokens` (ignored when absent).
  ref::AttentionParams params(int64_t tokens = -1) const {
    ref::AttentionParams p;
    p.causal = causal;
    p.window = window;
    p.sink = sink;
    if (scale)
      p.scale = double(*scale);
    if (softcap)
      p.softcap = double(*softcap);
    p.keyStride = keyStride;
    p.keyOffset = keyOffset;
    if (kvTokens == KvTokens::Constant)
      p.kvTokens = kvTokensConstant;
    else if (kvTokens == KvTokens::DimOfRaw)
      p.kvTokens = tokens;
    if (selHeads) {
      p.kvBlock = kvBlock;
      p.qBlock = qBlock;
    }
    return p;
  }

  /// A short description for INFO().
  std::string describe() const {
    std::ostringstream os;
    os << "Hq=" << hq << " Hkv=" << hkv << " D=" << d << " Dv=" << dv << " "
       << elt() << attrs();
    if (selHeads)
      os << " H'=" << selHeads << " N=" << entries
         << (counts ? " +counts" : "");
    if (kvTokens != KvTokens::None)
      os << " kv_tokens="
         << (kvTokens == KvTokens::Constant ? "constant" : "dim");
    return os.str();
  }
};

/// The inputs of one attention run.
struct AttentionInputs {
  ref::Tensor q, k, v;
  std::optional<ref::IndexTensor> indices, counts;
  /// kv_tokens L when the variant takes it (raw keys are [B, L, Hkv, D]).
  int64_t tokens = -1;
};

/// Runs `ir` (compiled once per text) on `in` and compares O and LSE with the
/// reference, on every row or the sampled `rows`. Returns "" or a message.
/// Rows with no allowed key must give O = 0 exactly and LSE = -inf; their
/// number (over batch, head and row) goes to `emptyRows` when given.
/// `outTol` and `lseTol` replace the element type's tolerances when given.
inline std::string
checkAttention(const AttentionIR &ir, const AttentionInputs &in,
               const std::vector<int64_t> &rows = {},
               int64_t *emptyRows = nullptr, unsigned threads = 2,
               std::optional<Tolerance> outTol = std::nullopt,
               std::optional<Tolerance> lseTol = std::nullopt) {
  std::string error;
  const rt::CpuExecutable *exe = load(ir.mlir(), &error, ir.target);
  if (!exe)
    return "compile error: " + error + "\n--- source ---\n" + ir.mlir();
  std::vector<Argument> args = {in.q, in.k, in.v};
  if (ir.selHeads) {
    args.push_back(*in.indices);
    if (ir.counts)
      args.push_back(*in.counts);
  }
  if (ir.kvTokens == KvTokens::DimOfRaw)
    args.push_back(input({in.k.dim(0), in.tokens, ir.hkv, ir.d}, 99, ir.type));
  auto got = run(*exe, args, ir.type, threads);
  if (!got)
    return "run error: " + got.message();
  ref::AttentionResult want;
  ref::AttentionParams p = ir.params(in.tokens);
  error =
      referenceAttention(in.q, in.k, in.v, in.indices ? &*in.indices : nullptr,
                         in.counts ? &*in.counts : nullptr, p, rows, want);
  if (!error.empty())
    return error;
  std::string msg;
  if (ir.pRoundoff > 0) {
    // §7 with P rounded: a naive implementation that rounds each p_s is off
    // by up to u Σ p_s |v_s| / l, the reference over |V|; the kernel may be
    // off by twice that (or twice the output's own rounding).
    ref::Tensor absV = in.v;
    for (float &x : absV.data)
      x = std::fabs(x);
    ref::AttentionResult absWant;
    error = referenceAttention(in.q, in.k, absV,
                               in.indices ? &*in.indices : nullptr,
                               in.counts ? &*in.counts : nullptr, p, rows, absWant);
    if (!error.empty())
      return error;
    ref::Tensor naive = want.out;
    for (size_t i = 0; i < naive.data.size(); ++i)
      naive.data[i] += float(ir.pRoundoff * absWant.out.data[i]);
    msg = compareNaive("O", (*got)[0], want.out, naive,
                       outTol ? outTol->abs : Tolerance::bf16().abs);
  } else {
    msg = compare("O", (*got)[0], want.out, outTol.value_or(Tolerance::of(ir.type)));
  }
  // Empty rows: exactly zero, whatever the tolerance.
  int64_t empty = 0;
  const ref::Tensor &o = (*got)[0];
  int64_t batch = o.dim(0), numRows = o.dim(1), hq = o.dim(2), dv = o.dim(3);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < numRows; ++t)
      for (int64_t h = 0; h < hq; ++h) {
        float w = want.lse.at({b, h, t});
        if (!(std::isinf(w) && w < 0))
          continue;
        ++empty;
        for (int64_t e = 0; e < dv && msg.empty(); ++e)
          if (o.at({b, t, h, e}) != 0.f)
            msg = "O of an empty row is not exactly 0 at [" +
                  std::to_string(b) + ", " + std::to_string(t) + ", " +
                  std::to_string(h) + ", " + std::to_string(e) +
                  "]: " + std::to_string(o.at({b, t, h, e}));
      }
  if (emptyRows)
    *emptyRows = empty;
  std::string lse = compare("LSE", (*got)[1], want.lse,
                            lseTol.value_or(Tolerance::lse(ir.type)));
  if (!lse.empty())
    msg += (msg.empty() ? "" : "\n") + lse;
  // Unsampled rows are not compared, but they must be written.
  if (!rows.empty() && msg.empty()) {
    msg = noNaN("O", (*got)[0]);
    if (msg.empty())
      msg = noNaN("LSE", (*got)[1]);
  }
  return msg;
}

} // namespace skim::testing

#endif // SKIM_TESTS_PIPELINE_COMPARE_H
