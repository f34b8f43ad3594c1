//===- IndexValidationTest.cpp - selection indices checked on request -----===//

#include "Harness.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {
const char *kSelected = R"mlir(
  func.func @f(%q: tensor<?x?x2x32xf32>, %k: tensor<?x?x1x32xf32>, %v: tensor<?x?x1x32xf32>,
               %idx: tensor<?x?x1x2xi32>) -> tensor<?x?x2x32xf32> {
    %o, %lse = skim.attention %q, %k, %v indices(%idx : tensor<?x?x1x2xi32>)
        {mask = #skim.mask<causal>, kv_block = 64}
        : tensor<?x?x2x32xf32>, tensor<?x?x1x32xf32>, tensor<?x?x1x32xf32>
    return %o : tensor<?x?x2x32xf32>
  })mlir";

ref::IndexTensor indicesWith(int32_t entry) {
  ref::IndexTensor idx;
  idx.shape = {1, 100, 1, 2};
  idx.data.assign(200, 0);
  for (int t = 0; t < 100; ++t)
    idx.data[size_t(t * 2 + 1)] = t == 42 ? entry : -1;
  return idx;
}
} // namespace

TEST_CASE("invalid selection entries are padding unless validation is asked for",
          "[pipeline][selection]") {
  const rt::CpuExecutable &exe = compile(kSelected);
  ref::Tensor q = random({1, 100, 2, 32}, 1), k = random({1, 100, 1, 32}, 2),
              v = random({1, 100, 1, 32}, 3);
  // 100 keys in blocks of 64: blocks 0 and 1 exist, 2 does not.
  ref::IndexTensor bad = indicesWith(2);

  auto padded = run(exe, {q, k, v, bad}, ElementType::F32);
  REQUIRE(padded);
  auto asPadding = run(exe, {q, k, v, indicesWith(-1)}, ElementType::F32);
  REQUIRE(asPadding);
  CHECK((*padded)[0].data == (*asPadding)[0].data);

  rt::RunOptions validate;
  validate.validateIndices = true;
  auto rejected = run(exe, {q, k, v, bad}, ElementType::F32, 2, validate);
  REQUIRE_FALSE(rejected);
  CHECK_THAT(rejected.message(),
             Catch::Contains("input #3 entry [0, 42, 0, 1] is 2: a selection entry "
                             "must be -1 or a KV block in [0, 2)"));
  auto accepted = run(exe, {q, k, v, indicesWith(1)}, ElementType::F32, 2, validate);
  CHECK(accepted);
}
