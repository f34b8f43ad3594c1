//===- CudaDevice.cpp - NVIDIA GPUs through the CUDA driver API -----------===//
//
// The driver is dlopened (CudaSymbols.def lists what we take from it), and
// cuda.h is not included: it is absent on most machines that run skim. The
// few types and constants used are declared below with the driver API
// documentation they come from
// (https://docs.nvidia.com/cuda/cuda-driver-api/, "Data types used by CUDA
// driver"); they have been ABI-stable since the calls that use them appeared.
//
// Every call makes the device's primary context current first, because
// contexts are per thread and callers (autotuner workers, a Python thread)
// may reach one device from several threads.
//
//===----------------------------------------------------------------------===//

#include "skim/runtime/Device.h"

#include "DynamicLibrary.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <type_traits>

using namespace skim::rt;

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;

constexpr CUresult kCudaSuccess = 0;

// CUdevice_attribute.
constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;
// CUfunction_attribute: CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
constexpr int kFuncAttrMaxDynamicSharedBytes = 8;
// CUlaunchAttributeID: CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION.
constexpr int kLaunchAttrClusterDimension = 4;
// CU_STREAM_DEFAULT: our streams still order against the legacy default
// stream, so synchronous copies and stream launches cannot overtake each
// other.
constexpr unsigned kStreamDefault = 0;
// CU_EVENT_DEFAULT: with timing, since events exist here to time kernels.
constexpr unsigned kEventDefault = 0;
// A kernel may use this much dynamic shared memory without opting in
// (cuFuncSetAttribute documentation, MAX_DYNAMIC_SHARED_SIZE_BYTES).
constexpr uint32_t kSharedBytesWithoutOptIn = 48 * 1024;

// cuTensorMapEncodeTiled's enums: CUtensorMapDataType, CUtensorMapInterleave,
// CUtensorMapL2promotion, CUtensorMapFloatOOBfill (CUtensorMapSwizzle's
// NONE, 32B, 64B, 128B are 0-3, as skim::rt::Swizzle). Rank 5 at most.
constexpr int kTensorMapInt32 = 3;
constexpr int kTensorMapFloat16 = 6;
constexpr int kTensorMapFloat32 = 7;
constexpr int kTensorMapBFloat16 = 9;
constexpr int kTensorMapInterleaveNone = 0;
constexpr int kTensorMapL2Promotion128B = 2;
constexpr int kTensorMapOobFillZero = 0;
constexpr size_t kMaxTensorMapRank = 5;
static_assert(int(Swizzle::None) == 0 && int(Swizzle::B32) == 1 &&
                  int(Swizzle::B64) == 2 && int(Swizzle::B128) == 3,
              "Swizzle is passed to the driver as CUtensorMapSwizzle");

// CUlaunchAttribute: the id, padding to 8 bytes, a 64-byte value union.
struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char pad[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};
static_assert(sizeof(CUlaunchAttribute) == 72, "CUlaunchAttribute layout");

struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};
static_assert(sizeof(CUlaunchConfig) == 56, "CUlaunchConfig layout");

} // namespace

struct skim::rt::CudaDriver {
  explicit CudaDriver(DynamicLibrary library) : library(std::move(library)) {}
  DynamicLibrary library;
#define SKIM_CUDA_REQUIRED(symbol, ...)                                        \
  std::add_pointer_t<__VA_ARGS__> symbol = nullptr;
#include "CudaSymbols.def"
};

std::vector<std::string> skim::rt::defaultCudaLibraries() {
  // libcuda.so is the unversioned development link; some containers only
  // mount that one.
  return {"libcuda.so.1", "libcuda.so"};
}

Expected<std::shared_ptr<CudaDriver>>
skim::rt::loadCudaDriver(const std::vector<std::string> &candidates) {
  Expected<DynamicLibrary> library = DynamicLibrary::open(candidates);
  if (!library)
    return Error{library.message()};
  auto driver = std::make_shared<CudaDriver>(std::move(*library));
  Status status;
#define SKIM_CUDA_REQUIRED(symbol, ...)                                        \
  if (status)                                                                  \
    status = driver->library.resolve(#symbol, driver->symbol, true);
#define SKIM_CUDA_OPTIONAL(symbol, ...)                                        \
  if (status)                                                                  \
    status = driver->library.resolve(#symbol, driver->symbol, false);
#include "CudaSymbols.def"
  if (!status)
    return Error{status.message()};
  return driver;
}

namespace {

/// "CALL failed: CUDA_ERROR_X (the driver's description)".
std::string cudaError(const CudaDriver &driver, CUresult result,
                      const char *call) {
  const char *name = nullptr;
  const char *text = nullptr;
  if (driver.cuGetErrorName(result, &name) != kCudaSuccess || !name)
    name = nullptr;
  if (driver.cuGetErrorString(result, &text) != kCudaSuccess || !text)
    text = nullptr;
  std::string message = std::string(call) + " failed: ";
  message += name ? name : "CUDA error " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

/// A function and what we have told the driver about it. The shared-memory
/// opt-in is remembered so the launch path asks the driver once, not on every
/// launch; the mutex is taken only when a launch needs more than before.
struct CudaFunction {
  CUfunction function = nullptr;
  std::string name;
  std::atomic<uint32_t> sharedBytesAllowed{kSharedBytesWithoutOptIn};
  std::mutex optInMutex;
};

struct CudaModule {
  CUmodule module = nullptr;
  // unique_ptr: Function handles point at the records, so they must not move.
  std::vector<std::unique_ptr<CudaFunction>> functions;
  std::mutex functionsMutex;
};

class CudaDevice final : public Device {
public:
  CudaDevice(std::shared_ptr<CudaDriver> driver, CUdevice device,
             CUcontext context, std::string name, std::string arch,
             uint64_t memory, std::string version, int ccMajor)
      : Device(DeviceKind::Cuda, std::move(name), std::move(arch), memory,
               std::move(version)),
        drv(std::move(driver)), device(device), context(context),
        ccMajor(ccMajor) {}

  ~CudaDevice() override { drv->cuDevicePrimaryCtxRelease_v2(device); }

  DeviceFeatures features() const override {
    DeviceFeatures f;
    f.clusterLaunch = drv->cuLaunchKernelEx && ccMajor >= 9;
    f.tensorMaps = drv->cuTensorMapEncodeTiled != nullptr;
    return f;
  }

  Expected<DevicePtr> allocate(size_t bytes) override {
    if (Status s = makeCurrent(); !s)
      return Error{s.message()};
    CUdeviceptr ptr = 0;
    if (CUresult r = drv->cuMemAlloc_v2(&ptr, bytes); r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuMemAlloc") + " (" +
                   std::to_string(bytes) + " bytes)"};
    return DevicePtr(ptr);
  }

  Status deallocate(DevicePtr ptr) override {
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuMemFree_v2(ptr), "cuMemFree");
  }

  Status copyToDevice(DevicePtr dst, const void *src, size_t bytes,
                      Stream stream) override {
    if (Status s = makeCurrent(); !s)
      return s;
    if (stream.handle)
      return check(drv->cuMemcpyHtoDAsync_v2(dst, src, bytes, asStream(stream)),
                   "cuMemcpyHtoDAsync");
    return check(drv->cuMemcpyHtoD_v2(dst, src, bytes), "cuMemcpyHtoD");
  }

  Status copyToHost(void *dst, DevicePtr src, size_t bytes,
                    Stream stream) override {
    if (Status s = makeCurrent(); !s)
      return s;
    if (stream.handle)
      return check(drv->cuMemcpyDtoHAsync_v2(dst, src, bytes, asStream(stream)),
                   "cuMemcpyDtoHAsync");
    return check(drv->cuMemcpyDtoH_v2(dst, src, bytes), "cuMemcpyDtoH");
  }

  Status fillZero(DevicePtr dst, size_t bytes, Stream stream) override {
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuMemsetD8Async(dst, 0, bytes, asStream(stream)),
                 "cuMemsetD8Async");
  }

  Expected<Stream> createStream() override {
    if (Status s = makeCurrent(); !s)
      return Error{s.message()};
    CUstream stream = nullptr;
    if (CUresult r = drv->cuStreamCreate(&stream, kStreamDefault);
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuStreamCreate")};
    return Stream{stream};
  }

  Status destroyStream(Stream stream) override {
    if (!stream.handle)
      return Status::ok();
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuStreamDestroy_v2(asStream(stream)), "cuStreamDestroy");
  }

  Status synchronize(Stream stream) override {
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuStreamSynchronize(asStream(stream)),
                 "cuStreamSynchronize");
  }

  Expected<Event> createEvent() override {
    if (Status s = makeCurrent(); !s)
      return Error{s.message()};
    CUevent event = nullptr;
    if (CUresult r = drv->cuEventCreate(&event, kEventDefault);
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuEventCreate")};
    return Event{event};
  }

  Status destroyEvent(Event event) override {
    if (!event.handle)
      return Status::ok();
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuEventDestroy_v2(asEvent(event)), "cuEventDestroy");
  }

  Status record(Event event, Stream stream) override {
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuEventRecord(asEvent(event), asStream(stream)),
                 "cuEventRecord");
  }

  Status synchronize(Event event) override {
    if (Status s = makeCurrent(); !s)
      return s;
    return check(drv->cuEventSynchronize(asEvent(event)), "cuEventSynchronize");
  }

  Expected<float> elapsedMs(Event start, Event end) override {
    if (Status s = makeCurrent(); !s)
      return Error{s.message()};
    float ms = 0;
    if (CUresult r = drv->cuEventElapsedTime(&ms, asEvent(start), asEvent(end));
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuEventElapsedTime")};
    return ms;
  }

  Expected<Module> loadModule(const void *image, size_t bytes) override {
    if (!image || bytes == 0)
      return Error{"cuModuleLoadData: empty module image"};
    if (Status s = makeCurrent(); !s)
      return Error{s.message()};
    // cubins and fatbins carry their size in their headers; PTX is text the
    // driver reads up to a NUL, which our (pointer, size) image may lack.
    static constexpr unsigned char kElfMagic[] = {0x7f, 'E', 'L', 'F'};
    static constexpr unsigned char kFatbinMagic[] = {0x50, 0xed, 0x55, 0xba};
    const auto *data = static_cast<const unsigned char *>(image);
    bool binary = bytes >= 4 && (std::memcmp(data, kElfMagic, 4) == 0 ||
                                 std::memcmp(data, kFatbinMagic, 4) == 0);
    std::string text;
    if (!binary && data[bytes - 1] != '\0') {
      text.assign(static_cast<const char *>(image), bytes);
      image = text.c_str();
    }
    auto module = std::make_unique<CudaModule>();
    if (CUresult r = drv->cuModuleLoadData(&module->module, image);
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuModuleLoadData")};
    return Module{module.release()};
  }

  Status unloadModule(Module handle) override {
    auto *module = static_cast<CudaModule *>(handle.handle);
    if (!module)
      return Status::ok();
    if (Status s = makeCurrent(); !s)
      return s;
    Status status =
        check(drv->cuModuleUnload(module->module), "cuModuleUnload");
    delete module;
    return status;
  }

  Expected<Function> getFunction(Module handle,
                                 const std::string &name) override {
    auto *module = static_cast<CudaModule *>(handle.handle);
    if (!module)
      return Error{"cuModuleGetFunction: null module"};
    std::lock_guard<std::mutex> lock(module->functionsMutex);
    // One record per name, so the opt-in cache is shared by every handle.
    for (const auto &f : module->functions)
      if (f->name == name)
        return Function{f.get()};
    if (Status s = makeCurrent(); !s)
      return Error{s.message()};
    auto record = std::make_unique<CudaFunction>();
    record->name = name;
    if (CUresult r = drv->cuModuleGetFunction(&record->function, module->module,
                                              name.c_str());
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuModuleGetFunction") + ": '" + name +
                   "'"};
    module->functions.push_back(std::move(record));
    return Function{module->functions.back().get()};
  }

  Status launch(Function handle, const LaunchConfig &config,
                void **params) override {
    auto *function = static_cast<CudaFunction *>(handle.handle);
    if (!function)
      return Error{"launch: null function"};
    if (Status s = makeCurrent(); !s)
      return s;
    if (Status s = allowSharedBytes(*function, config.dynamicSharedBytes); !s)
      return s;

    if (config.cluster.count() <= 1)
      return check(
          drv->cuLaunchKernel(function->function, config.grid.x, config.grid.y,
                              config.grid.z, config.block.x, config.block.y,
                              config.block.z, config.dynamicSharedBytes,
                              asStream(config.stream), params, nullptr),
          "cuLaunchKernel");

    if (!drv->cuLaunchKernelEx)
      return Error{"cluster launch needs cuLaunchKernelEx, absent from this "
                   "driver (" +
                   driver() + ")"};
    CUlaunchAttribute attribute;
    std::memset(&attribute, 0, sizeof(attribute));
    attribute.id = kLaunchAttrClusterDimension;
    attribute.value.clusterDim = {config.cluster.x, config.cluster.y,
                                  config.cluster.z};
    CUlaunchConfig launch;
    std::memset(&launch, 0, sizeof(launch));
    launch.gridDimX = config.grid.x;
    launch.gridDimY = config.grid.y;
    launch.gridDimZ = config.grid.z;
    launch.blockDimX = config.block.x;
    launch.blockDimY = config.block.y;
    launch.blockDimZ = config.block.z;
    launch.sharedMemBytes = config.dynamicSharedBytes;
    launch.hStream = asStream(config.stream);
    launch.attrs = &attribute;
    launch.numAttrs = 1;
    return check(
        drv->cuLaunchKernelEx(&launch, function->function, params, nullptr),
        "cuLaunchKernelEx");
  }

  Status encodeTensorMap(TensorMap &map, const TensorMapSpec &spec) override {
    if (!drv->cuTensorMapEncodeTiled)
      return Error{"TMA descriptors need cuTensorMapEncodeTiled (CUDA 12.0), "
                   "absent from this driver (" +
                   driver() + ")"};
    const size_t rank = spec.shape.size();
    if (rank < 1 || rank > kMaxTensorMapRank)
      return Error{"a TMA descriptor has rank 1 to 5, not " +
                   std::to_string(rank)};
    if (spec.strides.size() != rank || spec.box.size() != rank)
      return Error{"a TMA descriptor needs one stride and one box size per "
                   "dim (rank " +
                   std::to_string(rank) + ")"};
    int dataType = -1;
    switch (spec.dtype) {
    case DType::F32: dataType = kTensorMapFloat32; break;
    case DType::BF16: dataType = kTensorMapBFloat16; break;
    case DType::F16: dataType = kTensorMapFloat16; break;
    case DType::I32: dataType = kTensorMapInt32; break;
    }
    if (dataType < 0)
      return Error{"a TMA descriptor over an unknown element type"};
    const uint64_t elementBytes = dtypeSize(spec.dtype);
    std::string what = describeTensorMap(spec);
    // The driver counts dims innermost first; ours are innermost last.
    uint64_t dims[kMaxTensorMapRank], strides[kMaxTensorMapRank];
    uint32_t box[kMaxTensorMapRank], elementStrides[kMaxTensorMapRank];
    for (size_t j = 0; j < rank; ++j) {
      size_t d = rank - 1 - j;
      if (spec.shape[d] < 1)
        return Error{"a TMA descriptor cannot span an empty or negative dim: " +
                     what};
      if (spec.box[d] < 1 || spec.box[d] > int64_t(UINT32_MAX))
        return Error{"a TMA descriptor's box sizes must be positive: " + what};
      if (spec.strides[d] < 0)
        return Error{"a TMA descriptor cannot have negative strides: " + what};
      dims[j] = uint64_t(spec.shape[d]);
      box[j] = uint32_t(spec.box[d]);
      elementStrides[j] = 1;
      // A size-1 dim's stride is never followed, and frameworks report any
      // value there (PyTorch: often 1); the driver still wants a multiple
      // of 16 bytes, so give it the dense one.
      if (j > 0)
        strides[j - 1] =
            spec.shape[d] == 1
                ? (j > 1 ? strides[j - 2] : elementBytes) * dims[j - 1]
                : uint64_t(spec.strides[d]) * elementBytes;
    }
    if (spec.strides[rank - 1] != 1 && spec.shape[rank - 1] != 1)
      return Error{"a TMA descriptor needs unit stride in the innermost dim: " +
                   what};
    if (Status s = makeCurrent(); !s)
      return s;
    int swizzle = int(spec.swizzle); // Swizzle matches CUtensorMapSwizzle
    if (CUresult r = drv->cuTensorMapEncodeTiled(
            map.bytes, dataType, uint32_t(rank),
            reinterpret_cast<void *>(uintptr_t(spec.base)), dims, strides, box,
            elementStrides, kTensorMapInterleaveNone, swizzle,
            kTensorMapL2Promotion128B, kTensorMapOobFillZero);
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuTensorMapEncodeTiled") + ": " + what};
    return Status::ok();
  }

private:
  /// "f32 [64, 128] strides [128, 1] box [64, 64] swizzle 128 at 0x...".
  static std::string describeTensorMap(const TensorMapSpec &spec) {
    auto list = [](const std::vector<int64_t> &v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    };
    char address[32];
    std::snprintf(address, sizeof(address), "0x%llx",
                  static_cast<unsigned long long>(spec.base));
    return std::string(dtypeName(spec.dtype)) + " " + list(spec.shape) +
           " strides " + list(spec.strides) + " box " + list(spec.box) +
           " swizzle " + swizzleName(spec.swizzle) + " at " + address;
  }

  static CUstream asStream(Stream s) { return static_cast<CUstream>(s.handle); }
  static CUevent asEvent(Event e) { return static_cast<CUevent>(e.handle); }

  Status check(CUresult result, const char *call) const {
    if (result == kCudaSuccess)
      return Status::ok();
    return Error{cudaError(*drv, result, call)};
  }

  Status makeCurrent() const {
    return check(drv->cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }

  /// Kernels get 48 KB of dynamic shared memory unless they opt in to more.
  Status allowSharedBytes(CudaFunction &function, uint32_t bytes) {
    if (bytes <= function.sharedBytesAllowed.load(std::memory_order_acquire))
      return Status::ok();
    std::lock_guard<std::mutex> lock(function.optInMutex);
    if (bytes <= function.sharedBytesAllowed.load(std::memory_order_relaxed))
      return Status::ok();
    if (CUresult r = drv->cuFuncSetAttribute(
            function.function, kFuncAttrMaxDynamicSharedBytes, int(bytes));
        r != kCudaSuccess)
      return Error{cudaError(*drv, r, "cuFuncSetAttribute") + " (" +
                   std::to_string(bytes) + " bytes of dynamic shared memory" +
                   " for '" + function.name + "')"};
    function.sharedBytesAllowed.store(bytes, std::memory_order_release);
    return Status::ok();
  }

  std::shared_ptr<CudaDriver> drv;
  CUdevice device;
  CUcontext context;
  int ccMajor;
};

} // namespace

Expected<std::vector<std::unique_ptr<Device>>>
skim::rt::openCudaDevices(const std::shared_ptr<CudaDriver> &driver) {
  const CudaDriver &d = *driver;
  // Name the library too: with several drivers installed, which one
  // answered is half of the diagnosis.
  auto fail = [&](CUresult r, const char *call) {
    return Error{cudaError(d, r, call) + " (library: " + d.library.path() +
                 ")"};
  };
  if (CUresult r = d.cuInit(0); r != kCudaSuccess)
    return fail(r, "cuInit");
  int version = 0;
  if (CUresult r = d.cuDriverGetVersion(&version); r != kCudaSuccess)
    return fail(r, "cuDriverGetVersion");
  std::string versionText = "CUDA " + std::to_string(version / 1000) + "." +
                            std::to_string(version % 1000 / 10);
  int count = 0;
  if (CUresult r = d.cuDeviceGetCount(&count); r != kCudaSuccess)
    return fail(r, "cuDeviceGetCount");

  std::vector<std::unique_ptr<Device>> devices;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    CUdevice device = 0;
    if (CUresult r = d.cuDeviceGet(&device, ordinal); r != kCudaSuccess)
      return fail(r, "cuDeviceGet");
    char name[256] = {};
    if (CUresult r = d.cuDeviceGetName(name, sizeof(name) - 1, device);
        r != kCudaSuccess)
      return fail(r, "cuDeviceGetName");
    int major = 0, minor = 0;
    if (CUresult r =
            d.cuDeviceGetAttribute(&major, kAttrComputeCapabilityMajor, device);
        r != kCudaSuccess)
      return fail(r, "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
    if (CUresult r =
            d.cuDeviceGetAttribute(&minor, kAttrComputeCapabilityMinor, device);
        r != kCudaSuccess)
      return fail(r, "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
    size_t memory = 0;
    if (CUresult r = d.cuDeviceTotalMem_v2(&memory, device); r != kCudaSuccess)
      return fail(r, "cuDeviceTotalMem");
    CUcontext context = nullptr;
    if (CUresult r = d.cuDevicePrimaryCtxRetain(&context, device);
        r != kCudaSuccess)
      return fail(r, "cuDevicePrimaryCtxRetain");
    std::string arch = "sm_" + std::to_string(major) + std::to_string(minor);
    devices.push_back(std::make_unique<CudaDevice>(driver, device, context,
                                                   name, std::move(arch),
                                                   memory, versionText, major));
  }
  return devices;
}
