//===- AttentionTest.cpp - skim.attention against the reference -----------===//
//
// Dense, causal, window, sink and softcap attention over GQA groups, head
// dims and lengths (T = S, decode, chunked prefill), pooled keys with
// key_stride / key_offset / kv_tokens, rows with no allowed key, and several
// schedules per case, in f32 and bf16. Large cases compare sampled rows.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

/// Random Q, K, V for `ir`: Q in [-2, 2) so that the softmax has peaks.
AttentionInputs makeInputs(const AttentionIR &ir, int64_t batch,
                           int64_t numRows, int64_t numKeys, unsigned seed,
                           int64_t tokens = -1) {
  AttentionInputs in;
  in.q = input({batch, numRows, ir.hq, ir.d}, seed, ir.type, -2.f, 2.f);
  in.k = input({batch, numKeys, ir.hkv, ir.d}, seed + 1, ir.type);
  in.v = input({batch, numKeys, ir.hkv, ir.dv}, seed + 2, ir.type);
  in.tokens = tokens;
  return in;
}

/// All rows when the reference is cheap, else a sample.
std::vector<int64_t> rowsToCheck(const AttentionIR &ir,
                                 const AttentionInputs &in) {
  double cost = double(in.q.dim(0)) * double(in.q.dim(1)) *
                double(in.k.dim(1)) * double(ir.hq) * double(ir.d + ir.dv);
  if (cost <= 1.5e8)
    return {};
  return sampleRows(in.q.dim(1), 40, unsigned(in.q.dim(1)));
}

struct Lengths {
  int64_t batch, rows, keys;
};

const char *const kSchedules[] = {
    "", // the target's default
    "block_m = 16, block_n = 32",
    "block_m = 128, block_n = 64",
    "pack_gqa = false",
};

/// The usual lengths: T = S in {1, 63, 1000}, decode and chunked prefill.
const Lengths kLengths[] = {
    {1, 1, 1}, {2, 63, 63}, {1, 1000, 1000}, {2, 1, 1000}, {1, 100, 777},
};

} // namespace

TEST_CASE("attention over GQA groups and head dims", "[pipeline][attention]") {
  struct Heads {
    int64_t hq, hkv;
  };
  const Heads groups[] = {
      {3, 3}, {4, 2}, {8, 2}, {8, 1}, {16, 1}}; // G = 1 .. 16
  struct Dims {
    int64_t d, dv;
  };
  const Dims dims[] = {{64, 64}, {128, 128}, {192, 128}};
  const char *const schedules[] = {"", "block_m = 16, block_n = 32",
                                   "pack_gqa = false"};
  unsigned seed = 100;
  for (Heads heads : groups)
    for (Dims dim : dims)
      for (const char *schedule : schedules) {
        AttentionIR ir;
        ir.hq = heads.hq, ir.hkv = heads.hkv, ir.d = dim.d, ir.dv = dim.dv;
        ir.causal = true;
        ir.schedule = schedule;
        for (Lengths len :
             {Lengths{1, 1, 1}, Lengths{2, 63, 63}, Lengths{1, 1000, 1000}}) {
          AttentionInputs in =
              makeInputs(ir, len.batch, len.rows, len.keys, seed += 3);
          INFO(ir.describe()
               << " B=" << len.batch << " T=" << len.rows << " S=" << len.keys);
          CHECK(checkAttention(ir, in, rowsToCheck(ir, in)) == "");
        }
      }
}

TEST_CASE("attention masks, softcap and schedules", "[pipeline][attention]") {
  struct Mask {
    bool causal;
    int64_t window, sink;
    std::optional<float> softcap, scale;
  };
  const Mask masks[] = {
      {true, 0, 0, {}, {}},          // causal
      {true, 100, 0, {}, {}},        // sliding window
      {true, 0, 4, {}, {}},          // sink alone (causal)
      {true, 100, 4, {}, {}},        // StreamingLLM
      {false, 0, 0, {}, {}},         // dense
      {false, 100, 0, {}, {}},       // window, non-causal: every later key too
      {true, 0, 0, 2.0f, {}},        // softcap (scores up to ~2.2 before it)
      {false, 37, 3, 1.5f, 0.3125f}, // softcap, explicit scale, window + sink
  };
  unsigned seed = 500;
  for (const Mask &mask : masks)
    for (const char *schedule : kSchedules) {
      AttentionIR ir;
      ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
      ir.causal = mask.causal, ir.window = mask.window, ir.sink = mask.sink;
      ir.softcap = mask.softcap, ir.scale = mask.scale;
      ir.schedule = schedule;
      for (Lengths len : kLengths) {
        AttentionInputs in =
            makeInputs(ir, len.batch, len.rows, len.keys, seed += 3);
        INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                           << " S=" << len.keys);
        CHECK(checkAttention(ir, in, rowsToCheck(ir, in)) == "");
      }
    }
}

TEST_CASE("attention with T = S = 4097 on one or two heads",
          "[pipeline][attention]") {
  struct Case {
    int64_t hq, hkv, d;
    bool causal;
    int64_t window, sink;
  };
  const Case cases[] = {
      {2, 1, 128, true, 0, 0},
      {1, 1, 64, true, 0, 0},
      {2, 1, 64, true, 1000, 4},
  };
  unsigned seed = 900;
  for (const Case &c : cases) {
    AttentionIR ir;
    ir.hq = c.hq, ir.hkv = c.hkv, ir.d = c.d, ir.dv = c.d;
    ir.causal = c.causal, ir.window = c.window, ir.sink = c.sink;
    AttentionInputs in = makeInputs(ir, 1, 4097, 4097, seed += 3);
    INFO(ir.describe() << " T=S=4097");
    CHECK(checkAttention(ir, in, sampleRows(4097, 48, seed)) == "");
  }
}

TEST_CASE("attention over pooled keys: key_stride, key_offset, kv_tokens",
          "[pipeline][attention]") {
  // NSA's compressed keys: key i stands for tokens [16 i, 16 i + 32) and sits
  // at the block's last token 16 i + 31; kv_tokens L counts raw tokens.
  auto pooled = [](int64_t tokens) { return ref::poolCount(tokens, 32, 16); };
  struct Shape {
    int64_t batch, rows, tokens;
  };
  const Shape shapes[] = {
      {1, 1000, 1000}, // prefill: rows before token 31 see no compressed key
      {2, 1, 1000},    // decode
      {1, 100, 777},   // chunked prefill
      {1, 40, 40},     // one compressed key (pos 31): rows 31 .. 39 see it
      {1, 1, 20},      // no complete block at all: S = 0
  };
  unsigned seed = 1300;
  for (KvTokens source : {KvTokens::DimOfRaw, KvTokens::Constant})
    for (const char *schedule : kSchedules) {
      for (const Shape &shape : shapes) {
        AttentionIR ir;
        ir.hq = 4, ir.hkv = 1, ir.d = 64, ir.dv = 64;
        ir.causal = true;
        ir.keyStride = 16, ir.keyOffset = 31;
        ir.kvTokens = source;
        ir.kvTokensConstant = shape.tokens;
        ir.schedule = schedule;
        // A constant kv_tokens is part of the text: one compile per L, so
        // only the default schedule tries it.
        if (source == KvTokens::Constant && *schedule)
          continue;
        AttentionInputs in =
            makeInputs(ir, shape.batch, shape.rows, pooled(shape.tokens),
                       seed += 3, shape.tokens);
        int64_t empty = 0;
        INFO(ir.describe() << " B=" << shape.batch << " T=" << shape.rows
                           << " L=" << shape.tokens << " S=" << in.k.dim(1));
        CHECK(checkAttention(ir, in, {}, &empty) == "");
        // Prefill rows at positions < 31 see no compressed key.
        if (shape.rows == shape.tokens)
          CHECK(empty ==
                shape.batch * ir.hq * std::min<int64_t>(31, shape.rows));
      }
    }
}

TEST_CASE("attention rows with no allowed key give O = 0 and LSE = -inf",
          "[pipeline][attention]") {
  unsigned seed = 1700;
  // kv_tokens below T: rows 0 .. T - L - 1 sit before the first token, so
  // causal attention allows them nothing.
  {
    AttentionIR ir;
    ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.causal = true;
    ir.kvTokens = KvTokens::DimOfRaw;
    for (const char *schedule : kSchedules) {
      ir.schedule = schedule;
      AttentionInputs in = makeInputs(ir, 2, 100, 50, seed += 3, 50);
      int64_t empty = 0;
      INFO(ir.describe() << " T=100 S=L=50");
      CHECK(checkAttention(ir, in, {}, &empty) == "");
      CHECK(empty == 2 * 4 * 50);
    }
  }
  // A window over strided keys that falls between two keys: with keys every
  // 16 tokens at 16 i + 31 and a window of 8, rows whose last 8 tokens hold
  // no key position see nothing.
  {
    AttentionIR ir;
    ir.hq = 2, ir.hkv = 1, ir.d = 64, ir.dv = 64;
    ir.causal = true;
    ir.window = 8;
    ir.keyStride = 16, ir.keyOffset = 31;
    ir.kvTokens = KvTokens::DimOfRaw;
    for (const char *schedule : kSchedules) {
      ir.schedule = schedule;
      AttentionInputs in =
          makeInputs(ir, 1, 300, ref::poolCount(300, 32, 16), seed += 3, 300);
      int64_t empty = 0;
      INFO(ir.describe() << " T=L=300");
      CHECK(checkAttention(ir, in, {}, &empty) == "");
      CHECK(empty > 0);
    }
  }
  // S = 0: nothing to attend at all.
  {
    AttentionIR ir;
    ir.hq = 2, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    AttentionInputs in = makeInputs(ir, 1, 5, 0, seed += 3);
    int64_t empty = 0;
    CHECK(checkAttention(ir, in, {}, &empty) == "");
    CHECK(empty == 2 * 5);
  }
}

TEST_CASE("attention in bf16", "[pipeline][attention][bf16]") {
  struct Case {
    int64_t hq, hkv, d, dv;
    bool causal;
    int64_t window, sink;
    std::optional<float> softcap;
    const char *schedule;
  };
  const Case cases[] = {
      {8, 2, 64, 64, true, 0, 0, {}, ""},
      {8, 1, 128, 128, true, 0, 0, {}, "pack_gqa = false"},
      {4, 1, 192, 128, true, 0, 0, {}, "block_m = 16, block_n = 32"},
      {8, 2, 64, 64, true, 100, 4, {}, "block_m = 128, block_n = 64"},
      {8, 2, 64, 64, false, 0, 0, {}, ""},
      {4, 2, 128, 128, true, 0, 0, 2.0f, ""},
  };
  unsigned seed = 2100;
  for (const Case &c : cases) {
    AttentionIR ir;
    ir.type = ElementType::BF16;
    ir.hq = c.hq, ir.hkv = c.hkv, ir.d = c.d, ir.dv = c.dv;
    ir.causal = c.causal, ir.window = c.window, ir.sink = c.sink,
    ir.softcap = c.softcap;
    ir.schedule = c.schedule;
    for (Lengths len : kLengths) {
      AttentionInputs in =
          makeInputs(ir, len.batch, len.rows, len.keys, seed += 3);
      INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                         << " S=" << len.keys);
      CHECK(checkAttention(ir, in, rowsToCheck(ir, in)) == "");
    }
  }
  // Pooled keys with kv_tokens in bf16.
  AttentionIR ir;
  ir.type = ElementType::BF16;
  ir.hq = 4, ir.hkv = 1, ir.d = 64, ir.dv = 64;
  ir.causal = true;
  ir.keyStride = 16, ir.keyOffset = 31;
  ir.kvTokens = KvTokens::DimOfRaw;
  for (int64_t tokens : {int64_t(1000), int64_t(777)}) {
    AttentionInputs in =
        makeInputs(ir, 1, tokens == 1000 ? 1000 : 100,
                   ref::poolCount(tokens, 32, 16), seed += 3, tokens);
    INFO(ir.describe() << " L=" << tokens);
    CHECK(checkAttention(ir, in) == "");
  }
}

TEST_CASE("attention with other head counts and dims, and empty sizes",
          "[pipeline][attention]") {
  struct Case {
    int64_t hq, hkv, d, dv;
    const char *schedule;
  };
  // G = 3 (no power of two), Dv < D, Dv > D, a head dim of 80.
  const Case cases[] = {
      {6, 2, 64, 64, ""},
      {6, 2, 64, 64, "block_m = 16, block_n = 32"},
      {4, 2, 32, 16, ""},
      {2, 1, 16, 48, "pack_gqa = false"},
      {4, 4, 80, 80, "block_m = 128, block_n = 64"},
  };
  unsigned seed = 2500;
  for (const Case &c : cases)
    for (bool causal : {true, false}) {
      AttentionIR ir;
      ir.hq = c.hq, ir.hkv = c.hkv, ir.d = c.d, ir.dv = c.dv;
      ir.causal = causal;
      ir.schedule = c.schedule;
      for (Lengths len :
           {Lengths{2, 63, 63}, Lengths{1, 300, 300}, Lengths{1, 1, 100},
            Lengths{1, 0, 10}, Lengths{0, 5, 5}, Lengths{1, 100, 777}}) {
        AttentionInputs in =
            makeInputs(ir, len.batch, len.rows, len.keys, seed += 3);
        INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                           << " S=" << len.keys);
        CHECK(checkAttention(ir, in) == "");
      }
    }
}

TEST_CASE("attention gives the same bits on 1 and 7 threads",
          "[pipeline][attention]") {
  AttentionIR ir;
  ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
  ir.causal = true, ir.window = 100, ir.sink = 4;
  const rt::CpuExecutable *exe = load(ir.mlir());
  REQUIRE(exe);
  AttentionInputs in = makeInputs(ir, 2, 500, 500, 2700);
  auto one = run(*exe, {in.q, in.k, in.v}, ir.type, 1);
  auto seven = run(*exe, {in.q, in.k, in.v}, ir.type, 7);
  REQUIRE(one);
  REQUIRE(seven);
  CHECK((*one)[0].data == (*seven)[0].data);
  CHECK((*one)[1].data == (*seven)[1].data);
}

TEST_CASE("attention on strided (BHSD) inputs and outputs",
          "[pipeline][attention]") {
  // The runtime takes strides: Q, K, V stored [B, H, S, D] are viewed as
  // [B, S, H, D] without a copy, and O is written into a [B, H, T, Dv]
  // buffer through a strided view. Inputs must come back untouched.
  for (const char *schedule : {"", "pack_gqa = false"}) {
    AttentionIR ir;
    ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 32;
    ir.causal = true;
    ir.schedule = schedule;
    const rt::CpuExecutable *exe = load(ir.mlir());
    REQUIRE(exe);
    const int64_t batch = 2, rows = 70, keys = 90;
    AttentionInputs in = makeInputs(ir, batch, rows, keys, 2800);
    // [B, S, H, D] -> storage [B, H, S, D] and a view with permuted strides.
    auto bhsd = [](const ref::Tensor &x, std::vector<float> &storage) {
      int64_t b = x.dim(0), s = x.dim(1), h = x.dim(2), d = x.dim(3);
      storage.assign(x.data.size(), std::numeric_limits<float>::quiet_NaN());
      for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < s; ++j)
          for (int64_t k = 0; k < h; ++k)
            for (int64_t e = 0; e < d; ++e)
              storage[size_t(((i * h + k) * s + j) * d + e)] =
                  x.at({i, j, k, e});
      rt::TensorView v;
      v.data = storage.data();
      v.dtype = rt::DType::F32;
      v.shape = x.shape;
      v.strides = {h * s * d, d, s * d, 1};
      return v;
    };
    std::vector<float> qs, ks, vs;
    std::vector<rt::TensorView> inputs = {bhsd(in.q, qs), bhsd(in.k, ks),
                                          bhsd(in.v, vs)};
    std::vector<float> qCopy = qs, kCopy = ks, vCopy = vs;
    std::vector<float> out(size_t(batch * rows * ir.hq * ir.dv),
                           std::numeric_limits<float>::quiet_NaN());
    std::vector<float> lse(size_t(batch * ir.hq * rows),
                           std::numeric_limits<float>::quiet_NaN());
    rt::TensorView o;
    o.data = out.data();
    o.dtype = rt::DType::F32;
    o.shape = {batch, rows, ir.hq, ir.dv};
    o.strides = {ir.hq * rows * ir.dv, ir.dv, rows * ir.dv, 1};
    rt::TensorView l = rt::TensorView::contiguous(lse.data(), rt::DType::F32,
                                                  {batch, ir.hq, rows});
    rt::ThreadPool pool(2);
    rt::Status status = exe->run(inputs, {o, l}, pool);
    INFO(ir.describe() << ": " << status.message());
    REQUIRE(status);
    CHECK(qs == qCopy);
    CHECK(ks == kCopy);
    CHECK(vs == vCopy);
    auto want = ref::attention(in.q, in.k, in.v, nullptr, nullptr, ir.params());
    REQUIRE(want);
    ref::Tensor got = ref::Tensor::zeros({batch, rows, ir.hq, ir.dv});
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < rows; ++t)
        for (int64_t h = 0; h < ir.hq; ++h)
          for (int64_t e = 0; e < ir.dv; ++e)
            got.at({b, t, h, e}) =
                out[size_t(((b * ir.hq + h) * rows + t) * ir.dv + e)];
    CHECK(compare("O", got, want->out, Tolerance::f32()) == "");
    ref::Tensor gotLse{{batch, ir.hq, rows}, lse};
    CHECK(compare("LSE", gotLse, want->lse, Tolerance::f32()) == "");
  }
}

TEST_CASE("attention masks at their edges, and more rows than keys",
          "[pipeline][attention]") {
  struct Mask {
    bool causal;
    int64_t window, sink;
  };
  // A window of one key (the diagonal) or two, windows and sinks longer
  // than the sequence, a sink of one key; T > S puts early rows before the
  // first key (negative positions).
  const Mask masks[] = {{true, 1, 0},     {true, 2, 1},    {false, 1, 0},
                        {true, 5000, 0},  {true, 0, 5000}, {false, 0, 1},
                        {false, 3, 5000}, {true, 64, 64}};
  const Lengths lengths[] = {
      {1, 200, 200}, {2, 1, 70}, {1, 100, 30}, {1, 65, 129}};
  unsigned seed = 2900;
  int combo = 0;
  for (const Mask &mask : masks) {
    AttentionIR ir;
    ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.causal = mask.causal, ir.window = mask.window, ir.sink = mask.sink;
    ir.schedule = kSchedules[combo++ % 4];
    for (Lengths len : lengths) {
      AttentionInputs in =
          makeInputs(ir, len.batch, len.rows, len.keys, seed += 3);
      INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                         << " S=" << len.keys);
      CHECK(checkAttention(ir, in) == "");
    }
  }
}

TEST_CASE("attention under unusual schedules", "[pipeline][attention]") {
  // Any positive block_m / block_n is a valid schedule: tiles of one row or
  // one key, sizes that are no power of two, tiles larger than the
  // sequence; GPU-only fields must not change the CPU result. split_kv cuts
  // every key loop into parts merged afterwards, more parts than chunks
  // (empty parts) included.
  const char *const schedules[] = {
      "split_kv = 3",
      "split_kv = 16, block_m = 16, block_n = 32",
      "split_kv = 5, pack_gqa = false, block_m = 7, block_n = 24",
      "block_m = 1, block_n = 1",
      "block_m = 3, block_n = 7",
      "block_m = 48, block_n = 24",
      "block_m = 256, block_n = 256",
      ("block_m = 64, block_n = 64, warps = 8, stages = 3, "
       "tokens_per_tile = 4, split_kv = 2, target = #skim.sm90<consumer_warpgroups = 2>"),
      "pack_gqa = false, block_m = 5, block_n = 96",
  };
  unsigned seed = 3100;
  for (const char *schedule : schedules) {
    AttentionIR dense;
    dense.hq = 6, dense.hkv = 2, dense.d = 64, dense.dv = 64;
    dense.causal = true, dense.window = 50, dense.sink = 3;
    dense.schedule = schedule;
    AttentionIR sel = dense;
    sel.window = 0, sel.sink = 0;
    sel.selHeads = 2, sel.entries = 3, sel.kvBlock = 64, sel.qBlock = 16,
    sel.counts = true;
    AttentionIR pooled = dense;
    pooled.window = 0, pooled.sink = 0;
    pooled.keyStride = 16, pooled.keyOffset = 31,
    pooled.kvTokens = KvTokens::DimOfRaw;
    for (Lengths len :
         {Lengths{1, 130, 130}, Lengths{2, 1, 300}, Lengths{1, 33, 97}}) {
      {
        AttentionInputs in =
            makeInputs(dense, len.batch, len.rows, len.keys, seed += 3);
        INFO(dense.describe()
             << " B=" << len.batch << " T=" << len.rows << " S=" << len.keys);
        CHECK(checkAttention(dense, in) == "");
      }
      {
        AttentionInputs in =
            makeInputs(sel, len.batch, len.rows, len.keys, seed += 3);
        std::mt19937 rng(seed);
        int64_t blocks = ref::ceilDiv(len.keys, 64),
                entryRows = ref::ceilDiv(len.rows, 16);
        ref::IndexTensor idx =
            ref::IndexTensor::filled({len.batch, entryRows, 2, 3}, -1);
        ref::IndexTensor cnt =
            ref::IndexTensor::filled({len.batch, entryRows, 2}, 0);
        for (int32_t &x : idx.data)
          x = int32_t(rng() % uint32_t(blocks + 1)) - 1; // -1 .. blocks - 1
        for (int32_t &c : cnt.data)
          c = int32_t(rng() % 4);
        in.indices = idx, in.counts = cnt;
        INFO(sel.describe()
             << " B=" << len.batch << " T=" << len.rows << " S=" << len.keys);
        CHECK(checkAttention(sel, in) == "");
      }
      {
        int64_t tokens = len.keys;
        AttentionInputs in =
            makeInputs(pooled, len.batch, len.rows,
                       ref::poolCount(tokens, 32, 16), seed += 3, tokens);
        INFO(pooled.describe()
             << " B=" << len.batch << " T=" << len.rows << " L=" << tokens);
        CHECK(checkAttention(pooled, in) == "");
      }
    }
  }
}

TEST_CASE(
    "attention with large scores: near one-hot softmax, saturated softcap",
    "[pipeline][attention]") {
  // Scores up to a few hundred: exp of large negative differences must give
  // 0 (not NaN or inf), and tanh must saturate to +-1 under a softcap.
  struct Case {
    std::optional<float> softcap, scale;
    ElementType type;
  };
  unsigned seed = 3300;
  for (Case c :
       {Case{{}, {}, ElementType::F32}, Case{{}, 4.0f, ElementType::F32},
        Case{5.0f, 4.0f, ElementType::F32}, Case{{}, {}, ElementType::BF16},
        Case{30.0f, 2.0f, ElementType::BF16}}) {
    AttentionIR ir;
    ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.type = c.type;
    ir.causal = true;
    ir.softcap = c.softcap, ir.scale = c.scale;
    for (Lengths len : {Lengths{1, 200, 200}, Lengths{2, 1, 500}}) {
      AttentionInputs in;
      in.q =
          input({len.batch, len.rows, ir.hq, ir.d}, seed++, ir.type, -8.f, 8.f);
      in.k = input({len.batch, len.keys, ir.hkv, ir.d}, seed++, ir.type, -4.f,
                   4.f);
      in.v = input({len.batch, len.keys, ir.hkv, ir.dv}, seed++, ir.type, -1.f,
                   1.f);
      // A naive f32 score carries an error of about u sum_d |q_d k_d| times
      // the scale (u = 2^-24); at scores of a few thousand that, not the
      // usual 1e-4 relative, bounds what O and LSE can achieve (§7: twice
      // the naive error).
      double scale = c.scale ? double(*c.scale) : 1.0 / 8.0, worst = 0.0;
      for (int64_t b = 0; b < len.batch; ++b)
        for (int64_t t = 0; t < len.rows; ++t)
          for (int64_t h = 0; h < ir.hq; ++h)
            for (int64_t s = 0; s < len.keys; ++s) {
              double sum = 0.0;
              for (int64_t e = 0; e < ir.d; ++e)
                sum += std::fabs(in.q.at({b, t, h, e}) *
                                 in.k.at({b, s, h / 2, e}));
              worst = std::max(worst, scale * sum);
            }
      double scoreError = 2.0 * std::ldexp(worst, -24);
      Tolerance out = Tolerance::of(ir.type), lse = Tolerance::lse(ir.type);
      out.abs += 2.0 * scoreError; // |v| <= 1, weights move by ~scoreError
      lse.abs += scoreError;
      INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows << " S="
                         << len.keys << " largest |score| bound " << worst);
      CHECK(checkAttention(ir, in, {}, nullptr, 2, out, lse) == "");
    }
  }
}

TEST_CASE("attention at 16k tokens", "[pipeline][attention][slow]") {
  struct Case {
    int64_t hq, hkv, d;
    int64_t window, sink;
    ElementType type;
  };
  unsigned seed = 40000;
  for (Case c : {Case{2, 1, 128, 0, 0, ElementType::F32},
                 Case{2, 1, 64, 4096, 4, ElementType::BF16}}) {
    AttentionIR ir;
    ir.hq = c.hq, ir.hkv = c.hkv, ir.d = c.d, ir.dv = c.d, ir.type = c.type;
    ir.causal = true, ir.window = c.window, ir.sink = c.sink;
    AttentionInputs in;
    const int64_t n = 16384;
    in.q = input({1, n, ir.hq, ir.d}, seed++, ir.type, -2.f, 2.f);
    in.k = input({1, n, ir.hkv, ir.d}, seed++, ir.type);
    in.v = input({1, n, ir.hkv, ir.dv}, seed++, ir.type);
    INFO(ir.describe() << " T=S=16384");
    CHECK(checkAttention(ir, in, sampleRows(n, 40, seed)) == "");
  }
}

namespace {

/// Rounds to f16 (nearest even) and back.
float roundF16(float x) { return float(static_cast<_Float16>(x)); }

/// The harness converts floats to f32 or bf16 only; f16 variants run here
/// on the runtime directly: float tensors go in as f16 (their values must
/// be f16 already), i32 as is; outputs come back as floats.
rt::Expected<std::vector<ref::Tensor>>
runF16(const rt::CpuExecutable &exe, const std::vector<Argument> &args) {
  std::vector<std::vector<uint16_t>> halves;
  std::vector<rt::TensorView> inputs;
  halves.reserve(args.size());
  for (const Argument &arg : args) {
    if (const auto *f = std::get_if<ref::Tensor>(&arg)) {
      halves.emplace_back(f->data.size());
      for (size_t i = 0; i < f->data.size(); ++i) {
        _Float16 h = static_cast<_Float16>(f->data[i]);
        std::memcpy(&halves.back()[i], &h, 2);
      }
      inputs.push_back(rt::TensorView::contiguous(halves.back().data(),
                                                  rt::DType::F16, f->shape));
    } else {
      const auto &i = std::get<ref::IndexTensor>(arg);
      inputs.push_back(rt::TensorView::contiguous(
          const_cast<int32_t *>(i.data.data()), rt::DType::I32, i.shape));
    }
  }
  auto shapes = exe.outputShapes(inputs);
  if (!shapes)
    return rt::Error{shapes.message()};
  std::vector<std::vector<uint16_t>> outHalves;
  std::vector<std::vector<float>> outFloats;
  std::vector<rt::TensorView> outputs;
  outHalves.reserve(shapes->size());
  outFloats.reserve(shapes->size());
  for (size_t o = 0; o < shapes->size(); ++o) {
    rt::DType dtype = rt::DType::F32;
    for (const rt::BufferDecl &b : exe.plan().buffers)
      if (b.kind == rt::BufferDecl::Kind::Output && b.index == int(o))
        dtype = b.dtype;
    size_t n = size_t(ref::numelOf((*shapes)[o]));
    outHalves.emplace_back(dtype == rt::DType::F16 ? n : 0,
                           uint16_t(0x7e00)); // NaN
    outFloats.emplace_back(dtype == rt::DType::F16 ? 0 : n,
                           std::numeric_limits<float>::quiet_NaN());
    void *data = dtype == rt::DType::F16
                     ? static_cast<void *>(outHalves.back().data())
                     : static_cast<void *>(outFloats.back().data());
    outputs.push_back(rt::TensorView::contiguous(data, dtype, (*shapes)[o]));
  }
  rt::ThreadPool pool(2);
  if (rt::Status s = exe.run(inputs, outputs, pool); !s)
    return rt::Error{s.message()};
  std::vector<ref::Tensor> result;
  for (size_t o = 0; o < outputs.size(); ++o) {
    ref::Tensor t;
    t.shape = outputs[o].shape;
    if (outputs[o].dtype == rt::DType::F16) {
      for (uint16_t bits : outHalves[o]) {
        _Float16 h;
        std::memcpy(&h, &bits, 2);
        t.data.push_back(float(h));
      }
    } else {
      t.data = outFloats[o];
    }
    result.push_back(std::move(t));
  }
  return result;
}

ref::Tensor inputF16(std::vector<int64_t> shape, unsigned seed, float lo = -1.f,
                     float hi = 1.f) {
  ref::Tensor t = random(std::move(shape), seed, lo, hi);
  for (float &x : t.data)
    x = roundF16(x);
  return t;
}

} // namespace

TEST_CASE("attention in f16", "[pipeline][attention][f16]") {
  // The contract's other input type: f16 in, f32 accumulation, O in f16.
  // Tolerance as §7 with an f16 naive model: O rounded to f16.
  unsigned seed = 3500;
  for (const char *schedule : {"", "pack_gqa = false"})
    for (bool selection : {false, true}) {
      AttentionIR ir;
      ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
      ir.causal = true, ir.window = selection ? 0 : 100,
      ir.sink = selection ? 0 : 4;
      ir.schedule = schedule;
      if (selection)
        ir.selHeads = 2, ir.entries = 4, ir.kvBlock = 64, ir.counts = true;
      std::string text = ir.mlir();
      for (size_t at = text.find("xf32>"); at != std::string::npos;
           at = text.find("xf32>", at))
        text.replace(at, 5, "xf16>");
      // LSE stays f32.
      std::string lse16 = "tensor<?x8x?xf16>";
      for (size_t at = text.find(lse16); at != std::string::npos;
           at = text.find(lse16, at))
        text.replace(at, lse16.size(), "tensor<?x8x?xf32>");
      std::string error;
      const rt::CpuExecutable *exe = load(text, &error);
      INFO(text);
      REQUIRE(error == "");
      for (Lengths len :
           {Lengths{2, 63, 63}, Lengths{1, 300, 300}, Lengths{1, 100, 777}}) {
        INFO("B=" << len.batch << " T=" << len.rows << " S=" << len.keys);
        ref::Tensor q =
            inputF16({len.batch, len.rows, 8, 64}, seed++, -2.f, 2.f);
        ref::Tensor k = inputF16({len.batch, len.keys, 2, 64}, seed++);
        ref::Tensor v = inputF16({len.batch, len.keys, 2, 64}, seed++);
        std::vector<Argument> args = {q, k, v};
        ref::IndexTensor idx, cnt;
        if (selection) {
          std::mt19937 rng(seed++);
          int64_t blocks = ref::ceilDiv(len.keys, 64);
          idx = ref::IndexTensor::filled({len.batch, len.rows, 2, 4}, 0);
          cnt = ref::IndexTensor::filled({len.batch, len.rows, 2}, 0);
          for (int32_t &x : idx.data)
            x = int32_t(rng() % uint32_t(blocks));
          for (int32_t &c : cnt.data)
            c = int32_t(rng() % 5);
          args.push_back(idx);
          args.push_back(cnt);
        }
        auto got = runF16(*exe, args);
        REQUIRE(got);
        auto want = ref::attention(q, k, v, selection ? &idx : nullptr,
                                   selection ? &cnt : nullptr, ir.params());
        REQUIRE(want);
        // §7 with an f16 naive model: 2 max(|round_f16(O) - O|, 2^-12 |O|)
        // + 1e-4.
        std::string msg;
        const ref::Tensor &o = (*got)[0];
        for (size_t i = 0; i < o.data.size() && msg.empty(); ++i) {
          double w = want->out.data[i];
          double naive = std::fabs(double(roundF16(float(w))) - w);
          double bound =
              2.0 * std::max(naive, std::ldexp(std::fabs(w), -12)) + 1e-4;
          if (!(std::isfinite(o.data[i]) && std::fabs(o.data[i] - w) <= bound))
            msg = "O at " + formatIndex(o.shape, int64_t(i)) + ": got " +
                  std::to_string(o.data[i]) + ", want " + std::to_string(w);
        }
        CHECK(msg == "");
        CHECK(compare("LSE", (*got)[1], want->lse,
                      Tolerance{1e-4, 1e-4, false}) == "");
      }
    }
}
