//===- SearchSpaceTest.cpp - stages, pruning, the model, cache attach -----===//
//
// The anchor shapes of issue 7 (H200, bf16, Hq 64, Hkv 4, D 128) on sm_90a,
// where the search must stay real (at least 50 candidates after pruning)
// and every survivor must satisfy the resource model; the pieces the
// compile path uses (stages, signatures, buckets, inputs, cache attach).
//
//===----------------------------------------------------------------------===//

#include "../TestContext.h"
#include "Variants.h"

#include "autotune/Autotune.h"
#include "autotune/CostModel.h"

#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <set>

using namespace skim::tune;
using mlir::skim::testing::TestContext;
using namespace skim::tune::testing;

namespace {

mlir::OwningOpRef<mlir::ModuleOp> parse(TestContext &t, const char *text) {
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &t.context);
  INFO(t.lastError);
  REQUIRE(module);
  return module;
}

mlir::skim::PipelineOptions sm90a() {
  mlir::skim::PipelineOptions o;
  o.target = "sm_90a";
  return o;
}

SearchSpace onlySpace(TestContext &t, const char *text, ProblemSizes sizes,
                      const std::string &target = "sm_90a",
                      int amdWaveSize = 0) {
  auto module = parse(t, text);
  mlir::skim::PipelineOptions options;
  options.target = target;
  options.amdWaveSize = amdWaveSize;
  auto spaces =
      buildSearchSpaces(*module, sizes, options, *targetModelFor(options));
  REQUIRE(mlir::succeeded(spaces));
  REQUIRE(spaces->size() == 1);
  return (*spaces)[0];
}

std::string print(mlir::Attribute a) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << a;
  return s;
}

/// Checks what every space must hold: the default first, then survivors
/// in model order, each within the target's resources, none twice.
void checkSpace(const SearchSpace &s, const TargetModel &target) {
  REQUIRE(!s.candidates.empty());
  CHECK_FALSE(s.candidates[0].schedule);
  int64_t pruned = 0;
  for (const auto &p : s.pruned)
    pruned += p.second;
  CHECK(pruned + int64_t(s.candidates.size()) - 1 == s.enumerated);
  std::set<std::string> kernels;
  for (size_t i = 1; i < s.candidates.size(); ++i) {
    const Candidate &c = s.candidates[i];
    REQUIRE(c.schedule);
    CHECK(kernels.insert(c.geometry.key()).second);
    CHECK(c.geometry.sharedBytes <= target.sharedBytesPerBlock);
    if (c.geometry.matmulUnits) {
      CHECK(c.geometry.rows % 16 == 0);
      CHECK(c.geometry.fragmentRegisters <= target.fragmentRegisterBudget);
    }
    CHECK(c.geometry.blocksPerProcessor >= 1);
    CHECK(std::isfinite(c.predictedMs));
    if (i > 1)
      CHECK(s.candidates[i - 1].predictedMs <= c.predictedMs);
  }
}

} // namespace

TEST_CASE("the anchor shapes keep a real search space on sm_90a",
          "[autotune]") {
  TestContext t;
  TargetModel h200 = *TargetModel::forTarget("sm_90a");
  SECTION("dense causal, 64k tokens") {
    SearchSpace s = onlySpace(t, kCausal, {1, 65536, 0});
    checkSpace(s, h200);
    CHECK(s.candidates.size() >= 50);
    CHECK(s.pruned.count("registers: the O and S fragments pass the budget a "
                         "thread has"));
    // The default: 64 rows, 64 keys, one warpgroup.
    CHECK(s.candidates[0].geometry.rows == 64);
    CHECK(s.candidates[0].geometry.keysPerChunk == 64);
    // Warp-specialised candidates are in the space; KV-major ones are not.
    bool specialised = false;
    for (const Candidate &c : s.candidates)
      specialised |= c.geometry.warpSpecialized;
    CHECK(specialised);
    CHECK(s.pruned.count("order = kv_major needs per-token selections of at "
                         "most 64 entries, without window, sink or split_kv"));
  }
  SECTION("NSA's selected branch, per-token selections, 64k tokens") {
    SearchSpace s = onlySpace(t, kSelected, {1, 65536, 0});
    checkSpace(s, h200);
    CHECK(s.candidates.size() >= 50);
    // The default packs 64 / 16 = 4 tokens a tile.
    CHECK(s.candidates[0].geometry.tokens == 4);
    CHECK(s.candidates[0].geometry.rows == 64);
    bool kvMajor = false;
    for (const Candidate &c : s.candidates) {
      kvMajor |= c.geometry.kvMajor;
      CHECK_FALSE(c.geometry.warpSpecialized);
      CHECK(c.geometry.keysPerChunk <= 64); // gcd with kv_block
    }
    CHECK(kvMajor);
    // One token's 16 rows in a CTA of one warp: in the space, and never
    // priced below the same tile in four warps (three idle, and the one
    // with rows on the same sub-partition in every CTA: measured 2x slower
    // on the H200; the model calls both bound by the gather's copies).
    double oneWarp = 0, fourWarps = 0;
    for (const Candidate &c : s.candidates) {
      if (!c.schedule || c.geometry.rows != 16 || c.geometry.kvMajor ||
          c.geometry.keysPerChunk != 64 || c.geometry.splitKv != 1)
        continue;
      CHECK(c.schedule.getWarps() != 2); // one m-tile: not shared by two
      if (c.schedule.getWarps() == 1)
        oneWarp = c.predictedMs;
      if (c.schedule.getWarps() == 4)
        fourWarps = c.predictedMs;
      CHECK(c.schedule.getWarps() <= 4);
    }
    REQUIRE(oneWarp > 0);
    REQUIRE(fourWarps > 0);
    CHECK(oneWarp <= fourWarps);
    CHECK(s.pruned.count("a wgmma tile needs a warpgroup (4 warps)"));
  }
  SECTION("decode: one token, 16 sequences, 64k keys") {
    SearchSpace s = onlySpace(t, kSelected, {16, 1, 65536});
    checkSpace(s, h200);
    CHECK(s.candidates.size() >= 50);
    bool split = false;
    for (const Candidate &c : s.candidates)
      split |= c.geometry.splitKv > 1;
    CHECK(split);
  }
  SECTION("the CPU has no warps to turn") {
    SearchSpace s = onlySpace(t, kCausal, {1, 4096, 0}, "host");
    checkSpace(s, *TargetModel::forTarget("host"));
    for (const Candidate &c : s.candidates) {
      CHECK_FALSE(c.geometry.warpSpecialized);
      if (c.schedule)
        CHECK(c.schedule.getWarps() == 4);
    }
  }
}

TEST_CASE("AMD spaces search the matrix instruction and the occupancy",
          "[autotune][amd]") {
  TestContext t;
  SECTION("gfx942: MFMA 32x32x8 by default, 16x16x16 and one wave an EU") {
    TargetModel mi300 = *TargetModel::forTarget("gfx942");
    SearchSpace s = onlySpace(t, kCausal, {1, 65536, 0}, "gfx942");
    checkSpace(s, mi300);
    CHECK(s.candidates.size() >= 20);
    // The default: 128 rows, 32-key chunks, four wave64 waves (8 warps).
    CHECK(s.candidates[0].geometry.rows == 128);
    CHECK(s.candidates[0].geometry.keysPerChunk == 32);
    CHECK(s.candidates[0].geometry.threads == 256);
    std::set<std::pair<int64_t, int64_t>> parts; // (mma_m, waves_per_eu)
    for (const Candidate &c : s.candidates) {
      if (!c.schedule)
        continue;
      CHECK_FALSE(llvm::isa_and_nonnull<mlir::skim::Sm90ScheduleAttr>(c.schedule.getTarget()));
      if (auto amd = llvm::dyn_cast_or_null<mlir::skim::AmdScheduleAttr>(c.schedule.getTarget())) {
        CHECK(amd.getWaveSize() == 64);
        parts.insert({amd.getMmaM(), amd.getWavesPerEu()});
      } else {
        // The default instruction takes whole 32 x 32 blocks.
        CHECK(c.geometry.keysPerChunk % 32 == 0);
        CHECK(c.geometry.rows % 32 == 0);
      }
    }
    CHECK(parts.count({16, 2}));
    CHECK(parts.count({32, 1}));
    // Workgroups of fewer than four waves are what the pipeline never
    // builds (it raises them to 256 threads).
    for (const Candidate &c : s.candidates)
      CHECK(c.geometry.threads >= 256);
    CHECK(s.pruned.count("AMD workgroups have at least 8 warps (four wave64 "
                         "waves: the pipeline's floor)"));
    CHECK(s.pruned.count(
        "the tile's rows or block_n are not whole MFMA/WMMA blocks"));
  }
  SECTION("gfx1100: WMMA on wave32 only") {
    SearchSpace s = onlySpace(t, kCausal, {1, 65536, 0}, "gfx1100");
    checkSpace(s, *TargetModel::forTarget("gfx1100"));
    for (const Candidate &c : s.candidates)
      if (c.schedule)
        if (auto amd =
                llvm::dyn_cast_or_null<mlir::skim::AmdScheduleAttr>(c.schedule.getTarget())) {
          CHECK(amd.getWaveSize() == 32);
          CHECK(amd.getMmaM() == 16);
        }
  }
  SECTION("gfx1100 in wave64 mode: WMMA on waves of 64 lanes") {
    mlir::skim::PipelineOptions options;
    options.target = "gfx1100";
    options.amdWaveSize = 64;
    TargetModel rdna = *targetModelFor(options);
    CHECK(rdna.warpSize == 64);
    // Its tuning cache entries and manifests are apart from wave32's.
    CHECK(mlir::skim::tuningTarget(options) == "gfx1100:wave64");
    options.amdWaveSize = 32;
    CHECK(mlir::skim::tuningTarget(options) == "gfx1100");
    options.amdWaveSize = 64;
    SearchSpace s = onlySpace(t, kCausal, {1, 65536, 0}, "gfx1100", 64);
    checkSpace(s, rdna);
    // The default: 64 rows over four wave64 waves, 16-key chunks.
    CHECK(s.candidates[0].geometry.rows == 64);
    CHECK(s.candidates[0].geometry.keysPerChunk == 16);
    CHECK(s.candidates[0].geometry.threads == 256);
    int amdParts = 0;
    for (const Candidate &c : s.candidates) {
      auto amd = c.schedule
                     ? llvm::dyn_cast_or_null<mlir::skim::AmdScheduleAttr>(
                           c.schedule.getTarget())
                     : nullptr;
      if (!amd)
        continue;
      ++amdParts;
      CHECK(amd.getWaveSize() == 64);
      CHECK(amd.getMmaM() == 16); // no MFMA on RDNA, whatever the wave
    }
    CHECK(amdParts > 0);
  }
}

TEST_CASE("split_kv is pruned where the grid already fills the device",
          "[autotune]") {
  TestContext t;
  SearchSpace s = onlySpace(t, kCausal, {1, 65536, 0});
  for (const Candidate &c : s.candidates)
    CHECK(c.geometry.splitKv == 1);
  CHECK(s.pruned.count("split_kv: the grid fills the device without it"));
}

TEST_CASE("the cost model prices the shapes it is meant to tell apart",
          "[autotune]") {
  TestContext t;
  TargetModel h200 = *TargetModel::forTarget("sm_90a");
  // Decode is memory- and latency-bound: splitting a 16-block selection
  // over parts must be predicted faster than one part.
  SearchSpace decode = onlySpace(t, kSelected, {16, 1, 65536});
  double oneTokenWhole = INFINITY, oneTokenSplit = INFINITY;
  for (const Candidate &c : decode.candidates) {
    if (c.geometry.tokens != 1 || c.geometry.kvMajor)
      continue;
    if (c.geometry.splitKv == 1)
      oneTokenWhole = std::min(oneTokenWhole, c.predictedMs);
    else
      oneTokenSplit = std::min(oneTokenSplit, c.predictedMs);
  }
  CHECK(oneTokenSplit < oneTokenWhole);
  // Causal 64k: about 2 · 64 · 64k² · 256 / 2 FLOPs; the model's time must
  // sit between the card's peak and a tenth of it.
  SearchSpace causal = onlySpace(t, kCausal, {1, 65536, 0});
  double flops = 2.0 * 64 * 65536.0 * 65536.0 * 256 / 2;
  double peakMs = flops / (h200.matmulTflops * 1e12) * 1e3;
  CHECK(causal.candidates[0].predictedMs > peakMs);
  CHECK(causal.candidates[0].predictedMs < 10 * peakMs);
}

TEST_CASE("the model's own pick needs a margin over the default",
          "[autotune]") {
  SearchSpace s;
  s.candidates.resize(3);
  s.candidates[0].predictedMs = 10;
  s.candidates[1].predictedMs = 9;
  s.candidates[2].predictedMs = 9.5;
  CHECK(modelPick(s) == 0); // 10% faster: within the model's error
  s.candidates[2].predictedMs = 8;
  CHECK(modelPick(s) == 2); // 20% faster
  s.candidates[0].predictedMs = 7;
  CHECK(modelPick(s) == 0); // the default is the fastest itself
  CHECK(modelPick(SearchSpace()) == 0);
  // The H200 calibration: dense causal keeps its default, decode splits.
  TestContext t;
  SearchSpace causal = onlySpace(t, kCausal, {1, 65536, 0});
  CHECK(modelPick(causal) == 0);
  SearchSpace decode = onlySpace(t, kSelected, {16, 1, 65536});
  CHECK(decode.candidates[modelPick(decode)].geometry.splitKv > 1);
}

TEST_CASE("spearman ranks with ties", "[autotune]") {
  CHECK(spearman({1, 2, 3, 4}, {10, 20, 30, 40}) == Approx(1));
  CHECK(spearman({1, 2, 3, 4}, {4, 3, 2, 1}) == Approx(-1));
  CHECK(spearman({1, 2, 3}, {5, 5, 6}) == Approx(0.866025).epsilon(1e-5));
  CHECK(spearman({1}, {1}) == 0);
}

TEST_CASE("stages come from the expanded variant and schedules go back by name",
          "[autotune]") {
  TestContext t;
  auto module = parse(t, kNsa);
  auto stages = collectStages(*module, {1, 2048, 0},
                              mlir::skim::scheduleDefaultsFor(sm90a()));
  REQUIRE(mlir::succeeded(stages));
  std::vector<std::string> names;
  for (const StageProblem &s : *stages)
    names.push_back(s.stage);
  CHECK(names == std::vector<std::string>{"compressed", "selected", "window"});
  // The compressed stage sees the pooled keys: (2048 − 32) / 16 + 1.
  CHECK((*stages)[0].nsaCompressed);
  CHECK((*stages)[0].keys == 127);
  CHECK((*stages)[1].selection);
  CHECK((*stages)[1].entries == 16);
  CHECK((*stages)[2].window == 512);
  // The window stage's own schedule is its baseline.
  CHECK((*stages)[2].defaultSchedule.getBlockM() == 128);

  auto sel = mlir::skim::ScheduleAttr::get(
      &t.context, 64, 64, 4, 2, mlir::skim::LoopOrder::query_major, true, 2, 1,
      true, false, mlir::Attribute());
  REQUIRE(mlir::succeeded(applySchedules(*module, {{"selected", sel}})));
  auto current = currentSchedules(*module);
  CHECK(current.size() == 2);
  CHECK(current["selected"] == sel);
  CHECK(current["window"].getBlockM() == 128);
  CHECK(mlir::failed(applySchedules(*module, {{"nonsense", sel}})));
  CHECK(t.lastError.find("no stage 'nonsense'") != std::string::npos);
}

TEST_CASE("signatures ignore schedules and sizes bucket by powers of two",
          "[autotune]") {
  TestContext t;
  auto a = parse(t, kCausal);
  auto b = parse(t, kCausal);
  auto sched = mlir::skim::ScheduleAttr::get(
      &t.context, 128, 64, 8, 2, mlir::skim::LoopOrder::query_major, true, 1, 1,
      true, false, mlir::Attribute());
  REQUIRE(mlir::succeeded(applySchedules(*b, {{"attention", sched}})));
  CHECK(variantSignature(*a) == variantSignature(*b));
  auto c = parse(t, kSelected);
  CHECK(variantSignature(*a) != variantSignature(*c));
  CHECK(shapeBucket({1, 65536, 0}) == "B1-T65536-S65536");
  CHECK(shapeBucket({16, 1, 60000}) == "B16-T1-S65536");
  CHECK(shapeBucket({2, 3000, 5000}) == "B2-T4096-S8192");
}

TEST_CASE("measurement inputs follow their uses", "[autotune]") {
  TestContext t;
  auto module = parse(t, kSelected);
  auto inputs = inputsFor(*module, {2, 300, 0});
  REQUIRE(mlir::succeeded(inputs));
  REQUIRE(inputs->size() == 4);
  CHECK((*inputs)[0].shape == std::vector<int64_t>{2, 300, 64, 128});
  CHECK((*inputs)[1].shape == std::vector<int64_t>{2, 300, 4, 128});
  const InputSpec &idx = (*inputs)[3];
  CHECK(idx.fill == InputSpec::Fill::Selection);
  CHECK(idx.shape == std::vector<int64_t>{2, 300, 4, 16});
  std::vector<char> bytes = makeInput(idx, 7);
  std::vector<int32_t> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  // Every row: distinct blocks the token may see (causal), -1 after them.
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t tok = 0; tok < 300; ++tok)
      for (int64_t h = 0; h < 4; ++h) {
        int64_t visible = tok / 64 + 1;
        std::set<int32_t> seen;
        for (int64_t e = 0; e < 16; ++e) {
          int32_t x = v[((b * 300 + tok) * 4 + h) * 16 + e];
          if (e < visible) {
            CHECK(x >= 0);
            CHECK(x < visible);
            CHECK(seen.insert(x).second);
          } else {
            CHECK(x == -1);
          }
        }
      }
}

TEST_CASE("a cached entry puts its schedules on the stages that have none",
          "[autotune]") {
  TestContext t;
  llvm::SmallString<128> dir;
  REQUIRE(!llvm::sys::fs::createUniqueDirectory("skim-attach", dir));
  TuningCache cache(dir.str().str());
  auto module = parse(t, kNsa);
  DeviceIdentity id{"NVIDIA H200", "sm_90a", "CUDA 13.0"};
  TuningKey key = tuningKey(*module, id, {1, 4096, 0});
  TuningEntry entry;
  entry.key = key;
  entry.stages = {{"compressed", ""},
                  {"selected", "#skim.schedule<tokens_per_tile = 2>"},
                  {"window", "#skim.schedule<block_m = 64, block_n = 128>"}};
  entry.date = "2026-12-01T00:00:00Z";
  REQUIRE(!cache.store(entry));
  std::vector<std::string> warnings;
  auto attached = attachCachedSchedules(*module, key, cache, warnings);
  REQUIRE(mlir::succeeded(attached));
  CHECK(warnings.empty());
  // The variant's own window schedule wins; compressed stays default.
  CHECK(*attached == std::vector<std::string>{"selected"});
  auto current = currentSchedules(*module);
  CHECK(print(current["selected"]) == "#skim.schedule<tokens_per_tile = 2>");
  CHECK(current["window"].getBlockM() == 128);
  CHECK_FALSE(current.count("compressed"));

  SECTION("another bucket finds nothing") {
    auto other = parse(t, kNsa);
    auto none = attachCachedSchedules(
        *other, tuningKey(*other, id, {1, 9000, 0}), cache, warnings);
    REQUIRE(mlir::succeeded(none));
    CHECK(none->empty());
    CHECK(warnings.empty());
  }
  SECTION(
      "an entry naming a stage the variant lacks is ignored, with a warning") {
    entry.stages.push_back({"bogus", "#skim.schedule<block_m = 32>"});
    REQUIRE(!cache.store(entry));
    auto other = parse(t, kNsa);
    auto none = attachCachedSchedules(*other, key, cache, warnings);
    REQUIRE(mlir::succeeded(none));
    CHECK(none->empty());
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("does not have") != std::string::npos);
  }
  SECTION("an entry whose schedule does not parse is ignored, with a warning") {
    entry.stages[1].schedule = "#skim.schedule<block_q = 3>";
    REQUIRE(!cache.store(entry));
    auto other = parse(t, kNsa);
    auto none = attachCachedSchedules(*other, key, cache, warnings);
    REQUIRE(mlir::succeeded(none));
    CHECK(none->empty());
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("no valid schedule") != std::string::npos);
  }
  llvm::sys::fs::remove_directories(dir);
}
