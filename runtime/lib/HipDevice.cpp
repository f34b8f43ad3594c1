//===- HipDevice.cpp - AMD GPUs through the HIP runtime -------------------===//
//
// libamdhip64 is dlopened (HipSymbols.def lists what we take from it) and the
// HIP headers are not included: they are absent on most machines that run
// skim. The types and constants used are declared below from the HIP API
// reference (https://rocm.docs.amd.com/projects/HIP/, hip_runtime_api.h).
//
// HIP binds a device per thread with hipSetDevice, so every call selects
// this device first; callers may reach one device from several threads.
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/Device.h"

#include "DynamicLibrary.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

using namespace skim::rt;

namespace {

using hipError_t = int;
using hipDevice_t = int;
using hipStream_t = struct ihipStream_t *;
using hipEvent_t = struct ihipEvent_t *;
using hipModule_t = struct ihipModule_t *;
using hipFunction_t = struct ihipModuleSymbol_t *;

constexpr hipError_t kHipSuccess = 0;
// hipMemcpyKind.
constexpr int kMemcpyHostToDevice = 1;
constexpr int kMemcpyDeviceToHost = 2;

// Byte offset of gcnArchName (char[256]) in hipDeviceProp_t, which we read
// without the header. R0600 is the layout of ROCm 6 and later
// (hipGetDevicePropertiesR0600); R0000 that of ROCm 5 (hipGetDeviceProperties).
// Both were computed from hip_runtime_api.h / hip_deprecated.h on x86-64; the
// result is checked to start with "gfx" before it is believed.
constexpr size_t kArchNameOffsetR0600 = 1160;
constexpr size_t kArchNameOffsetR0000 = 396;
// Larger than either layout (1472 and about 800 bytes), so a newer runtime
// that appends fields still writes inside our buffer.
constexpr size_t kPropsBufferBytes = 8192;

} // namespace

struct skim::rt::HipRuntime {
  explicit HipRuntime(DynamicLibrary library) : library(std::move(library)) {}
  DynamicLibrary library;
#define SKIM_HIP_REQUIRED(symbol, ...)                                         \
  std::add_pointer_t<__VA_ARGS__> symbol = nullptr;
#include "HipSymbols.def"
};

std::vector<std::string> skim::rt::defaultHipLibraries() {
  std::vector<std::string> names = {"libamdhip64.so", "libamdhip64.so.6",
                                    "libamdhip64.so.5"};
  // ROCm installs outside the loader's search path; look where it usually
  // lives, and where $ROCM_PATH says it lives.
  if (const char *rocm = std::getenv("ROCM_PATH"); rocm && *rocm)
    names.push_back(std::string(rocm) + "/lib/libamdhip64.so");
  names.push_back("/opt/rocm/lib/libamdhip64.so");
  return names;
}

Expected<std::shared_ptr<HipRuntime>>
skim::rt::loadHipRuntime(const std::vector<std::string> &candidates) {
  Expected<DynamicLibrary> library = DynamicLibrary::open(candidates);
  if (!library)
    return Error{library.message()};
  auto runtime = std::make_shared<HipRuntime>(std::move(*library));
  Status status;
#define SKIM_HIP_REQUIRED(symbol, ...)                                         \
  if (status)                                                                  \
    status = runtime->library.resolve(#symbol, runtime->symbol, true);
#define SKIM_HIP_OPTIONAL(symbol, ...)                                         \
  if (status)                                                                  \
    status = runtime->library.resolve(#symbol, runtime->symbol, false);
#include "HipSymbols.def"
  if (!status)
    return Error{status.message()};
  return runtime;
}

namespace {

/// "CALL failed: hipErrorX (the runtime's description)".
std::string hipError(const HipRuntime &hip, hipError_t result,
                     const char *call) {
  const char *name = hip.hipGetErrorName(result);
  const char *text = hip.hipGetErrorString(result);
  std::string message = std::string(call) + " failed: ";
  message += name ? name : "HIP error " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

/// The gfx target with its feature flags, e.g. "gfx942:sramecc+:xnack-", or
/// "" when no property query of a known layout is exported.
std::string hipArchName(const HipRuntime &hip, int ordinal) {
  struct Query {
    hipError_t (*fn)(void *, int);
    size_t offset;
  };
  const Query queries[] = {
      {hip.hipGetDevicePropertiesR0600, kArchNameOffsetR0600},
      {hip.hipGetDeviceProperties, kArchNameOffsetR0000},
  };
  auto props = std::make_unique<std::max_align_t[]>(kPropsBufferBytes /
                                                    sizeof(std::max_align_t));
  char *bytes = reinterpret_cast<char *>(props.get());
  for (const Query &q : queries) {
    if (!q.fn)
      continue;
    std::memset(bytes, 0, kPropsBufferBytes);
    if (q.fn(bytes, ordinal) != kHipSuccess)
      continue;
    const char *name = bytes + q.offset;
    size_t length = strnlen(name, 256);
    if (length < 256 && std::strncmp(name, "gfx", 3) == 0)
      return std::string(name, length);
  }
  return "";
}

struct HipModule {
  hipModule_t module = nullptr;
  struct Entry {
    std::string name;
    hipFunction_t function;
  };
  std::vector<Entry> functions;
  std::mutex functionsMutex;
};

class HipDevice final : public Device {
public:
  HipDevice(std::shared_ptr<HipRuntime> runtime, int ordinal, std::string name,
            std::string arch, uint64_t memory, std::string version)
      : Device(DeviceKind::Hip, std::move(name), std::move(arch), memory,
               std::move(version)),
        hip(std::move(runtime)), ordinal(ordinal) {}

  Expected<DevicePtr> allocate(size_t bytes) override {
    if (Status s = select(); !s)
      return Error{s.message()};
    void *ptr = nullptr;
    if (hipError_t r = hip->hipMalloc(&ptr, bytes); r != kHipSuccess)
      return Error{hipError(*hip, r, "hipMalloc") + " (" +
                   std::to_string(bytes) + " bytes)"};
    return DevicePtr(reinterpret_cast<uintptr_t>(ptr));
  }

  Status deallocate(DevicePtr ptr) override {
    if (Status s = select(); !s)
      return s;
    return check(hip->hipFree(asPointer(ptr)), "hipFree");
  }

  Status copyToDevice(DevicePtr dst, const void *src, size_t bytes,
                      Stream stream) override {
    if (Status s = select(); !s)
      return s;
    if (stream.handle)
      return check(hip->hipMemcpyAsync(asPointer(dst), src, bytes,
                                       kMemcpyHostToDevice, asStream(stream)),
                   "hipMemcpyAsync");
    return check(
        hip->hipMemcpy(asPointer(dst), src, bytes, kMemcpyHostToDevice),
        "hipMemcpy");
  }

  Status copyToHost(void *dst, DevicePtr src, size_t bytes,
                    Stream stream) override {
    if (Status s = select(); !s)
      return s;
    if (stream.handle)
      return check(hip->hipMemcpyAsync(dst, asPointer(src), bytes,
                                       kMemcpyDeviceToHost, asStream(stream)),
                   "hipMemcpyAsync");
    return check(
        hip->hipMemcpy(dst, asPointer(src), bytes, kMemcpyDeviceToHost),
        "hipMemcpy");
  }

  Status fillZero(DevicePtr dst, size_t bytes, Stream stream) override {
    if (Status s = select(); !s)
      return s;
    return check(hip->hipMemsetAsync(asPointer(dst), 0, bytes, asStream(stream)),
                 "hipMemsetAsync");
  }

  Expected<Stream> createStream() override {
    if (Status s = select(); !s)
      return Error{s.message()};
    hipStream_t stream = nullptr;
    if (hipError_t r = hip->hipStreamCreate(&stream); r != kHipSuccess)
      return Error{hipError(*hip, r, "hipStreamCreate")};
    return Stream{stream};
  }

  Status destroyStream(Stream stream) override {
    if (!stream.handle)
      return Status::ok();
    if (Status s = select(); !s)
      return s;
    return check(hip->hipStreamDestroy(asStream(stream)), "hipStreamDestroy");
  }

  Status synchronize(Stream stream) override {
    if (Status s = select(); !s)
      return s;
    return check(hip->hipStreamSynchronize(asStream(stream)),
                 "hipStreamSynchronize");
  }

  Expected<Event> createEvent() override {
    if (Status s = select(); !s)
      return Error{s.message()};
    hipEvent_t event = nullptr;
    if (hipError_t r = hip->hipEventCreate(&event); r != kHipSuccess)
      return Error{hipError(*hip, r, "hipEventCreate")};
    return Event{event};
  }

  Status destroyEvent(Event event) override {
    if (!event.handle)
      return Status::ok();
    if (Status s = select(); !s)
      return s;
    return check(hip->hipEventDestroy(asEvent(event)), "hipEventDestroy");
  }

  Status record(Event event, Stream stream) override {
    if (Status s = select(); !s)
      return s;
    return check(hip->hipEventRecord(asEvent(event), asStream(stream)),
                 "hipEventRecord");
  }

  Status synchronize(Event event) override {
    if (Status s = select(); !s)
      return s;
    return check(hip->hipEventSynchronize(asEvent(event)),
                 "hipEventSynchronize");
  }

  Expected<float> elapsedMs(Event start, Event end) override {
    if (Status s = select(); !s)
      return Error{s.message()};
    float ms = 0;
    if (hipError_t r =
            hip->hipEventElapsedTime(&ms, asEvent(start), asEvent(end));
        r != kHipSuccess)
      return Error{hipError(*hip, r, "hipEventElapsedTime")};
    return ms;
  }

  Expected<Module> loadModule(const void *image, size_t bytes) override {
    // A code object is an ELF file that carries its own size.
    if (!image || bytes == 0)
      return Error{"hipModuleLoadData: empty module image"};
    if (Status s = select(); !s)
      return Error{s.message()};
    auto module = std::make_unique<HipModule>();
    if (hipError_t r = hip->hipModuleLoadData(&module->module, image);
        r != kHipSuccess)
      return Error{hipError(*hip, r, "hipModuleLoadData")};
    return Module{module.release()};
  }

  Status unloadModule(Module handle) override {
    auto *module = static_cast<HipModule *>(handle.handle);
    if (!module)
      return Status::ok();
    if (Status s = select(); !s)
      return s;
    Status status =
        check(hip->hipModuleUnload(module->module), "hipModuleUnload");
    delete module;
    return status;
  }

  Expected<Function> getFunction(Module handle,
                                 const std::string &name) override {
    auto *module = static_cast<HipModule *>(handle.handle);
    if (!module)
      return Error{"hipModuleGetFunction: null module"};
    std::lock_guard<std::mutex> lock(module->functionsMutex);
    for (const HipModule::Entry &e : module->functions)
      if (e.name == name)
        return Function{e.function};
    if (Status s = select(); !s)
      return Error{s.message()};
    hipFunction_t function = nullptr;
    if (hipError_t r =
            hip->hipModuleGetFunction(&function, module->module, name.c_str());
        r != kHipSuccess)
      return Error{hipError(*hip, r, "hipModuleGetFunction") + ": '" + name +
                   "'"};
    module->functions.push_back({name, function});
    return Function{function};
  }

  Status launch(Function handle, const LaunchConfig &config,
                void **params) override {
    auto function = static_cast<hipFunction_t>(handle.handle);
    if (!function)
      return Error{"launch: null function"};
    if (config.cluster.count() > 1)
      return Error{"cluster launch is a CUDA feature; HIP launches have no "
                   "thread-block clusters"};
    if (Status s = select(); !s)
      return s;
    // No shared-memory opt-in as on CUDA: a module kernel may use the
    // device's whole LDS, and the runtime checks the size at launch.
    return check(hip->hipModuleLaunchKernel(
                     function, config.grid.x, config.grid.y, config.grid.z,
                     config.block.x, config.block.y, config.block.z,
                     config.dynamicSharedBytes, asStream(config.stream), params,
                     nullptr),
                 "hipModuleLaunchKernel");
  }

private:
  static hipStream_t asStream(Stream s) {
    return static_cast<hipStream_t>(s.handle);
  }
  static hipEvent_t asEvent(Event e) {
    return static_cast<hipEvent_t>(e.handle);
  }
  static void *asPointer(DevicePtr p) {
    return reinterpret_cast<void *>(uintptr_t(p));
  }

  Status check(hipError_t result, const char *call) const {
    if (result == kHipSuccess)
      return Status::ok();
    return Error{hipError(*hip, result, call)};
  }

  Status select() const {
    return check(hip->hipSetDevice(ordinal), "hipSetDevice");
  }

  std::shared_ptr<HipRuntime> hip;
  int ordinal;
};

} // namespace

Expected<std::vector<std::unique_ptr<Device>>>
skim::rt::openHipDevices(const std::shared_ptr<HipRuntime> &runtime) {
  const HipRuntime &h = *runtime;
  // Name the library too: with several ROCm versions installed, which one
  // answered is half of the diagnosis.
  auto fail = [&](hipError_t r, const char *call) {
    return Error{hipError(h, r, call) + " (library: " + h.library.path() + ")"};
  };
  if (hipError_t r = h.hipInit(0); r != kHipSuccess)
    return fail(r, "hipInit");
  int version = 0;
  if (hipError_t r = h.hipRuntimeGetVersion(&version); r != kHipSuccess)
    return fail(r, "hipRuntimeGetVersion");
  // HIP_VERSION = major * 10^7 + minor * 10^5 + patch.
  std::string versionText = "HIP " + std::to_string(version / 10000000) + "." +
                            std::to_string(version / 100000 % 100) + "." +
                            std::to_string(version % 100000);
  int count = 0;
  if (hipError_t r = h.hipGetDeviceCount(&count); r != kHipSuccess)
    return fail(r, "hipGetDeviceCount");

  std::vector<std::unique_ptr<Device>> devices;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    hipDevice_t device = 0;
    if (hipError_t r = h.hipDeviceGet(&device, ordinal); r != kHipSuccess)
      return fail(r, "hipDeviceGet");
    char name[256] = {};
    if (hipError_t r = h.hipDeviceGetName(name, sizeof(name) - 1, device);
        r != kHipSuccess)
      return fail(r, "hipDeviceGetName");
    size_t memory = 0;
    if (hipError_t r = h.hipDeviceTotalMem(&memory, device); r != kHipSuccess)
      return fail(r, "hipDeviceTotalMem");
    // Without the gfx name nothing can be compiled for it, but the device
    // still lists, so `skim info` shows what is there.
    std::string arch = hipArchName(h, ordinal);
    if (arch.empty())
      arch = "unknown";
    devices.push_back(std::make_unique<HipDevice>(
        runtime, ordinal, name, std::move(arch), memory, versionText));
  }
  return devices;
}
