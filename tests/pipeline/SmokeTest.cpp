//===- SmokeTest.cpp - the harness itself ---------------------------------===//

#include "Harness.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

TEST_CASE("a causal attention matches the reference", "[pipeline][smoke]") {
  const std::string mlir = R"mlir(
    func.func @f(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>)
        -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>) {
      %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal>}
          : tensor<?x?x4x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>
      return %o, %lse : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>
    })mlir";
  const rt::CpuExecutable &exe = compile(mlir);
  ref::Tensor q = random({1, 70, 4, 32}, 1), k = random({1, 70, 2, 32}, 2),
              v = random({1, 70, 2, 32}, 3);
  auto out = run(exe, {q, k, v}, ElementType::F32);
  REQUIRE(out);
  ref::AttentionParams params;
  params.causal = true;
  auto want = ref::attention(q, k, v, nullptr, nullptr, params);
  REQUIRE(want);
  for (size_t i = 0; i < want->out.data.size(); ++i)
    REQUIRE((*out)[0].data[i] == Approx(want->out.data[i]).margin(1e-5));
  for (size_t i = 0; i < want->lse.data.size(); ++i)
    REQUIRE((*out)[1].data[i] == Approx(want->lse.data[i]).margin(1e-5));
}
