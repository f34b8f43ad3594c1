//===- RuntimeOnlyTest.cpp - skim/skim.h through libskim_runtime.so -------===//
//
// The library without a compiler: it says so when asked to compile, and
// runs what the skim tool compiled.
//
//===----------------------------------------------------------------------===//

#include "Helpers.h"

#include <cmath>

using namespace skim::test;

TEST_CASE("the runtime-only library says it cannot compile", "[capi]") {
  CHECK(contains(skim_version(), "(runtime only)"));
  char *error = nullptr;
  CHECK(!skim_preset("variant=causal", &error));
  std::string message = takeError(error);
  CHECK(contains(message, "skim_preset needs the compiler"));
  CHECK(contains(message, "libskim_runtime.so"));
  error = nullptr;
  CHECK(!skim_compile("func.func @f() { return }", "host", &error));
  CHECK(contains(takeError(error), "skim_compile needs the compiler"));
}

TEST_CASE("the runtime-only library runs an artifact compiled elsewhere",
          "[capi]") {
  std::string path = temporaryFolder() + "/causal.skim";
  compileWithTool(std::string(kCausalArgs) + " --target host", path);
  char *error = nullptr;
  skim_kernel *kernel = skim_load(path.c_str(), &error);
  INFO(takeError(error));
  REQUIRE(kernel);
  CHECK(skim_kernel_device_type(kernel) == kDLCPU);

  // With every value row the same, attention returns that row whatever the
  // weights: a check that needs no reference.
  std::vector<HostTensor> in = causalInputs(4), out = causalOutputs();
  for (float &x : in[2].data)
    x = 0.375f;
  REQUIRE(run(kernel, in, out) == "");
  for (float x : out[0].data)
    REQUIRE(std::fabs(x - 0.375f) <= 1e-6f);
  for (float x : out[1].data)
    REQUIRE(std::isfinite(x));
  skim_kernel_free(kernel);
}
