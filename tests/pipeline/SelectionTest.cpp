//===- SelectionTest.cpp - attention on given block selections ------------===//
//
// skim.attention with `indices` (and `counts`) given as i32 arguments, so no
// top-k runs and a near-tie cannot change what is compared: kv_block 64 and
// 128, q_block 1 (per token, NSA) and 64 (per query tile, FlexAttention),
// H' = Hkv (shared by the GQA group) and H' = Hq (per head). The lists hold
// every kind of padding the contract names: -1 before the end of counts,
// entries >= the number of KV blocks, other negative values, duplicates,
// and live-looking entries after counts (or after the first -1) that must be
// ignored. Selection alone, selection + window (union), and a sink on top.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

/// Random selection lists [B, Tq', H', N] over `numBlocks` KV blocks, with
/// counts [B, Tq', H'] when `withCounts`. Live entries (before counts, or
/// before the first -1) are mostly blocks, with duplicates, out-of-range
/// values and negative padding mixed in; entries past the live ones are
/// valid blocks, so a kernel that reads too far attends to keys it must not.
void makeSelection(int64_t batch, int64_t entryRows, int64_t heads,
                   int64_t entries, int64_t numBlocks, bool withCounts,
                   unsigned seed, ref::IndexTensor &indices,
                   ref::IndexTensor &counts) {
  std::mt19937 rng(seed);
  auto pick = [&](int64_t n) {
    return int32_t(rng() % uint64_t(std::max<int64_t>(n, 1)));
  };
  indices = ref::IndexTensor::filled({batch, entryRows, heads, entries}, 0);
  counts = ref::IndexTensor::filled({batch, entryRows, heads}, 0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < entryRows; ++r)
      for (int64_t h = 0; h < heads; ++h) {
        int32_t live = pick(entries + 1);
        // One row in eight selects nothing.
        if (rng() % 8 == 0)
          live = 0;
        for (int64_t e = 0; e < entries; ++e) {
          int32_t value;
          if (e >= live) {
            value = pick(numBlocks); // must be ignored
          } else {
            switch (rng() % 10) {
            case 0:
              value = e ? indices.at({b, r, h, pick(e)})
                        : pick(numBlocks); // duplicate
              break;
            case 1:
              value = int32_t(numBlocks) + pick(3); // just past the last block
              break;
            case 2:
              value = 1 << 30; // far out of range
              break;
            case 3:
              value = -5; // negative padding that does not end the list
              break;
            case 4:
              // -1: padding inside counts; without counts it ends the list.
              value = withCounts ? -1 : pick(numBlocks);
              break;
            default:
              value = pick(numBlocks);
            }
          }
          indices.at({b, r, h, e}) = value;
        }
        if (withCounts) {
          counts.at({b, r, h}) = live;
        } else if (live < entries) {
          indices.at({b, r, h, live}) = -1; // the end of the list
        }
      }
}

struct Lengths {
  int64_t batch, rows, keys;
};
const Lengths kLengths[] = {
    {2, 63, 63}, {1, 1000, 1000}, {2, 1, 1000}, {1, 100, 777}};

const char *const kSchedules[] = {"", "block_m = 16, block_n = 32",
                                  "block_m = 128, block_n = 64",
                                  "pack_gqa = false"};

std::vector<int64_t> rowsToCheck(const AttentionInputs &in) {
  double cost = double(in.q.dim(0)) * double(in.q.dim(1)) *
                double(in.k.dim(1)) * double(in.q.dim(2)) *
                double(in.q.dim(3) + in.v.dim(3));
  if (cost <= 1.5e8)
    return {};
  return sampleRows(in.q.dim(1), 48, unsigned(in.q.dim(1)));
}

/// Runs `ir` on every length with fresh random inputs and selections.
void checkSelection(const AttentionIR &ir, unsigned &seed) {
  for (Lengths len : kLengths) {
    AttentionInputs in;
    in.q =
        input({len.batch, len.rows, ir.hq, ir.d}, seed++, ir.type, -2.f, 2.f);
    in.k = input({len.batch, len.keys, ir.hkv, ir.d}, seed++, ir.type);
    in.v = input({len.batch, len.keys, ir.hkv, ir.dv}, seed++, ir.type);
    ref::IndexTensor indices, counts;
    makeSelection(len.batch, ref::ceilDiv(len.rows, ir.qBlock), ir.selHeads,
                  ir.entries, ref::ceilDiv(len.keys, ir.kvBlock), ir.counts,
                  seed++, indices, counts);
    in.indices = indices;
    if (ir.counts)
      in.counts = counts;
    INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                       << " S=" << len.keys);
    CHECK(checkAttention(ir, in, rowsToCheck(in)) == "");
  }
}

} // namespace

TEST_CASE("attention on given selections", "[pipeline][selection]") {
  unsigned seed = 3000;
  int combo = 0;
  for (int64_t kvBlock : {64, 128})
    for (int64_t qBlock : {1, 64})
      for (bool perHead : {false, true})
        for (bool withCounts : {true, false}) {
          AttentionIR ir;
          ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
          ir.causal = true;
          ir.selHeads = perHead ? ir.hq : ir.hkv;
          ir.entries = 6;
          ir.kvBlock = kvBlock, ir.qBlock = qBlock;
          ir.counts = withCounts;
          ir.schedule = kSchedules[combo++ % 4];
          checkSelection(ir, seed);
        }
}

TEST_CASE("attention on selection + window and sink", "[pipeline][selection]") {
  unsigned seed = 4000;
  int combo = 0;
  struct Mask {
    bool causal;
    int64_t window, sink;
  };
  for (Mask mask : {Mask{true, 100, 0}, Mask{true, 100, 4}, Mask{false, 0, 0},
                    Mask{false, 100, 4}})
    for (int64_t kvBlock : {64, 128})
      for (int64_t qBlock : {1, 64})
        for (bool perHead : {false, true}) {
          AttentionIR ir;
          ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
          ir.causal = mask.causal, ir.window = mask.window, ir.sink = mask.sink;
          ir.selHeads = perHead ? ir.hq : ir.hkv;
          ir.entries = 4;
          ir.kvBlock = kvBlock, ir.qBlock = qBlock;
          ir.counts = combo % 2 == 0;
          ir.schedule = kSchedules[combo++ % 4];
          checkSelection(ir, seed);
        }
}

TEST_CASE("attention on selections: other shapes", "[pipeline][selection]") {
  unsigned seed = 5000;
  // q_block that is no power of two; N = 1; G = 16 with per-head lists; a
  // head dim of 128 and Dk 192 / Dv 128.
  struct Case {
    int64_t hq, hkv, d, dv, selHeads, entries, kvBlock, qBlock;
    bool counts;
    const char *schedule;
  };
  const Case cases[] = {
      {4, 2, 64, 64, 2, 5, 64, 48, true, ""},
      {4, 2, 64, 64, 4, 1, 128, 1, false, "block_m = 16, block_n = 32"},
      {16, 1, 64, 64, 16, 3, 64, 1, true, ""},
      {16, 1, 64, 64, 1, 8, 64, 64, false, "block_m = 128, block_n = 64"},
      {4, 1, 128, 128, 1, 6, 128, 1, true, "pack_gqa = false"},
      {2, 1, 192, 128, 2, 4, 64, 64, true, ""},
  };
  for (const Case &c : cases) {
    AttentionIR ir;
    ir.hq = c.hq, ir.hkv = c.hkv, ir.d = c.d, ir.dv = c.dv;
    ir.causal = true;
    ir.selHeads = c.selHeads, ir.entries = c.entries;
    ir.kvBlock = c.kvBlock, ir.qBlock = c.qBlock;
    ir.counts = c.counts;
    ir.schedule = c.schedule;
    checkSelection(ir, seed);
  }
  // A KV block that is no power of two (96 with block_n 64: 32-key chunks),
  // q_block 128, a sink with no window, softcap and scale.
  AttentionIR ir;
  ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64;
  ir.causal = true, ir.sink = 5;
  ir.softcap = 2.5f, ir.scale = 0.25f;
  ir.selHeads = 2, ir.entries = 4, ir.kvBlock = 96, ir.qBlock = 128;
  ir.counts = true;
  checkSelection(ir, seed);
  ir.schedule = "block_m = 16, block_n = 32";
  ir.causal = false;
  checkSelection(ir, seed);
}

TEST_CASE("attention on selections with kv_tokens", "[pipeline][selection]") {
  // Queries may sit past the keys (L > S, e.g. keys still being written);
  // causal then allows every key, and the selection still limits them.
  unsigned seed = 5500;
  AttentionIR ir;
  ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64;
  ir.causal = true, ir.window = 100;
  ir.selHeads = 2, ir.entries = 3, ir.kvBlock = 64, ir.qBlock = 1;
  ir.kvTokens = KvTokens::DimOfRaw;
  for (Lengths len :
       {Lengths{1, 100, 300}, Lengths{2, 1, 500}, Lengths{1, 300, 300}}) {
    for (int64_t extra : {0, 37}) {
      AttentionInputs in;
      in.q =
          input({len.batch, len.rows, ir.hq, ir.d}, seed++, ir.type, -2.f, 2.f);
      in.k = input({len.batch, len.keys, ir.hkv, ir.d}, seed++, ir.type);
      in.v = input({len.batch, len.keys, ir.hkv, ir.dv}, seed++, ir.type);
      in.tokens = len.keys + extra;
      ref::IndexTensor indices, counts;
      makeSelection(len.batch, len.rows, ir.selHeads, ir.entries,
                    ref::ceilDiv(len.keys, ir.kvBlock), false, seed++, indices,
                    counts);
      in.indices = indices;
      INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                         << " S=" << len.keys << " L=" << in.tokens);
      CHECK(checkAttention(ir, in) == "");
    }
  }
}

TEST_CASE("attention on given selections in bf16",
          "[pipeline][selection][bf16]") {
  unsigned seed = 6000;
  struct Case {
    int64_t selHeads, kvBlock, qBlock, window;
    bool counts;
  };
  for (Case c : {Case{2, 64, 1, 0, true}, Case{8, 128, 64, 0, false},
                 Case{2, 64, 64, 100, false}}) {
    AttentionIR ir;
    ir.type = ElementType::BF16;
    ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.causal = true, ir.window = c.window;
    ir.selHeads = c.selHeads, ir.entries = 6;
    ir.kvBlock = c.kvBlock, ir.qBlock = c.qBlock;
    ir.counts = c.counts;
    checkSelection(ir, seed);
  }
}

TEST_CASE("attention on given selections in the KV-major order",
          "[pipeline][selection][kv-major]") {
  // The same lists (every kind of padding, duplicates, rows that select
  // nothing) walked block by block: counts, lists, two passes, atomics.
  unsigned seed = 7000;
  const char *const schedules[] = {"order = kv_major",
                                   "order = kv_major, block_m = 16, block_n = 32"};
  int combo = 0;
  for (int64_t kvBlock : {64, 128})
    for (bool perHead : {false, true})
      for (bool withCounts : {true, false}) {
        AttentionIR ir;
        ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
        ir.causal = combo != 3;
        ir.selHeads = perHead ? ir.hq : ir.hkv;
        ir.entries = 6;
        ir.kvBlock = kvBlock, ir.qBlock = 1;
        ir.counts = withCounts;
        ir.schedule = schedules[combo++ % 2];
        checkSelection(ir, seed);
      }
  // Empty sizes: no tokens, no keys, no batch (grids of zero programs,
  // zero-length workspace).
  {
    AttentionIR ir;
    ir.hq = 8, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.causal = true;
    ir.selHeads = 2, ir.entries = 4, ir.kvBlock = 64, ir.qBlock = 1;
    ir.counts = true;
    ir.schedule = "order = kv_major";
    for (Lengths len : {Lengths{1, 0, 100}, Lengths{1, 20, 0}, Lengths{0, 5, 5}}) {
      AttentionInputs in;
      in.q = input({len.batch, len.rows, ir.hq, ir.d}, seed++, ir.type, -2.f, 2.f);
      in.k = input({len.batch, len.keys, ir.hkv, ir.d}, seed++, ir.type);
      in.v = input({len.batch, len.keys, ir.hkv, ir.dv}, seed++, ir.type);
      ref::IndexTensor indices, counts;
      makeSelection(len.batch, len.rows, ir.selHeads, ir.entries,
                    ref::ceilDiv(len.keys, ir.kvBlock), true, seed++, indices,
                    counts);
      in.indices = indices;
      in.counts = counts;
      INFO(ir.describe() << " B=" << len.batch << " T=" << len.rows
                         << " S=" << len.keys);
      CHECK(checkAttention(ir, in) == "");
    }
  }
  // Queries past the keys (kv_tokens L > S): positions shift by L − T.
  {
    AttentionIR ir;
    ir.hq = 4, ir.hkv = 2, ir.d = 64, ir.dv = 64;
    ir.causal = true;
    ir.selHeads = 2, ir.entries = 3, ir.kvBlock = 64, ir.qBlock = 1;
    ir.kvTokens = KvTokens::DimOfRaw;
    ir.schedule = "order = kv_major";
    for (int64_t extra : {0, 37}) {
      AttentionInputs in;
      in.q = input({1, 100, ir.hq, ir.d}, seed++, ir.type, -2.f, 2.f);
      in.k = input({1, 300, ir.hkv, ir.d}, seed++, ir.type);
      in.v = input({1, 300, ir.hkv, ir.dv}, seed++, ir.type);
      in.tokens = 300 + extra;
      ref::IndexTensor indices, counts;
      makeSelection(1, 100, ir.selHeads, ir.entries, ref::ceilDiv(300, ir.kvBlock),
                    false, seed++, indices, counts);
      in.indices = indices;
      INFO(ir.describe() << " L=" << in.tokens);
      CHECK(checkAttention(ir, in) == "");
    }
  }
  // NSA's shape (a group of 16, 16 entries), softcap and scale, bf16.
  AttentionIR ir;
  ir.hq = 16, ir.hkv = 1, ir.d = 64, ir.dv = 32;
  ir.causal = true;
  ir.softcap = 2.5f, ir.scale = 0.25f;
  ir.selHeads = 1, ir.entries = 16, ir.kvBlock = 64, ir.qBlock = 1;
  ir.counts = false;
  ir.schedule = "order = kv_major";
  checkSelection(ir, seed);
  ir.type = ElementType::BF16;
  ir.softcap.reset();
  checkSelection(ir, seed);
}
