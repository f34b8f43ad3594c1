//===- Device.h - one interface over CPU, CUDA and HIP devices --*- C++ -*-===//
//
// A Device is what the runtime and the autotuner talk to: identity (kind,
// name, arch, memory, driver), memory, streams, events, and for GPUs binary
// modules and launches. The CUDA and HIP backends reach their drivers through
// dlopen, so a binary built here runs on a machine without either: a missing
// library or device becomes a note from discoverDevices(), never a crash.
//
// Handles (Stream, Event, Module, Function) are the backend's objects behind
// a pointer; they belong to the device that made them and must be released
// before it is destroyed. A null Stream is the device's default stream.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_DEVICE_H
#define SKIM_RUNTIME_DEVICE_H

#include "skim/runtime/Plan.h"
#include "skim/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace skim::rt {

enum class DeviceKind { Cpu, Cuda, Hip };

/// "cpu", "cuda" or "hip".
const char *deviceKindName(DeviceKind kind);

/// A device address. 64 bits on every backend, so a kernel parameter slot
/// that points at one has the same size whatever the device.
using DevicePtr = uint64_t;

struct Stream {
  void *handle = nullptr;
};
struct Event {
  void *handle = nullptr;
};
struct Module {
  void *handle = nullptr;
};
/// Owned by its Module: valid until the module is unloaded.
struct Function {
  void *handle = nullptr;
};

struct Dim3 {
  uint32_t x = 1, y = 1, z = 1;
  uint64_t count() const { return uint64_t(x) * y * z; }
};

struct LaunchConfig {
  Dim3 grid;
  Dim3 block;
  /// Thread-block cluster shape (CUDA, sm_90 and later). 1x1x1 launches
  /// without clusters; anything larger goes through cuLaunchKernelEx.
  Dim3 cluster;
  uint32_t dynamicSharedBytes = 0;
  Stream stream;
};

/// A TMA descriptor (CUtensorMap): 128 opaque bytes that the host encodes and
/// a kernel receives by value (a 128-byte, 64-byte-aligned parameter) or
/// through a pointer to device memory.
struct alignas(128) TensorMap {
  unsigned char bytes[128] = {};
};
static_assert(sizeof(TensorMap) == 128, "a CUtensorMap is 128 bytes");

/// What to encode: a tiled view of a strided tensor in device memory, loaded
/// box by box. Shapes, strides and the box are in the buffer's dim order
/// (outermost first, innermost last, as in memrefs and TensorViews); the
/// encoder reverses them into the driver's innermost-first order.
struct TensorMapSpec {
  DevicePtr base = 0;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides; // in elements; the innermost must be 1
  std::vector<int64_t> box;
  Swizzle swizzle = Swizzle::None;
};

/// What this device and its driver can do beyond the basics.
struct DeviceFeatures {
  /// Thread-block clusters: sm_90+ and a driver exporting cuLaunchKernelEx.
  bool clusterLaunch = false;
  /// TMA descriptors: a driver exporting cuTensorMapEncodeTiled.
  bool tensorMaps = false;
};

class Device {
public:
  virtual ~Device();
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  DeviceKind kind() const { return kind_; }
  /// Marketing name: "NVIDIA H200", "AMD Instinct MI300X", the CPU model.
  const std::string &name() const { return name_; }
  /// What code is compiled for: "sm_90", "gfx942:sramecc+:xnack-", "x86_64".
  const std::string &arch() const { return arch_; }
  uint64_t totalMemoryBytes() const { return totalMemory_; }
  /// Driver identity for cache keys: "CUDA 12.4", "HIP 6.2.41134", or the
  /// host kernel release.
  const std::string &driver() const { return driver_; }
  virtual DeviceFeatures features() const { return {}; }

  //===--------------------------------------------------------------------===//
  // Memory
  //===--------------------------------------------------------------------===//

  virtual Expected<DevicePtr> allocate(size_t bytes) = 0;
  virtual Status deallocate(DevicePtr ptr) = 0;
  /// Without a stream the copy has finished when the call returns; with one
  /// it is queued there and the host buffer must live until the stream
  /// reaches it.
  virtual Status copyToDevice(DevicePtr dst, const void *src, size_t bytes,
                              Stream stream = {}) = 0;
  virtual Status copyToHost(void *dst, DevicePtr src, size_t bytes,
                            Stream stream = {}) = 0;
  /// Sets `bytes` bytes at `dst` to zero, queued on `stream` (the default
  /// stream when null) like a launch, so a kernel queued after it sees
  /// zeros.
  virtual Status fillZero(DevicePtr dst, size_t bytes, Stream stream = {}) = 0;

  //===--------------------------------------------------------------------===//
  // Streams and events
  //===--------------------------------------------------------------------===//

  virtual Expected<Stream> createStream() = 0;
  virtual Status destroyStream(Stream stream) = 0;
  /// Waits until everything queued on `stream` has finished.
  virtual Status synchronize(Stream stream) = 0;

  virtual Expected<Event> createEvent() = 0;
  virtual Status destroyEvent(Event event) = 0;
  virtual Status record(Event event, Stream stream) = 0;
  /// Waits until the work recorded before `event` has finished.
  virtual Status synchronize(Event event) = 0;
  /// Milliseconds between two recorded, completed events.
  virtual Expected<float> elapsedMs(Event start, Event end) = 0;

  //===--------------------------------------------------------------------===//
  // Modules and launches (GPU devices; the CPU runs artifacts through
  // CpuExecutable instead)
  //===--------------------------------------------------------------------===//

  /// Loads a cubin, fatbin or PTX text (CUDA) or an HSACO code object (HIP).
  /// PTX need not be NUL-terminated: `bytes` bounds it.
  virtual Expected<Module> loadModule(const void *image, size_t bytes) = 0;
  virtual Status unloadModule(Module module) = 0;
  virtual Expected<Function> getFunction(Module module,
                                         const std::string &name) = 0;
  /// Queues one grid on `config.stream`. It neither synchronises nor
  /// allocates, so it can be captured into a CUDA graph. `params` holds one
  /// pointer per kernel parameter, pointing at its value.
  virtual Status launch(Function function, const LaunchConfig &config,
                        void **params) = 0;

  /// Encodes a tiled TMA descriptor on the host (cuTensorMapEncodeTiled:
  /// zero fill out of bounds, no interleave, 128-byte L2 promotion). Only a
  /// CUDA device with a CUDA 12+ driver can; the others say so.
  virtual Status encodeTensorMap(TensorMap &map, const TensorMapSpec &spec);

protected:
  Device(DeviceKind kind, std::string name, std::string arch,
         uint64_t totalMemory, std::string driver);

private:
  DeviceKind kind_;
  std::string name_;
  std::string arch_;
  uint64_t totalMemory_;
  std::string driver_;
};

//===----------------------------------------------------------------------===//
// Discovery
//===----------------------------------------------------------------------===//

/// The CPU device followed by every CUDA and HIP device found. A backend that
/// is unavailable (no library, no device, driver too old) adds one line to
/// `notes`, naming what was tried, e.g. "CUDA: not available: dlopen(...)
/// failed: ... (tried: libcuda.so.1, libcuda.so)"; it is not an error.
Expected<std::vector<std::unique_ptr<Device>>>
discoverDevices(std::vector<std::string> *notes = nullptr);

/// The host, always available.
std::unique_ptr<Device> openCpuDevice();

/// A loaded driver library and its resolved symbol table. Opaque here;
/// devices share it, and it stays loaded while any of them lives.
struct CudaDriver;
struct HipRuntime;

/// Library names discovery tries, in order.
std::vector<std::string> defaultCudaLibraries();
std::vector<std::string> defaultHipLibraries();

/// dlopens the first of `candidates` that loads, then resolves the symbol
/// table from it (a later candidate is not tried if symbols are missing).
/// The error names every candidate tried, or the first required symbol the
/// library lacks and its path. Taking the list makes the absent-library path
/// testable on a machine that has the library.
Expected<std::shared_ptr<CudaDriver>>
loadCudaDriver(const std::vector<std::string> &candidates);
Expected<std::shared_ptr<HipRuntime>>
loadHipRuntime(const std::vector<std::string> &candidates);

/// Initialises the driver and opens every device it reports (possibly none).
Expected<std::vector<std::unique_ptr<Device>>>
openCudaDevices(const std::shared_ptr<CudaDriver> &driver);
Expected<std::vector<std::unique_ptr<Device>>>
openHipDevices(const std::shared_ptr<HipRuntime> &runtime);

} // namespace skim::rt

#endif // SKIM_RUNTIME_DEVICE_H
