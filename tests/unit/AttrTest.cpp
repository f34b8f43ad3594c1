//===- AttrTest.cpp - parse/print of skim attributes ----------------------===//

#include "TestContext.h"

#include "mlir/AsmParser/AsmParser.h"

#include <catch2/catch.hpp>

using namespace mlir;
using namespace mlir::skim;

namespace {

std::string print(Attribute attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  attr.print(os);
  return text;
}

} // namespace

TEST_CASE("mask attribute prints only what is set", "[attr]") {
  testing::TestContext t;
  MLIRContext *ctx = &t.context;
  CHECK(print(MaskAttr::get(ctx, false, 0, 0)) == "#skim.mask<>");
  CHECK(print(MaskAttr::get(ctx, true, 0, 0)) == "#skim.mask<causal>");
  CHECK(print(MaskAttr::get(ctx, true, 512, 4)) ==
        "#skim.mask<causal, window = 512, sink = 4>");
  CHECK(print(MaskAttr::get(ctx, false, 0, 4)) == "#skim.mask<sink = 4>");
}

TEST_CASE("mask attribute round-trips through the parser", "[attr]") {
  testing::TestContext t;
  for (const char *text :
       {"#skim.mask<>", "#skim.mask<causal>", "#skim.mask<window = 7>",
        "#skim.mask<causal, window = 512, sink = 4>"}) {
    Attribute attr = parseAttribute(text, &t.context);
    REQUIRE(attr);
    CHECK(isa<MaskAttr>(attr));
    CHECK(print(attr) == text);
  }
  // Fields may come in any order; the printer puts them in a fixed one.
  auto reordered = cast<MaskAttr>(
      parseAttribute("#skim.mask<sink = 2, causal, window = 9>", &t.context));
  CHECK(reordered.getCausal());
  CHECK(reordered.getWindow() == 9);
  CHECK(reordered.getSink() == 2);
}

TEST_CASE("malformed masks are rejected with the reason", "[attr]") {
  testing::TestContext t;
  CHECK_FALSE(parseAttribute("#skim.mask<window = -1>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("window must be >= 0"));
  CHECK_FALSE(parseAttribute("#skim.mask<sink = -3>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("sink must be >= 0"));
  CHECK_FALSE(parseAttribute("#skim.mask<causal, causal>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("'causal' appears twice"));
  CHECK_FALSE(parseAttribute("#skim.mask<dilation = 2>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("unknown #skim.mask field 'dilation'"));
}

TEST_CASE("schedule defaults are elided and fields round-trip", "[attr]") {
  testing::TestContext t;
  auto schedule = cast<ScheduleAttr>(parseAttribute("#skim.schedule<>", &t.context));
  CHECK(schedule.getBlockM() == 64);
  CHECK(schedule.getBlockN() == 64);
  CHECK(schedule.getWarps() == 4);
  CHECK(schedule.getStages() == 2);
  CHECK(schedule.getOrder() == LoopOrder::query_major);
  CHECK(schedule.getPackGqa());
  CHECK(schedule.getTokensPerTile() == 1);
  CHECK(schedule.getSplitKv() == 1);
  CHECK_FALSE(schedule.getTarget());
  CHECK(print(schedule) == "#skim.schedule<>");

  const char *full =
      "#skim.schedule<block_m = 128, block_n = 128, warps = 12, stages = 4, "
      "order = kv_major, pack_gqa = false, tokens_per_tile = 4, split_kv = 8, "
      "target = #skim.sm90<consumer_warpgroups = 3, producer_regs = 24, "
      "consumer_regs = 240, cluster = 2>>";
  auto tuned = cast<ScheduleAttr>(parseAttribute(full, &t.context));
  CHECK(tuned.getOrder() == LoopOrder::kv_major);
  CHECK(tuned.getTokensPerTile() == 4);
  auto sm90 = cast<Sm90ScheduleAttr>(tuned.getTarget());
  CHECK(sm90.getConsumerWarpgroups() == 3);
  CHECK(sm90.getCluster() == 2);
  CHECK(print(tuned) == full);

  auto amd = cast<ScheduleAttr>(parseAttribute(
      "#skim.schedule<target = #skim.amd<mma_m = 16, mma_n = 16, mma_k = 16, "
      "wave_size = 32>>",
      &t.context));
  CHECK(cast<AmdScheduleAttr>(amd.getTarget()).getWaveSize() == 32);
}

TEST_CASE("schedule verifiers reject impossible shapes", "[attr]") {
  testing::TestContext t;
  CHECK_FALSE(parseAttribute("#skim.schedule<block_m = 0>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("block_m must be > 0, got 0"));
  CHECK_FALSE(parseAttribute("#skim.schedule<target = #skim.mask<causal>>",
                             &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("target must be #skim.sm90"));
  CHECK_FALSE(parseAttribute("#skim.sm90<consumer_regs = 230>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("multiple of 8 in [24, 256]"));
  CHECK_FALSE(parseAttribute("#skim.amd<mma_m = 64>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("64x32x8 is not a bf16/f16"));
  CHECK_FALSE(parseAttribute("#skim.amd<wave_size = 16>", &t.context));
  CHECK_THAT(t.lastError, Catch::Contains("wave_size must be 32 or 64"));
}
