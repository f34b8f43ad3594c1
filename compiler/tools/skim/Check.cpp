//===- Check.cpp - compare skim's output with the plain reference ---------===//
//
// Every preset is causal, so query row t (position p = t + S − T) depends only
// on keys 0..p: the reference runs on that one row with the keys cut at p,
// which keeps --check affordable at long lengths.
//
//===----------------------------------------------------------------------===//

#include "Check.h"

#include "reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace skim::tool;
namespace ref = skim::ref;

std::vector<int64_t> skim::tool::sampleRows(int64_t seq, int64_t count) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < std::min<int64_t>(3, seq); ++i)
    rows.push_back(i);
  for (int64_t i = 0; i < count; ++i)
    rows.push_back(seq * (2 * i + 1) / (2 * count));
  for (int64_t i = std::max<int64_t>(0, seq - 3); i < seq; ++i)
    rows.push_back(i);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

namespace {

/// x[b, lo:hi, ...] of a [B, N, H, D]-shaped f32 array as a reference tensor.
ref::Tensor slice(const std::vector<float> &x, std::vector<int64_t> shape,
                  int64_t b, int64_t lo, int64_t hi) {
  int64_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    inner *= shape[d];
  ref::Tensor t;
  t.shape = shape;
  t.shape[0] = 1;
  t.shape[1] = hi - lo;
  size_t start = size_t((b * shape[1] + lo) * inner);
  t.data.assign(x.begin() + start, x.begin() + start + size_t((hi - lo) * inner));
  return t;
}

double tolerance(const std::string &dtype, double magnitude) {
  // O is rounded to the output type once; accumulation is f32.
  double rel = dtype == "bf16" ? 1.0 / 128 : dtype == "f16" ? 1.0 / 1024 : 2e-4;
  double abs = dtype == "f32" ? 2e-5 : 2e-3;
  return abs + rel * magnitude;
}

} // namespace

CheckResult skim::tool::checkPreset(const Preset &p,
                                    const std::vector<std::vector<float>> &inputs,
                                    const std::vector<std::vector<float>> &outputs,
                                    const std::vector<int64_t> &rows) {
  CheckResult result;
  std::ostringstream report;
  int64_t S = p.kvTokens(), T = p.seq, Dv = p.valueDim();
  auto shapes = p.inputs();
  bool hasLse = p.outputs().size() > 1;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t t : rows) {
      int64_t pos = t + S - T;
      ref::Tensor q = slice(inputs[0], shapes[0].second, b, t, t + 1);
      ref::Tensor k = slice(inputs[1], shapes[1].second, b, 0, pos + 1);
      ref::Tensor v = slice(inputs[2], shapes[2].second, b, 0, pos + 1);
      ref::Tensor out, lse;
      if (p.variant == "nsa") {
        ref::NsaParams params;
        params.cmpBlock = p.cmpBlock;
        params.cmpStride = p.cmpStride;
        params.selBlock = p.selBlock;
        params.numSelected = p.selected;
        params.window = p.window;
        auto r = ref::nsa(q, k, v, slice(inputs[3], shapes[3].second, b, t, t + 1),
                          slice(inputs[4], shapes[4].second, b, t, t + 1),
                          slice(inputs[5], shapes[5].second, b, t, t + 1), params);
        if (!r) {
          result.passed = false;
          result.report = "reference failed: " + r.error();
          return result;
        }
        out = r->out;
      } else if (p.variant == "moba") {
        ref::MobaParams params;
        params.block = p.block;
        params.topK = p.topK;
        auto r = ref::moba(q, k, v, params);
        if (!r) {
          result.passed = false;
          result.report = "reference failed: " + r.error();
          return result;
        }
        out = r->attention.out;
        lse = r->attention.lse;
      } else {
        ref::AttentionParams params;
        params.causal = true;
        params.window = p.variant == "window" ? p.window : 0;
        params.sink = p.sink;
        auto r = ref::attention(q, k, v, nullptr, nullptr, params);
        if (!r) {
          result.passed = false;
          result.report = "reference failed: " + r.error();
          return result;
        }
        out = r->out;
        lse = r->lse;
      }
      for (int64_t h = 0; h < p.hq; ++h) {
        for (int64_t d = 0; d < Dv; ++d) {
          double want = out.data[size_t(h * Dv + d)];
          double got = outputs[0][size_t(((b * T + t) * p.hq + h) * Dv + d)];
          double err = std::abs(got - want);
          result.maxError = std::max(result.maxError, err);
          if (!(err <= tolerance(p.dtype, std::abs(want)))) {
            if (result.passed)
              report << "O[" << b << ", " << t << ", " << h << ", " << d
                     << "] = " << got << ", reference " << want << "\n";
            result.passed = false;
          }
        }
        if (hasLse) {
          double want = lse.data[size_t(h)];
          double got = outputs[1][size_t((b * p.hq + h) * T + t)];
          bool same = (std::isinf(want) && got == want) ||
                      std::abs(got - want) <= 1e-4 + 1e-5 * std::abs(want);
          if (!same) {
            if (result.passed)
              report << "LSE[" << b << ", " << h << ", " << t << "] = " << got
                     << ", reference " << want << "\n";
            result.passed = false;
          }
        }
      }
      ++result.rowsChecked;
    }
  }
  result.report = report.str();
  return result;
}
