//===- CpuDevice.cpp - the host as a Device, and device discovery ---------===//
//
// The CPU device is always there, so discovery lives with it. Its memory is
// host memory and its streams and events are host objects: work on the CPU
// finishes before the call that queued it returns, so an event records the
// moment it is reached and "synchronize" has nothing to wait for.
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/Device.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/utsname.h>
#include <unistd.h>

using namespace skim::rt;

//===----------------------------------------------------------------------===//
// Device
//===----------------------------------------------------------------------===//

Device::Device(DeviceKind kind, std::string name, std::string arch,
               uint64_t totalMemory, std::string driver)
    : kind_(kind), name_(std::move(name)), arch_(std::move(arch)),
      totalMemory_(totalMemory), driver_(std::move(driver)) {}

Device::~Device() = default;

Status Device::encodeTensorMap(TensorMap &, const TensorMapSpec &) {
  return Error{std::string("TMA descriptors need a CUDA device; this is a ") +
               deviceKindName(kind()) + " device (" + name() + ")"};
}

const char *skim::rt::deviceKindName(DeviceKind kind) {
  switch (kind) {
  case DeviceKind::Cpu:
    return "cpu";
  case DeviceKind::Cuda:
    return "cuda";
  case DeviceKind::Hip:
    return "hip";
  }
  return "unknown";
}

//===----------------------------------------------------------------------===//
// CpuDevice
//===----------------------------------------------------------------------===//

namespace {

using Clock = std::chrono::steady_clock;

// Cache-line alignment: what vector loads in the kernels want, and what
// keeps two buffers from sharing a line between worker threads.
constexpr size_t kCpuAlignment = 64;

struct CpuStream {};

struct CpuEvent {
  Clock::time_point time;
  bool recorded = false;
};

/// "model name" from /proc/cpuinfo; x86 and most arm64 kernels print it.
std::string cpuModelName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0)
      continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    size_t begin = line.find_first_not_of(" \t", colon + 1);
    if (begin != std::string::npos)
      return line.substr(begin);
  }
  return "";
}

class CpuDevice final : public Device {
public:
  CpuDevice(std::string name, std::string arch, uint64_t memory,
            std::string driver)
      : Device(DeviceKind::Cpu, std::move(name), std::move(arch), memory,
               std::move(driver)) {}

  Expected<DevicePtr> allocate(size_t bytes) override {
    // aligned_alloc wants a multiple of the alignment, and a zero-byte
    // buffer should still be a distinct, freeable address.
    size_t rounded = (std::max<size_t>(bytes, 1) + kCpuAlignment - 1) /
                     kCpuAlignment * kCpuAlignment;
    if (rounded < bytes)
      return Error{"allocate: " + std::to_string(bytes) + " bytes overflows"};
    void *ptr = std::aligned_alloc(kCpuAlignment, rounded);
    if (!ptr)
      return Error{"allocate: out of host memory (" + std::to_string(bytes) +
                   " bytes)"};
    return DevicePtr(reinterpret_cast<uintptr_t>(ptr));
  }

  Status deallocate(DevicePtr ptr) override {
    std::free(asPointer(ptr));
    return Status::ok();
  }

  Status copyToDevice(DevicePtr dst, const void *src, size_t bytes,
                      Stream) override {
    if (bytes)
      std::memcpy(asPointer(dst), src, bytes);
    return Status::ok();
  }

  Status copyToHost(void *dst, DevicePtr src, size_t bytes, Stream) override {
    if (bytes)
      std::memcpy(dst, asPointer(src), bytes);
    return Status::ok();
  }

  Status fillZero(DevicePtr dst, size_t bytes, Stream) override {
    if (bytes)
      std::memset(asPointer(dst), 0, bytes);
    return Status::ok();
  }

  Expected<Stream> createStream() override { return Stream{new CpuStream()}; }

  Status destroyStream(Stream stream) override {
    delete static_cast<CpuStream *>(stream.handle);
    return Status::ok();
  }

  Status synchronize(Stream) override { return Status::ok(); }

  Expected<Event> createEvent() override { return Event{new CpuEvent()}; }

  Status destroyEvent(Event event) override {
    delete static_cast<CpuEvent *>(event.handle);
    return Status::ok();
  }

  Status record(Event event, Stream) override {
    auto *e = static_cast<CpuEvent *>(event.handle);
    if (!e)
      return Error{"record: null event"};
    e->time = Clock::now();
    e->recorded = true;
    return Status::ok();
  }

  Status synchronize(Event event) override {
    if (!event.handle)
      return Error{"synchronize: null event"};
    return Status::ok();
  }

  Expected<float> elapsedMs(Event start, Event end) override {
    auto *a = static_cast<CpuEvent *>(start.handle);
    auto *b = static_cast<CpuEvent *>(end.handle);
    if (!a || !b || !a->recorded || !b->recorded)
      return Error{"elapsedMs: both events must have been recorded"};
    return std::chrono::duration<float, std::milli>(b->time - a->time).count();
  }

  Expected<Module> loadModule(const void *, size_t) override {
    return Error{notOnCpu()};
  }
  Status unloadModule(Module) override { return Error{notOnCpu()}; }
  Expected<Function> getFunction(Module, const std::string &) override {
    return Error{notOnCpu()};
  }
  Status launch(Function, const LaunchConfig &, void **) override {
    return Error{notOnCpu()};
  }

private:
  static void *asPointer(DevicePtr p) {
    return reinterpret_cast<void *>(uintptr_t(p));
  }
  static std::string notOnCpu() {
    return "the CPU device runs artifacts through CpuExecutable, which "
           "loads their kernel shared object; it has no binary modules";
  }
};

} // namespace

std::unique_ptr<Device> skim::rt::openCpuDevice() {
  struct utsname host = {};
  bool haveUname = uname(&host) == 0;
  std::string machine = haveUname ? host.machine : "host";
  std::string name = cpuModelName();
  if (name.empty())
    name = "host CPU (" + machine + ")";
  std::string driver =
      haveUname ? std::string(host.sysname) + " " + host.release : "";
  long pages = sysconf(_SC_PHYS_PAGES);
  long pageSize = sysconf(_SC_PAGESIZE);
  uint64_t memory =
      pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : 0;
  return std::make_unique<CpuDevice>(std::move(name), std::move(machine),
                                     memory, std::move(driver));
}

//===----------------------------------------------------------------------===//
// Discovery
//===----------------------------------------------------------------------===//

namespace {

/// Appends a backend's devices, or notes why there are none. `load` and
/// `open` are loadCudaDriver/openCudaDevices or their HIP twins.
template <typename Load, typename Open>
void discoverBackend(const char *label, std::vector<std::string> candidates,
                     Load load, Open open,
                     std::vector<std::unique_ptr<Device>> &devices,
                     std::vector<std::string> *notes) {
  auto note = [&](const std::string &line) {
    if (notes)
      notes->push_back(std::string(label) + ": " + line);
  };
  auto library = load(candidates);
  if (!library) {
    note("not available: " + library.message());
    return;
  }
  auto found = open(*library);
  if (!found) {
    note("not available: " + found.message());
    return;
  }
  if (found->empty()) {
    note("not available: the driver loaded but reports no devices");
    return;
  }
  for (std::unique_ptr<Device> &device : *found)
    devices.push_back(std::move(device));
}

} // namespace

Expected<std::vector<std::unique_ptr<Device>>>
skim::rt::discoverDevices(std::vector<std::string> *notes) {
  std::vector<std::unique_ptr<Device>> devices;
  devices.push_back(openCpuDevice());
  discoverBackend("CUDA", defaultCudaLibraries(), loadCudaDriver,
                  openCudaDevices, devices, notes);
  discoverBackend("HIP", defaultHipLibraries(), loadHipRuntime, openHipDevices,
                  devices, notes);
  return devices;
}
