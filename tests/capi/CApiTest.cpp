//===- CApiTest.cpp - skim/skim.h through libskim.so ----------------------===//
//
// The C API as a program uses it: an artifact written by the skim tool loads
// and computes what the JIT's kernel computes; missing, corrupt and foreign
// files, and tensors on the wrong device, are errors that say so. The [gpu]
// case runs a CUDA kernel on device memory against the CPU kernel, and
// passes with a warning where no CUDA driver is found.
//
//===----------------------------------------------------------------------===//

#include "Helpers.h"

#include "skim/runtime/Device.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace skim::test;
namespace rt = skim::rt;

namespace {

struct KernelDeleter {
  void operator()(skim_kernel *k) const { skim_kernel_free(k); }
};
using KernelPtr = std::unique_ptr<skim_kernel, KernelDeleter>;

/// The JIT's cache stays in the build tree, not in ~/.cache.
void useTestCache() {
  static bool set = [] {
    if (!std::getenv("SKIM_CACHE_DIR"))
      setenv("SKIM_CACHE_DIR", SKIM_TEST_CACHE_DEFAULT, 1);
    return true;
  }();
  (void)set;
}

KernelPtr compileCausal(const char *target) {
  useTestCache();
  char *error = nullptr;
  char *mlir = skim_preset("variant=causal heads=4/2 dim=32", &error);
  INFO(takeError(error));
  REQUIRE(mlir);
  error = nullptr;
  KernelPtr kernel(skim_compile(mlir, target, &error));
  skim_free_string(mlir);
  INFO(takeError(error));
  REQUIRE(kernel);
  return kernel;
}

float maxDifference(const HostTensor &a, const HostTensor &b) {
  REQUIRE(a.data.size() == b.data.size());
  float worst = 0.0f;
  for (size_t i = 0; i < a.data.size(); ++i)
    worst = std::max(worst, std::isnan(a.data[i]) || std::isnan(b.data[i])
                                ? INFINITY
                                : std::fabs(a.data[i] - b.data[i]));
  return worst;
}

std::string loadError(const std::string &path) {
  char *error = nullptr;
  KernelPtr kernel(skim_load(path.c_str(), &error));
  CHECK(!kernel);
  return takeError(error);
}

} // namespace

TEST_CASE("an artifact from the skim tool computes what the JIT's kernel does",
          "[capi]") {
  std::string dir = temporaryFolder();
  std::string path = dir + "/causal.skim";
  compileWithTool(std::string(kCausalArgs) + " --target host", path);

  char *error = nullptr;
  KernelPtr loaded(skim_load(path.c_str(), &error));
  INFO(takeError(error));
  REQUIRE(loaded);
  CHECK(skim_kernel_device_type(loaded.get()) == kDLCPU);
  CHECK(std::string(skim_kernel_target(loaded.get())).rfind("host:", 0) == 0);
  CHECK(skim_kernel_num_inputs(loaded.get()) == 3);
  CHECK(skim_kernel_num_outputs(loaded.get()) == 2);

  std::string bytes = readBytes(path);
  error = nullptr;
  KernelPtr fromBytes(skim_load_bytes(bytes.data(), bytes.size(), &error));
  INFO(takeError(error));
  REQUIRE(fromBytes);

  KernelPtr compiled = compileCausal("host");
  std::vector<HostTensor> in = causalInputs(1);
  std::vector<HostTensor> want = causalOutputs(), got = causalOutputs(),
                          again = causalOutputs();
  REQUIRE(run(compiled.get(), in, want) == "");
  REQUIRE(run(loaded.get(), in, got) == "");
  REQUIRE(run(fromBytes.get(), in, again) == "");
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(maxDifference(got[i], want[i]) <= 1e-6f);
    CHECK(maxDifference(again[i], want[i]) <= 1e-6f);
  }

  // Causal attention needs no workspace; the query is still checked.
  uint64_t workspace = 1;
  std::vector<DLManagedTensor *> inputs = {in[0].dl(), in[1].dl(), in[2].dl()};
  REQUIRE(skim_kernel_workspace_bytes(loaded.get(), inputs.data(), 3,
                                      &workspace, &error) == 0);
  CHECK(workspace == 0);
}

TEST_CASE("loading names the file and what is wrong with it", "[capi]") {
  std::string dir = temporaryFolder();
  std::string message = loadError(dir + "/missing.skim");
  CHECK(contains(message, "cannot open artifact '" + dir + "/missing.skim'"));
  CHECK(contains(message, "No such file"));

  std::string path = dir + "/causal.skim";
  compileWithTool(std::string(kCausalArgs) + " --target host", path);
  std::string bytes = readBytes(path);
  REQUIRE(bytes.size() > 100);

  std::string corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  writeBytes(dir + "/corrupt.skim", corrupt);
  message = loadError(dir + "/corrupt.skim");
  CHECK(contains(message, dir + "/corrupt.skim: "));
  CHECK(contains(message, "checksum mismatch"));

  writeBytes(dir + "/truncated.skim", bytes.substr(0, bytes.size() / 3));
  CHECK(contains(loadError(dir + "/truncated.skim"), "truncated or corrupt"));

  writeBytes(dir + "/text.skim", "func.func @f() { return }\n");
  CHECK(contains(loadError(dir + "/text.skim"), "not a skim artifact"));

  char *error = nullptr;
  CHECK(!skim_load(nullptr, &error));
  CHECK(contains(takeError(error), "path is NULL"));
  error = nullptr;
  CHECK(!skim_load_bytes(nullptr, 10, &error));
  CHECK(contains(takeError(error), "data is NULL"));
}

TEST_CASE("tensors on the wrong device are refused before anything runs",
          "[capi]") {
  KernelPtr gpu = compileCausal("sm_90");
  CHECK(skim_kernel_device_type(gpu.get()) == kDLCUDA);
  CHECK(std::string(skim_kernel_target(gpu.get())) == "cuda:sm_90");
  CHECK(skim_kernel_num_inputs(gpu.get()) == 3);

  std::vector<HostTensor> in = causalInputs(2), out = causalOutputs();
  std::string message = run(gpu.get(), in, out);
  CHECK(contains(message, "input #0 is a CPU tensor, but this kernel runs on "
                          "CUDA (target cuda:sm_90)"));

  int64_t shape[8];
  int rank = 0;
  char *error = nullptr;
  std::vector<DLManagedTensor *> inputs = {in[0].dl(), in[1].dl(), in[2].dl()};
  CHECK(skim_kernel_output_shape(gpu.get(), inputs.data(), 3, 0, shape, &rank,
                                 &error) != 0);
  CHECK(contains(takeError(error), "input #0 is a CPU tensor"));

  // Addresses that are never read: each check fails before any launch.
  std::vector<DLManagedTensor *> mixed = {in[0].dl(kDLCUDA, 0, &rank),
                                          in[1].dl(kDLCUDA, 1, &rank),
                                          in[2].dl(kDLCUDA, 0, &rank)};
  error = nullptr;
  CHECK(skim_kernel_run(gpu.get(), mixed.data(), 3, nullptr, 0, nullptr,
                        &error) != 0);
  CHECK(contains(takeError(error), "input #1 is on CUDA device 1, but input #0 "
                                   "is on device 0"));

  std::vector<DLManagedTensor *> pinned = {in[0].dl(kDLCUDAHost)};
  error = nullptr;
  CHECK(skim_kernel_run(gpu.get(), pinned.data(), 1, nullptr, 0, nullptr,
                        &error) != 0);
  CHECK(contains(takeError(error),
                 "input #0 lives in CUDA host (pinned) memory"));

  KernelPtr cpu = compileCausal("host");
  std::vector<DLManagedTensor *> onGpu = {
      in[0].dl(), in[1].dl(kDLCUDA, 0, &rank), in[2].dl()};
  error = nullptr;
  CHECK(skim_kernel_run(cpu.get(), onGpu.data(), 3, nullptr, 0, nullptr,
                        &error) != 0);
  CHECK(contains(takeError(error),
                 "input #1 is a CUDA tensor, but this kernel runs on CPU"));

  if (!rt::loadCudaDriver(rt::defaultCudaLibraries())) {
    std::vector<DLManagedTensor *> cuda = {in[0].dl(kDLCUDA, 0, &rank),
                                           in[1].dl(kDLCUDA, 0, &rank),
                                           in[2].dl(kDLCUDA, 0, &rank)};
    error = nullptr;
    CHECK(skim_kernel_run(gpu.get(), cuda.data(), 3, nullptr, 0, nullptr,
                          &error) != 0);
    CHECK(contains(takeError(error), "no CUDA device is available"));
  }
}

TEST_CASE("a CUDA kernel on device memory matches the CPU kernel",
          "[gpu][cuda]") {
  auto driver = rt::loadCudaDriver(rt::defaultCudaLibraries());
  if (!driver) {
    WARN("skipped: no CUDA driver on this machine");
    return;
  }
  auto devices = rt::openCudaDevices(*driver);
  if (!devices || devices->empty()) {
    WARN("skipped: no CUDA device");
    return;
  }
  rt::Device &device = *devices->front();
  KernelPtr gpu = compileCausal("sm_90");
  KernelPtr cpu = compileCausal("host");
  std::vector<HostTensor> in = causalInputs(3);
  std::vector<HostTensor> want = causalOutputs(), got = causalOutputs();
  REQUIRE(run(cpu.get(), in, want) == "");

  // Device copies of every tensor; outputs start as NaN, so an element the
  // kernel misses shows.
  std::vector<rt::DevicePtr> buffers;
  auto upload = [&](HostTensor &t) {
    auto ptr = device.allocate(t.data.size() * sizeof(float));
    REQUIRE(ptr);
    REQUIRE(device.copyToDevice(*ptr, t.data.data(),
                                t.data.size() * sizeof(float)));
    buffers.push_back(*ptr);
    return t.dl(kDLCUDA, 0, reinterpret_cast<void *>(uintptr_t(*ptr)));
  };
  std::vector<DLManagedTensor *> inputs, outputs;
  for (HostTensor &t : in)
    inputs.push_back(upload(t));
  for (HostTensor &t : got)
    outputs.push_back(upload(t));
  auto stream = device.createStream();
  REQUIRE(stream);
  char *error = nullptr;
  int rc = skim_kernel_run(gpu.get(), inputs.data(), 3, outputs.data(), 2,
                           stream->handle, &error);
  INFO(takeError(error));
  REQUIRE(rc == 0);
  REQUIRE(device.synchronize(*stream));
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(device.copyToHost(got[i].data.data(), buffers[3 + i],
                              got[i].data.size() * sizeof(float)));
    CHECK(maxDifference(got[i], want[i]) <= 1e-4f);
  }
  CHECK(device.destroyStream(*stream));
  for (rt::DevicePtr ptr : buffers)
    CHECK(device.deallocate(ptr));
}
