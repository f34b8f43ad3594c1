//===- ManifestTest.cpp - the export manifest and measured results --------===//
//
// The two files that carry a search space to a machine without the
// compiler and its measurements back: the manifest round trip and its
// errors, and `skim tune --import`'s checks (entryFromMeasurement).
//
//===----------------------------------------------------------------------===//

#include "../TestContext.h"
#include "Variants.h"

#include "autotune/Import.h"
#include "autotune/Manifest.h"

#include "mlir/Parser/Parser.h"

#include <catch2/catch.hpp>

using mlir::skim::testing::TestContext;
using namespace skim::tune;
using skim::tune::testing::kSelected;

namespace {

Manifest sampleManifest() {
  Manifest m;
  m.variant = "<preset nsa>";
  m.target = "sm_90a";
  m.bucket = "B1-T65536-S65536";
  m.signature = "0123456789abcdef";
  m.skimVersion = "skim 0.1.0";
  InputSpec q;
  q.name = "arg0";
  q.dtype = skim::rt::DType::BF16;
  q.shape = {1, 65536, 64, 128};
  InputSpec idx;
  idx.name = "arg3";
  idx.dtype = skim::rt::DType::I32;
  idx.fill = InputSpec::Fill::Selection;
  idx.kvBlock = 64;
  idx.qBlock = 1;
  idx.tokens = idx.keys = 65536;
  idx.shape = {1, 65536, 4, 16};
  m.inputs = {q, idx};
  ManifestCandidate a{"selected", 0, 1.25, "c0.skim", "", ""};
  ManifestCandidate b{"selected",
                      1,
                      0.75,
                      "",
                      "error: 'skim_tile.kernel' op needs\nmore registers",
                      "#skim.schedule<block_m = 64, tokens_per_tile = 4>"};
  ManifestCandidate c{"window", 0, 0.5, "c2.skim", "", ""};
  m.candidates = {a, b, c};
  return m;
}

/// skim-tune-measure's results for `module` at 64k tokens, with `edit`
/// applied to the fields before they are written.
std::string results(mlir::ModuleOp module, const std::string &stages,
                    std::map<std::string, std::string> edit = {}) {
  ProblemSizes sizes;
  sizes.tokens = 65536;
  std::map<std::string, std::string> fields = {
      {"target", "sm_90a"},
      {"bucket", shapeBucket(sizes)},
      {"signature", variantSignature(module)},
      {"skim_version", mlir::skim::compilerVersion()},
      {"device", "NVIDIA H200"},
      {"driver", "CUDA 13.0"}};
  for (auto &[k, v] : edit)
    fields[k] = v;
  std::string json = "{\"variant\": \"x\"";
  for (auto &[k, v] : fields)
    json += ", \"" + k + "\": \"" + v + "\"";
  return json + ", \"stages\": " + stages + "}";
}

} // namespace

TEST_CASE("a manifest survives its text form", "[autotune][manifest]") {
  Manifest m = sampleManifest();
  auto back = Manifest::parse(m.serialize());
  REQUIRE(back);
  CHECK(back->variant == m.variant);
  CHECK(back->target == "sm_90a");
  CHECK(back->bucket == m.bucket);
  CHECK(back->signature == m.signature);
  CHECK(back->skimVersion == "skim 0.1.0");
  REQUIRE(back->inputs.size() == 2);
  CHECK(back->inputs[0].shape == m.inputs[0].shape);
  CHECK(back->inputs[0].dtype == skim::rt::DType::BF16);
  CHECK(back->inputs[1].fill == InputSpec::Fill::Selection);
  CHECK(back->inputs[1].tokens == 65536);
  REQUIRE(back->candidates.size() == 3);
  CHECK(back->candidates[0].schedule.empty());
  CHECK(back->candidates[0].artifact == "c0.skim");
  CHECK(back->candidates[1].artifact.empty());
  CHECK(back->candidates[1].schedule == m.candidates[1].schedule);
  // A message keeps its words on one line.
  CHECK(back->candidates[1].error ==
        "error: 'skim_tile.kernel' op needs more registers");
  CHECK(back->candidates[1].predictedMs == 0.75);

  auto stages = back->stages();
  REQUIRE(stages.size() == 2);
  CHECK(stages[0].stage == "selected");
  CHECK(stages[0].schedules.size() == 2);
  CHECK(stages[1].predictedMs == std::vector<double>{0.5});
}

TEST_CASE("a bad manifest is refused with its line", "[autotune][manifest]") {
  auto refuse = [](const std::string &text) {
    auto m = Manifest::parse(text);
    REQUIRE_FALSE(m);
    return m.message();
  };
  CHECK(refuse("") == "the manifest is empty");
  CHECK_THAT(refuse("skim-tune-manifest 2\n"),
             Catch::Contains("line 1: not a skim-tune-manifest 1 file"));
  CHECK_THAT(refuse("skim-tune-manifest 1\ninput arg0 bf16 signed 64\n"),
             Catch::Contains("line 2: an input needs name, dtype"));
  CHECK_THAT(
      refuse("skim-tune-manifest 1\ninput arg0 bf16 wobbly 64 1 1 1 4\n"),
      Catch::Contains("unknown fill 'wobbly'"));
  CHECK_THAT(refuse("skim-tune-manifest 1\ninput arg0 bf16 signed 64 1 1 1\n"),
             Catch::Contains("input 'arg0' has no dimensions"));
  CHECK_THAT(refuse("skim-tune-manifest 1\ncandidate selected x\n"),
             Catch::Contains("a candidate needs stage"));
  CHECK_THAT(refuse("skim-tune-manifest 1\nstages 3\n"),
             Catch::Contains("line 2: unknown line kind 'stages'"));
  CHECK(refuse("skim-tune-manifest 1\ntarget sm_90a\n") ==
        "the manifest lists no candidates");
}

TEST_CASE("measured results become the cache entry of their key",
          "[autotune][import]") {
  TestContext t;
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kSelected, &t.context);
  REQUIRE(module);
  ProblemSizes sizes;
  sizes.tokens = 40000; // the same 64k bucket
  const std::string best = "#skim.schedule<block_m = 64, tokens_per_tile = 4>";
  std::string stage = "[{\"stage\": \"attention\", \"best\": \"" + best +
                      "\", \"best_ms\": 4.5, \"default_ms\": 6.0, "
                      "\"trials\": [{}, {}, {}]}]";
  auto entry =
      entryFromMeasurement(*module, "sm_90a", sizes, results(*module, stage));
  REQUIRE(bool(entry));
  CHECK(entry->key ==
        tuningKey(*module, {"NVIDIA H200", "sm_90a", "CUDA 13.0"}, sizes));
  REQUIRE(entry->stages.size() == 1);
  CHECK(entry->stages[0].schedule == best);
  CHECK(entry->bestMs == 4.5);
  CHECK(entry->defaultMs == 6.0);
  CHECK(entry->trials == 3);

  auto refused = [&](const std::string &json) {
    auto e = entryFromMeasurement(*module, "sm_90a", sizes, json);
    REQUIRE_FALSE(bool(e));
    return llvm::toString(e.takeError());
  };
  CHECK_THAT(refused(results(*module, stage, {{"device", ""}})),
             Catch::Contains("an empty 'device'"));
  CHECK_THAT(refused(results(*module, stage, {{"skim_version", "skim 0.0.1"}})),
             Catch::Contains("they are for skim version 'skim 0.0.1'"));
  CHECK_THAT(refused(results(*module, "[]")), Catch::Contains("no 'stages'"));
  CHECK_THAT(refused(results(*module, "[{\"stage\": \"attention\", "
                                      "\"best\": \"#skim.mask<causal>\"}]")),
             Catch::Contains("stage 'attention': '#skim.mask<causal>' is not "
                             "a #skim.schedule"));
  CHECK_THAT(
      refused(results(*module, "[{\"stage\": \"window\", \"best\": \"\"}]")),
      Catch::Contains("a stage this variant does not have"));
  CHECK_THAT(refused("[1, 2]"), Catch::Contains("not a JSON object"));
}
