//===- NsaSoftcapTest.cpp - NSA with a softcap on every branch ------------===//

#include "Harness.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

TEST_CASE("nsa with a softcap matches the reference", "[pipeline][variants][nsa]") {
  const char *mlir = R"mlir(
    func.func @nsa(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>,
                   %gc: tensor<?x?x4xf32>, %gs: tensor<?x?x4xf32>, %gw: tensor<?x?x4xf32>)
        -> tensor<?x?x4x32xf32> {
      %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw)
          {num_selected = 4, window = 64, softcap = 3.0 : f32}
          : tensor<?x?x4x32xf32>, keys(tensor<?x?x2x32xf32>), values(tensor<?x?x2x32xf32>),
            gates tensor<?x?x4xf32>
      return %o : tensor<?x?x4x32xf32>
    })mlir";
  const rt::CpuExecutable &exe = compile(mlir);
  // Scores large enough that the cap bends them: q·k/√32 reaches ~5.
  ref::Tensor q = random({1, 300, 4, 32}, 1, -2.f, 2.f);
  ref::Tensor k = random({1, 300, 2, 32}, 2, -2.f, 2.f);
  ref::Tensor v = random({1, 300, 2, 32}, 3);
  ref::Tensor gc = random({1, 300, 4}, 4, 0.f, 1.f), gs = random({1, 300, 4}, 5, 0.f, 1.f),
              gw = random({1, 300, 4}, 6, 0.f, 1.f);
  auto got = run(exe, {q, k, v, gc, gs, gw}, ElementType::F32);
  REQUIRE(got);
  ref::NsaParams params;
  params.numSelected = 4;
  params.window = 64;
  params.softcap = 3.0;
  auto want = ref::nsa(q, k, v, gc, gs, gw, params);
  REQUIRE(want);
  ref::NsaParams uncapped = params;
  uncapped.softcap.reset();
  auto plain = ref::nsa(q, k, v, gc, gs, gw, uncapped);
  REQUIRE(plain);
  double maxErr = 0, capEffect = 0;
  for (size_t i = 0; i < want->out.data.size(); ++i) {
    maxErr = std::max(maxErr, double(std::abs((*got)[0].data[i] - want->out.data[i])));
    capEffect = std::max(capEffect, double(std::abs(plain->out.data[i] - want->out.data[i])));
  }
  INFO("max |error| " << maxErr << ", effect of the cap " << capEffect);
  CHECK(maxErr < 1e-4);
  CHECK(capEffect > 1e-2); // the test would notice a dropped softcap
}
