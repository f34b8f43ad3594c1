//===- RuntimeChecksTest.cpp - the runtime refuses what it cannot run -----===//

#include "Harness.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {
const char *kCausal = R"mlir(
  func.func @f(%q: tensor<?x?x2x32xf32>, %k: tensor<?x?x1x32xf32>, %v: tensor<?x?x1x32xf32>)
      -> (tensor<?x?x2x32xf32>, tensor<?x2x?xf32>) {
    %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
        : tensor<?x?x2x32xf32>, tensor<?x?x1x32xf32>, tensor<?x?x1x32xf32>
    return %o, %lse : tensor<?x?x2x32xf32>, tensor<?x2x?xf32>
  })mlir";
} // namespace

TEST_CASE("inputs that disagree are rejected before any kernel runs", "[pipeline][runtime]") {
  const rt::CpuExecutable &exe = compile(kCausal);
  auto q = random({2, 10, 2, 32}, 1);
  auto k1 = random({1, 10, 1, 32}, 2), v1 = random({1, 10, 1, 32}, 3);
  auto batch = run(exe, {q, k1, v1}, ElementType::F32);
  REQUIRE_FALSE(batch);
  CHECK_THAT(batch.message(), Catch::Contains("inputs disagree: key.B=query.B (1 vs 2)"));

  auto k = random({2, 10, 1, 32}, 2), v = random({2, 12, 1, 32}, 3);
  auto length = run(exe, {q, k, v}, ElementType::F32);
  REQUIRE_FALSE(length);
  CHECK_THAT(length.message(), Catch::Contains("inputs disagree: value.S=key.S (12 vs 10)"));
}

TEST_CASE("plans with unknown fields or bad numbers are errors, not crashes",
          "[pipeline][runtime]") {
  const char *good = "skim-plan 1\nbuffer 0 input 0 f32 1 d0.0\n";
  REQUIRE(rt::Plan::parse(good));
  auto extra = rt::Plan::parse("skim-plan 1\nbuffer 0 input 0 f32 1 d0.0 surprise\n");
  REQUIRE_FALSE(extra);
  CHECK_THAT(extra.message(), Catch::Contains("line 2: unexpected text after the buffer's dims"));
  auto version = rt::Plan::parse("skim-plan 2\n");
  REQUIRE_FALSE(version);
  CHECK_THAT(version.message(), Catch::Contains("expected header 'skim-plan 1'"));
  auto kernel = rt::Plan::parse("skim-plan 1\nbuffer 0 input 0 f32 1 d0.0\n"
                                "kernel k grid 1 1 1 args 1 tX\n");
  REQUIRE_FALSE(kernel);
  CHECK_THAT(kernel.message(), Catch::Contains("names unknown buffer tX"));

  rt::Expr bad;
  bad.tokens = {"d0.zz"};
  auto value = bad.eval([](bool, int, int) -> rt::Expected<int64_t> { return int64_t(1); });
  REQUIRE_FALSE(value);
  CHECK_THAT(value.message(), Catch::Contains("bad leaf 'd0.zz'"));
  rt::Expr division;
  division.tokens = {"7", "0", "/"};
  auto zero = division.eval([](bool, int, int) -> rt::Expected<int64_t> { return int64_t(1); });
  REQUIRE_FALSE(zero);
  CHECK_THAT(zero.message(), Catch::Contains("division by zero"));
  rt::Expr floor;
  floor.tokens = {"-7", "2", "/", "-7", "2", "cdiv", "+"};
  auto sum = floor.eval([](bool, int, int) -> rt::Expected<int64_t> { return int64_t(1); });
  REQUIRE(sum);
  CHECK(*sum == -4 + -3); // floor(-3.5) + ceil(-3.5)
}

TEST_CASE("an artifact for another target is refused", "[pipeline][runtime]") {
  rt::Artifact artifact;
  artifact.sections["target"] = "sm_90a";
  artifact.sections["plan"] = "skim-plan 1\n";
  artifact.sections["cpu.so"] = "";
  auto exe = rt::CpuExecutable::load(artifact);
  REQUIRE_FALSE(exe);
  CHECK_THAT(exe.message(), Catch::Contains("artifact targets 'sm_90a', not the host CPU"));
}

TEST_CASE("workspace is reused across runs", "[pipeline][runtime]") {
  // The NSA-like chain below needs workspace (pooled keys); two runs with the
  // same shapes must give identical results from the pooled buffer.
  const char *pooled = R"mlir(
    func.func @f(%k: tensor<?x?x1x32xf32>) -> tensor<?x?x1x32xf32> {
      %p = skim.pool mean %k {block = 4, stride = 2} : tensor<?x?x1x32xf32>
      %q = skim.pool mean %p {block = 2, stride = 2} : tensor<?x?x1x32xf32>
      return %q : tensor<?x?x1x32xf32>
    })mlir";
  const rt::CpuExecutable &exe = compile(pooled);
  auto k = random({1, 40, 1, 32}, 5);
  auto first = run(exe, {k}, ElementType::F32);
  auto second = run(exe, {k}, ElementType::F32);
  REQUIRE(first);
  REQUIRE(second);
  CHECK((*first)[0].data == (*second)[0].data);
  auto inner = ref::pool(k, ref::PoolKind::Mean, 4, 2);
  REQUIRE(inner);
  auto want = ref::pool(*inner, ref::PoolKind::Mean, 2, 2);
  REQUIRE(want);
  REQUIRE((*first)[0].shape == want->shape);
  for (size_t i = 0; i < want->data.size(); ++i)
    CHECK((*first)[0].data[i] == Approx(want->data[i]).margin(1e-5));
}
