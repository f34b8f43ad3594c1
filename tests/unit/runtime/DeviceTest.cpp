//===- DeviceTest.cpp - the Device interface and the driver loaders -------===//
//
// Host tests run everywhere: the CPU device, and the CUDA and HIP loaders on
// the paths a machine without a GPU takes (library absent, library that is
// not a driver). GPU tests are tagged [gpu] and pass with a warning when the
// driver is absent, so CI without a GPU stays green; on a GPU machine they
// load hand-written PTX and launch it. Run just them with `"[gpu]"`.
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/Device.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unistd.h>

using namespace skim::rt;

namespace {

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

std::unique_ptr<Device> cpuDevice() {
  std::unique_ptr<Device> device = openCpuDevice();
  REQUIRE(device);
  REQUIRE(device->kind() == DeviceKind::Cpu);
  return device;
}

/// A file that exists but is not ELF, so dlopen fails for a reason other
/// than "no such file".
struct NotALibrary {
  NotALibrary() {
    char pattern[] = "/tmp/skim-not-elf-XXXXXX.so";
    int fd = mkstemps(pattern, 3);
    REQUIRE(fd >= 0);
    const char text[] = "this is not a shared object\n";
    REQUIRE(write(fd, text, sizeof(text)) == ssize_t(sizeof(text)));
    close(fd);
    path = pattern;
  }
  ~NotALibrary() { std::remove(path.c_str()); }
  std::string path;
};

} // namespace

//===----------------------------------------------------------------------===//
// Discovery
//===----------------------------------------------------------------------===//

TEST_CASE("discovery always returns the CPU device first", "[device]") {
  std::vector<std::string> notes;
  auto devices = discoverDevices(&notes);
  REQUIRE(devices);
  REQUIRE(!devices->empty());
  const Device &cpu = *devices->front();
  CHECK(cpu.kind() == DeviceKind::Cpu);
  CHECK(std::string(deviceKindName(cpu.kind())) == "cpu");
  CHECK(!cpu.name().empty());
  CHECK(!cpu.arch().empty());
  CHECK(cpu.totalMemoryBytes() > 0);
  // Discovery without a notes sink is the same discovery.
  auto quiet = discoverDevices();
  REQUIRE(quiet);
  CHECK(quiet->size() == devices->size());
}

TEST_CASE("each GPU backend either finds devices or says why not", "[device]") {
  std::vector<std::string> notes;
  auto devices = discoverDevices(&notes);
  REQUIRE(devices);
  for (auto [kind, label] : {std::pair{DeviceKind::Cuda, "CUDA: "},
                             std::pair{DeviceKind::Hip, "HIP: "}}) {
    bool found = false;
    for (const auto &d : *devices)
      found |= d->kind() == kind;
    int noted = 0;
    for (const std::string &n : notes)
      noted += n.rfind(label, 0) == 0;
    INFO(label << " devices found: " << found << ", notes: " << noted);
    CHECK((found ? noted == 0 : noted == 1));
  }
  for (const std::string &n : notes) {
    INFO(n);
    CHECK(contains(n, "not available: "));
  }
}

//===----------------------------------------------------------------------===//
// CPU device
//===----------------------------------------------------------------------===//

TEST_CASE("CPU memory copies round-trip", "[device][cpu]") {
  auto device = cpuDevice();
  std::vector<float> source(1000);
  for (size_t i = 0; i < source.size(); ++i)
    source[i] = float(i) * 0.5f - 7.0f;
  const size_t bytes = source.size() * sizeof(float);

  auto buffer = device->allocate(bytes);
  REQUIRE(buffer);
  CHECK(*buffer % 64 == 0);
  REQUIRE(device->copyToDevice(*buffer, source.data(), bytes));
  std::vector<float> back(source.size(), -1.0f);
  REQUIRE(device->copyToHost(back.data(), *buffer, bytes));
  CHECK(back == source);

  // Through a stream: the CPU finishes the copy before returning anyway.
  auto stream = device->createStream();
  REQUIRE(stream);
  std::vector<float> again(source.size(), -1.0f);
  REQUIRE(device->copyToHost(again.data(), *buffer, bytes, *stream));
  REQUIRE(device->synchronize(*stream));
  CHECK(again == source);
  REQUIRE(device->destroyStream(*stream));
  REQUIRE(device->deallocate(*buffer));

  auto empty = device->allocate(0);
  REQUIRE(empty);
  CHECK(*empty != 0);
  CHECK(device->deallocate(*empty));
}

TEST_CASE("CPU memory fills with zeros", "[device][cpu]") {
  auto device = cpuDevice();
  std::vector<float> ones(100, 1.0f), back(100, -1.0f);
  auto buffer = device->allocate(ones.size() * sizeof(float));
  REQUIRE(buffer);
  REQUIRE(device->copyToDevice(*buffer, ones.data(), ones.size() * sizeof(float)));
  // The middle half only.
  REQUIRE(device->fillZero(*buffer + 25 * sizeof(float), 50 * sizeof(float)));
  REQUIRE(device->copyToHost(back.data(), *buffer, back.size() * sizeof(float)));
  for (size_t i = 0; i < back.size(); ++i)
    CHECK(back[i] == (i >= 25 && i < 75 ? 0.0f : 1.0f));
  CHECK(device->fillZero(*buffer, 0));
  CHECK(device->deallocate(*buffer));
}

TEST_CASE("CPU events measure non-negative elapsed time", "[device][cpu]") {
  auto device = cpuDevice();
  auto stream = device->createStream();
  auto start = device->createEvent();
  auto end = device->createEvent();
  REQUIRE(stream);
  REQUIRE(start);
  REQUIRE(end);

  // Unrecorded events have no time to compare.
  auto early = device->elapsedMs(*start, *end);
  REQUIRE(!early);
  CHECK(contains(early.message(), "recorded"));

  REQUIRE(device->record(*start, *stream));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE(device->record(*end, *stream));
  REQUIRE(device->synchronize(*end));
  auto ms = device->elapsedMs(*start, *end);
  REQUIRE(ms);
  CHECK(*ms >= 0.0f);
  CHECK(*ms >= 1.0f); // sleep_for sleeps at least as long as asked

  // The default (null) stream works as well.
  REQUIRE(device->record(*start, Stream{}));
  REQUIRE(device->record(*end, Stream{}));
  auto zero = device->elapsedMs(*start, *end);
  REQUIRE(zero);
  CHECK(*zero >= 0.0f);

  CHECK(device->destroyEvent(*start));
  CHECK(device->destroyEvent(*end));
  CHECK(device->destroyStream(*stream));
}

TEST_CASE("the CPU device has no binary modules", "[device][cpu]") {
  auto device = cpuDevice();
  const char image[] = "anything";
  auto module = device->loadModule(image, sizeof(image));
  REQUIRE(!module);
  CHECK(contains(module.message(), "CpuExecutable"));
  CHECK(!device->launch(Function{}, LaunchConfig{}, nullptr));
  CHECK(!device->features().clusterLaunch);
}

//===----------------------------------------------------------------------===//
// Loaders on a machine without the driver
//===----------------------------------------------------------------------===//

TEST_CASE("default library lists name the usual places", "[device][loader]") {
  std::vector<std::string> cuda = defaultCudaLibraries();
  REQUIRE(!cuda.empty());
  CHECK(cuda.front() == "libcuda.so.1");
  std::vector<std::string> hip = defaultHipLibraries();
  REQUIRE(!hip.empty());
  CHECK(hip.front() == "libamdhip64.so");
  CHECK(hip.back() == "/opt/rocm/lib/libamdhip64.so");
}

TEST_CASE("the CUDA loader names every library it tried", "[device][loader]") {
  std::vector<std::string> candidates = {"libskim-absent-cuda.so.1",
                                         "/nonexistent/libskim-absent-cuda.so"};
  auto driver = loadCudaDriver(candidates);
  REQUIRE(!driver);
  INFO(driver.message());
  CHECK(
      contains(driver.message(), "dlopen(libskim-absent-cuda.so.1) failed: "));
  CHECK(contains(driver.message(), "(tried: libskim-absent-cuda.so.1, "
                                   "/nonexistent/libskim-absent-cuda.so)"));
}

TEST_CASE("the HIP loader names every library it tried", "[device][loader]") {
  std::vector<std::string> candidates = {
      "libskim-absent-hip.so", "libskim-absent-hip.so.6",
      "/nonexistent/rocm/lib/libamdhip64.so"};
  auto runtime = loadHipRuntime(candidates);
  REQUIRE(!runtime);
  INFO(runtime.message());
  CHECK(contains(runtime.message(), "dlopen(libskim-absent-hip.so) failed: "));
  for (const std::string &name : candidates)
    CHECK(contains(runtime.message(), name));
  CHECK(contains(runtime.message(), "(tried: libskim-absent-hip.so, "
                                    "libskim-absent-hip.so.6, "
                                    "/nonexistent/rocm/lib/libamdhip64.so)"));
}

TEST_CASE("an empty candidate list is an error, not a crash",
          "[device][loader]") {
  CHECK(!loadCudaDriver({}));
  CHECK(!loadHipRuntime({}));
}

TEST_CASE("the loader shows why a library that exists failed to load",
          "[device][loader]") {
  // "No such file" for the first name would hide the real problem: the
  // second exists and is broken.
  NotALibrary broken;
  auto driver = loadCudaDriver({"libskim-absent-cuda.so.1", broken.path});
  REQUIRE(!driver);
  INFO(driver.message());
  CHECK(contains(driver.message(), "dlopen(" + broken.path + ") failed: "));
  CHECK(!contains(driver.message(), "No such file"));
  CHECK(contains(driver.message(),
                 "(tried: libskim-absent-cuda.so.1, " + broken.path + ")"));
}

TEST_CASE("a library without the driver's symbols names the first one missing",
          "[device][loader]") {
  SECTION("CUDA") {
    auto driver = loadCudaDriver({"libm.so.6"});
    REQUIRE(!driver);
    INFO(driver.message());
    CHECK(contains(driver.message(), "required symbol cuInit not found in "));
    CHECK(contains(driver.message(), "libm.so.6"));
  }
  SECTION("HIP") {
    auto runtime = loadHipRuntime({"libm.so.6"});
    REQUIRE(!runtime);
    INFO(runtime.message());
    CHECK(contains(runtime.message(), "required symbol hipInit not found in "));
    CHECK(contains(runtime.message(), "libm.so.6"));
  }
}

//===----------------------------------------------------------------------===//
// GPU devices
//===----------------------------------------------------------------------===//

namespace {

/// The first CUDA device, or null after a warning when there is no driver.
/// A driver that loads but yields no device fails the test: that machine
/// was meant to have a GPU.
std::unique_ptr<Device> cudaDeviceOrSkip() {
  auto driver = loadCudaDriver(defaultCudaLibraries());
  if (!driver) {
    WARN("skipped, no CUDA driver: " << driver.message());
    return nullptr;
  }
  auto devices = openCudaDevices(*driver);
  INFO(devices.message());
  REQUIRE(devices);
  REQUIRE(!devices->empty());
  return std::move(devices->front());
}

// Written by hand for the oldest target skim supports; the driver JITs it.
// No trailing NUL is passed, which loadModule must cope with.
constexpr char kBasicPtx[] = R"(
.version 6.0
.target sm_52
.address_size 64

.extern .shared .align 16 .b8 dynamicShared[];

// data[i] += 1 for i < count.
.visible .entry add_one(.param .u64 data, .param .u32 count)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [data];
  ld.param.u32 %r1, [count];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r5, 4;
  add.s64 %rd4, %rd2, %rd3;
  ld.global.f32 %f1, [%rd4];
  add.f32 %f2, %f1, 0f3F800000;
  st.global.f32 [%rd4], %f2;
DONE:
  ret;
}

// Thread t stores t at word (words - 1 - t) of dynamic shared memory and
// reads it back into out[t]: it touches the top of the allocation.
.visible .entry reverse_through_shared(.param .u64 out, .param .u32 words)
{
  .reg .b32 %r<7>;
  .reg .f32 %f<2>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [out];
  ld.param.u32 %r1, [words];
  mov.u32 %r2, %tid.x;
  sub.u32 %r3, %r1, 1;
  sub.u32 %r3, %r3, %r2;
  shl.b32 %r4, %r3, 2;
  mov.u32 %r5, dynamicShared;
  add.u32 %r6, %r5, %r4;
  cvt.rn.f32.u32 %f1, %r2;
  st.shared.f32 [%r6], %f1;
  bar.sync 0;
  ld.shared.f32 %f1, [%r6];
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r2, 4;
  add.s64 %rd4, %rd2, %rd3;
  st.global.f32 [%rd4], %f1;
  ret;
}
)";

// out[blockIdx.x] = the block's rank in its cluster.
constexpr char kClusterPtx[] = R"(
.version 7.8
.target sm_90
.address_size 64

.visible .entry cluster_rank(.param .u64 out)
{
  .reg .b32 %r<3>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [out];
  mov.u32 %r1, %cluster_ctarank;
  mov.u32 %r2, %ctaid.x;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r2, 4;
  add.s64 %rd4, %rd2, %rd3;
  st.global.u32 [%rd4], %r1;
  ret;
}
)";

} // namespace

TEST_CASE("CUDA discovery finds a device when the driver is present",
          "[gpu][cuda]") {
  if (!loadCudaDriver(defaultCudaLibraries())) {
    WARN("skipped: no CUDA driver on this machine");
    return;
  }
  std::vector<std::string> notes;
  auto devices = discoverDevices(&notes);
  REQUIRE(devices);
  int cuda = 0;
  for (const auto &d : *devices) {
    if (d->kind() != DeviceKind::Cuda)
      continue;
    ++cuda;
    CHECK(!d->name().empty());
    CHECK(d->arch().rfind("sm_", 0) == 0);
    CHECK(d->totalMemoryBytes() > 0);
    CHECK(d->driver().rfind("CUDA ", 0) == 0);
  }
  std::string noted;
  for (const std::string &n : notes)
    noted += n + "\n";
  INFO(noted);
  CHECK(cuda >= 1);
}

TEST_CASE("CUDA memory, streams and events", "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  std::vector<float> source(4096);
  for (size_t i = 0; i < source.size(); ++i)
    source[i] = float(i) - 100.0f;
  const size_t bytes = source.size() * sizeof(float);
  auto buffer = device->allocate(bytes);
  REQUIRE(buffer);
  auto stream = device->createStream();
  auto start = device->createEvent();
  auto end = device->createEvent();
  REQUIRE(stream);
  REQUIRE(start);
  REQUIRE(end);

  REQUIRE(device->record(*start, *stream));
  REQUIRE(device->copyToDevice(*buffer, source.data(), bytes, *stream));
  std::vector<float> back(source.size(), 0.0f);
  REQUIRE(device->copyToHost(back.data(), *buffer, bytes, *stream));
  REQUIRE(device->record(*end, *stream));
  REQUIRE(device->synchronize(*end));
  REQUIRE(device->synchronize(*stream));
  CHECK(back == source);
  auto ms = device->elapsedMs(*start, *end);
  REQUIRE(ms);
  CHECK(*ms >= 0.0f);

  std::vector<float> sync(source.size(), 0.0f);
  REQUIRE(device->copyToHost(sync.data(), *buffer, bytes));
  CHECK(sync == source);

  // Zeroing is queued on the stream like a launch.
  REQUIRE(device->fillZero(*buffer, bytes / 2, *stream));
  REQUIRE(device->copyToHost(sync.data(), *buffer, bytes, *stream));
  REQUIRE(device->synchronize(*stream));
  for (size_t i = 0; i < sync.size(); ++i)
    REQUIRE(sync[i] == (i < sync.size() / 2 ? 0.0f : source[i]));

  CHECK(device->destroyEvent(*start));
  CHECK(device->destroyEvent(*end));
  CHECK(device->destroyStream(*stream));
  CHECK(device->deallocate(*buffer));

  auto huge = device->allocate(size_t(1) << 60);
  REQUIRE(!huge);
  CHECK(contains(huge.message(), "cuMemAlloc failed: CUDA_ERROR_"));
}

TEST_CASE("CUDA loads PTX and launches kernels", "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  auto module = device->loadModule(kBasicPtx, sizeof(kBasicPtx) - 1);
  INFO(module.message());
  REQUIRE(module);

  SECTION("a plain launch") {
    auto addOne = device->getFunction(*module, "add_one");
    REQUIRE(addOne);
    std::vector<float> data(1000);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = float(i);
    const size_t bytes = data.size() * sizeof(float);
    auto buffer = device->allocate(bytes);
    REQUIRE(buffer);
    REQUIRE(device->copyToDevice(*buffer, data.data(), bytes));
    DevicePtr ptr = *buffer;
    uint32_t count = uint32_t(data.size());
    void *params[] = {&ptr, &count};
    LaunchConfig config;
    config.block.x = 128;
    config.grid.x = (count + 127) / 128;
    Status launched = device->launch(*addOne, config, params);
    INFO(launched.message());
    REQUIRE(launched);
    REQUIRE(device->synchronize(Stream{}));
    std::vector<float> back(data.size());
    REQUIRE(device->copyToHost(back.data(), *buffer, bytes));
    for (size_t i = 0; i < back.size(); ++i)
      REQUIRE(back[i] == float(i) + 1.0f);
    CHECK(device->deallocate(*buffer));
  }

  SECTION("dynamic shared memory above 48 KB opts in once") {
    auto reverse = device->getFunction(*module, "reverse_through_shared");
    REQUIRE(reverse);
    // 60 KB: over the 48 KB default, within what sm_70 and later allow.
    const uint32_t sharedBytes = 60 * 1024;
    const uint32_t threads = 64;
    auto out = device->allocate(threads * sizeof(float));
    REQUIRE(out);
    DevicePtr ptr = *out;
    uint32_t words = sharedBytes / 4;
    void *params[] = {&ptr, &words};
    LaunchConfig config;
    config.block.x = threads;
    config.dynamicSharedBytes = sharedBytes;
    for (int repeat = 0; repeat < 3; ++repeat) {
      Status launched = device->launch(*reverse, config, params);
      INFO(launched.message());
      REQUIRE(launched);
    }
    std::vector<float> back(threads);
    REQUIRE(device->copyToHost(back.data(), *out, threads * sizeof(float)));
    for (uint32_t t = 0; t < threads; ++t)
      REQUIRE(back[t] == float(t));
    // Asking the same function through a second handle shares the cache.
    auto again = device->getFunction(*module, "reverse_through_shared");
    REQUIRE(again);
    CHECK(again->handle == reverse->handle);
    CHECK(device->deallocate(*out));
  }

  SECTION("errors name the call and the driver's reason") {
    auto missing = device->getFunction(*module, "no_such_kernel");
    REQUIRE(!missing);
    CHECK(
        contains(missing.message(), "cuModuleGetFunction failed: CUDA_ERROR_"));
    CHECK(contains(missing.message(), "no_such_kernel"));

    const unsigned char garbage[] = {0x7f, 'E', 'L', 'F', 1, 2,  3,  4,
                                     5,    6,   7,   8,   9, 10, 11, 12};
    auto bad = device->loadModule(garbage, sizeof(garbage));
    REQUIRE(!bad);
    INFO(bad.message());
    CHECK(contains(bad.message(), "cuModuleLoadData failed: CUDA_ERROR_"));
    CHECK(contains(bad.message(), " ("));
  }

  CHECK(device->unloadModule(*module));
}

TEST_CASE("CUDA launches thread-block clusters", "[gpu][cuda]") {
  auto device = cudaDeviceOrSkip();
  if (!device)
    return;
  if (!device->features().clusterLaunch) {
    WARN("skipped: " << device->name() << " (" << device->arch() << ", "
                     << device->driver() << ") has no cluster launch");
    return;
  }
  auto module = device->loadModule(kClusterPtx, sizeof(kClusterPtx));
  INFO(module.message());
  REQUIRE(module);
  auto rank = device->getFunction(*module, "cluster_rank");
  REQUIRE(rank);
  const uint32_t blocks = 8;
  auto out = device->allocate(blocks * sizeof(uint32_t));
  REQUIRE(out);
  DevicePtr ptr = *out;
  void *params[] = {&ptr};
  LaunchConfig config;
  config.grid.x = blocks;
  config.cluster.x = 2;
  auto stream = device->createStream();
  REQUIRE(stream);
  config.stream = *stream;
  Status launched = device->launch(*rank, config, params);
  INFO(launched.message());
  REQUIRE(launched);
  REQUIRE(device->synchronize(*stream));
  std::vector<uint32_t> ranks(blocks);
  REQUIRE(device->copyToHost(ranks.data(), *out, blocks * sizeof(uint32_t)));
  for (uint32_t b = 0; b < blocks; ++b)
    CHECK(ranks[b] == b % 2);
  CHECK(device->destroyStream(*stream));
  CHECK(device->deallocate(*out));
  CHECK(device->unloadModule(*module));
}

TEST_CASE("HIP discovery finds a device when the runtime is present",
          "[gpu][hip]") {
  auto runtime = loadHipRuntime(defaultHipLibraries());
  if (!runtime) {
    WARN("skipped, no HIP runtime: " << runtime.message());
    return;
  }
  // Distributions ship libamdhip64 as a plain package, so unlike libcuda its
  // presence does not mean an AMD GPU is there.
  if (auto opened = openHipDevices(*runtime); !opened || opened->empty()) {
    WARN("skipped, the HIP runtime finds no device: "
         << (opened ? std::string("none reported") : opened.message()));
    return;
  }
  auto devices = discoverDevices();
  REQUIRE(devices);
  int hip = 0;
  for (const auto &d : *devices) {
    if (d->kind() != DeviceKind::Hip)
      continue;
    ++hip;
    CHECK(!d->name().empty());
    CHECK(d->arch().rfind("gfx", 0) == 0);
    CHECK(d->totalMemoryBytes() > 0);
  }
  CHECK(hip >= 1);
}
