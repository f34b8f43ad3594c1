//===- Kernel.cpp - the C API's load-and-run half, without LLVM -----------===//
//
// Everything in skim/skim.h that needs no compiler: loading artifacts,
// checking DLPack tensors (every message names the tensor) and launching on
// the CPU's thread pool or on a caller's GPU stream.
//
// A GPU kernel keeps its artifact and loads the image on a device the first
// time a call names that device (the tensors' DLPack device_id): loading an
// artifact needs no driver, so a machine without a GPU can still inspect
// one, and one kernel can serve every GPU of its kind.
//
//===----------------------------------------------------------------------===//

#include "Kernel.h"

#include "skim/runtime/Artifact.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/GpuExecutable.h"
#include "skim/runtime/ThreadPool.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

namespace rt = skim::rt;
using namespace skim::capi;

struct skim_kernel {
  /// The artifact's target section: "host:...", "cuda:sm_90".
  std::string target;
  rt::DeviceKind device = rt::DeviceKind::Cpu;
  std::shared_ptr<rt::CpuExecutable> cpu;
  /// GPU kernels: the artifact (to load on each device used), its plan, and
  /// the executables loaded so far, by device ordinal.
  rt::Artifact artifact;
  rt::Plan gpuPlan;
  mutable std::mutex gpuMutex;
  mutable std::map<int, std::unique_ptr<rt::GpuExecutable>> gpu;

  const rt::Plan &plan() const { return cpu ? cpu->plan() : gpuPlan; }
};

char *skim::capi::copyString(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (out)
    std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

void skim::capi::setError(char **error, const std::string &message) {
  if (error)
    *error = copyString(message);
}

namespace {

rt::ThreadPool &pool() {
  static rt::ThreadPool instance;
  return instance;
}

const char *kindName(rt::DeviceKind kind) {
  switch (kind) {
  case rt::DeviceKind::Cpu:
    return "CPU";
  case rt::DeviceKind::Cuda:
    return "CUDA";
  case rt::DeviceKind::Hip:
    return "HIP";
  }
  return "unknown";
}

std::string deviceTypeName(int type) {
  switch (type) {
  case kDLCPU:
    return "CPU";
  case kDLCUDA:
    return "CUDA";
  case kDLCUDAHost:
    return "CUDA host (pinned)";
  case kDLCUDAManaged:
    return "CUDA managed";
  case kDLROCM:
    return "ROCm";
  case kDLROCMHost:
    return "ROCm host (pinned)";
  }
  return "DLPack device type " + std::to_string(type);
}

/// The runtime device that can read a DLPack device's memory. Managed memory
/// has device addresses; pinned host memory is left out because a kernel of
/// the host and one of the GPU would both accept it, and the caller most
/// likely meant the GPU copy.
std::optional<rt::DeviceKind> runtimeDevice(int type) {
  switch (type) {
  case kDLCPU:
    return rt::DeviceKind::Cpu;
  case kDLCUDA:
  case kDLCUDAManaged:
    return rt::DeviceKind::Cuda;
  case kDLROCM:
    return rt::DeviceKind::Hip;
  }
  return std::nullopt;
}

/// "CUDA (target cuda:sm_90)": where a kernel runs, for messages.
std::string where(const skim_kernel &kernel) {
  return std::string(kindName(kernel.device)) + " (target " + kernel.target +
         ")";
}

rt::Expected<rt::DType> fromDLPack(DLDataType t) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32)
      return rt::DType::F32;
    if (t.code == kDLFloat && t.bits == 16)
      return rt::DType::F16;
    if (t.code == kDLBfloat && t.bits == 16)
      return rt::DType::BF16;
    if (t.code == kDLInt && t.bits == 32)
      return rt::DType::I32;
  }
  return rt::Error{"unsupported dtype (code " + std::to_string(t.code) + ", " +
                   std::to_string(t.bits) + " bits, " +
                   std::to_string(t.lanes) +
                   " lanes): expected float32, bfloat16, float16 or int32"};
}

DLDataType toDLPack(rt::DType t) {
  switch (t) {
  case rt::DType::F32:
    return DLDataType{kDLFloat, 32, 1};
  case rt::DType::F16:
    return DLDataType{kDLFloat, 16, 1};
  case rt::DType::BF16:
    return DLDataType{kDLBfloat, 16, 1};
  case rt::DType::I32:
    return DLDataType{kDLInt, 32, 1};
  }
  return DLDataType{kDLFloat, 32, 1};
}

/// The tensors of one call and the device they share.
struct Tensors {
  std::vector<rt::TensorView> inputs, outputs;
  /// DLPack device_id of the first GPU tensor (-1: none yet), and its name.
  int deviceId = -1;
  std::string first;
};

/// One DLPack tensor as a runtime view, with every check naming it: where it
/// lives (the kernel's device kind, one device for the whole call), dtype,
/// rank, null data, strides, size overflow.
rt::Status addView(const skim_kernel &kernel, const DLManagedTensor *managed,
                   const std::string &name, Tensors &call,
                   std::vector<rt::TensorView> &out) {
  if (!managed)
    return rt::Error{name + " is NULL"};
  const DLTensor &t = managed->dl_tensor;
  std::optional<rt::DeviceKind> device = runtimeDevice(t.device.device_type);
  if (!device)
    return rt::Error{name + " lives in " +
                     deviceTypeName(t.device.device_type) +
                     " memory, which no skim kernel reads (this one runs on " +
                     where(kernel) + ")"};
  if (*device != kernel.device) {
    std::string fix =
        kernel.device == rt::DeviceKind::Cpu
            ? ": pass CPU tensors, or compile the variant for the "
              "GPU (e.g. --target sm_90)"
            : ": move the tensors to the GPU first";
    return rt::Error{name + " is a " + deviceTypeName(t.device.device_type) +
                     " tensor, but this kernel runs on " + where(kernel) + fix};
  }
  if (*device != rt::DeviceKind::Cpu) {
    if (call.deviceId < 0) {
      call.deviceId = t.device.device_id;
      call.first = name;
    } else if (call.deviceId != t.device.device_id) {
      return rt::Error{name + " is on " + kindName(*device) + " device " +
                       std::to_string(t.device.device_id) + ", but " +
                       call.first + " is on device " +
                       std::to_string(call.deviceId) +
                       ": one run uses one device"};
    }
  }
  rt::Expected<rt::DType> dtype = fromDLPack(t.dtype);
  if (!dtype)
    return rt::Error{name + " has an " + dtype.message()};
  if (t.ndim < 0 || t.ndim > 8)
    return rt::Error{name + " has rank " + std::to_string(t.ndim) +
                     " (at most 8)"};
  rt::TensorView v;
  v.device = *device;
  v.dtype = *dtype;
  v.shape.assign(t.shape, t.shape + t.ndim);
  if (t.strides) {
    v.strides.assign(t.strides, t.strides + t.ndim);
  } else {
    v.strides.assign(size_t(t.ndim), 1);
    for (int d = t.ndim - 2; d >= 0; --d)
      v.strides[d] = v.strides[d + 1] * v.shape[d + 1];
  }
  int64_t bytes = int64_t(rt::dtypeSize(v.dtype));
  for (int d = 0; d < t.ndim; ++d) {
    if (v.shape[d] < 0)
      return rt::Error{name + " has negative dim " + std::to_string(d)};
    int64_t next;
    if (__builtin_mul_overflow(bytes, std::max<int64_t>(v.shape[d], 1), &next))
      return rt::Error{name +
                       " is too large: its size in bytes overflows 64 bits"};
    bytes = next;
  }
  if (!t.data && v.numel() > 0)
    return rt::Error{name + " has NULL data"};
  v.data = static_cast<char *>(t.data) + t.byte_offset;
  out.push_back(std::move(v));
  return rt::Status::ok();
}

rt::Status addViews(const skim_kernel &kernel, DLManagedTensor *const *tensors,
                    int n, const char *what, Tensors &call,
                    std::vector<rt::TensorView> &out) {
  if (n < 0 || (n > 0 && !tensors))
    return rt::Error{std::string("no ") + what + "s given"};
  for (int i = 0; i < n; ++i)
    if (rt::Status s =
            addView(kernel, tensors[i],
                    std::string(what) + " #" + std::to_string(i), call, out);
        !s)
      return s;
  return rt::Status::ok();
}

/// The GPUs of one kind and, when there are none, why.
struct GpuDevices {
  std::vector<std::unique_ptr<rt::Device>> devices;
  std::string error;
};

GpuDevices *openGpus(rt::DeviceKind kind) {
  auto *gpus = new GpuDevices;
  rt::Expected<std::vector<std::unique_ptr<rt::Device>>> devices =
      rt::Error{"no driver"};
  if (kind == rt::DeviceKind::Cuda) {
    auto driver = rt::loadCudaDriver(rt::defaultCudaLibraries());
    if (!driver) {
      gpus->error = driver.message();
      return gpus;
    }
    devices = rt::openCudaDevices(*driver);
  } else {
    auto runtime = rt::loadHipRuntime(rt::defaultHipLibraries());
    if (!runtime) {
      gpus->error = runtime.message();
      return gpus;
    }
    devices = rt::openHipDevices(*runtime);
  }
  if (!devices)
    gpus->error = devices.message();
  else
    gpus->devices = std::move(*devices);
  return gpus;
}

/// Opened on first use and never closed: Python may free kernels after the
/// C++ statics are gone, and they still unload their images on the device.
const GpuDevices &gpus(rt::DeviceKind kind) {
  if (kind == rt::DeviceKind::Cuda) {
    static const GpuDevices *cuda = openGpus(kind);
    return *cuda;
  }
  static const GpuDevices *hip = openGpus(kind);
  return *hip;
}

/// The kernel's executable on GPU `ordinal`, loaded on first use.
rt::Expected<const rt::GpuExecutable *> gpuExecutable(const skim_kernel &kernel,
                                                      int ordinal) {
  std::lock_guard<std::mutex> lock(kernel.gpuMutex);
  auto it = kernel.gpu.find(ordinal);
  if (it != kernel.gpu.end())
    return static_cast<const rt::GpuExecutable *>(it->second.get());
  const GpuDevices &all = gpus(kernel.device);
  std::string kind = kindName(kernel.device);
  if (all.devices.empty())
    return rt::Error{"this kernel runs on " + where(kernel) + ", but no " +
                     kind + " device is available" +
                     (all.error.empty() ? "" : ": " + all.error)};
  if (ordinal < 0 || ordinal >= int(all.devices.size()))
    return rt::Error{"the tensors are on " + kind + " device " +
                     std::to_string(ordinal) + ", but the driver reports " +
                     std::to_string(all.devices.size()) + " device(s)"};
  rt::Device &device = *all.devices[size_t(ordinal)];
  auto exe = rt::GpuExecutable::load(kernel.artifact, device);
  if (!exe)
    return rt::Error{"cannot load this " + kernel.target + " kernel on " +
                     device.name() + " (" + device.arch() +
                     "): " + exe.message()};
  const rt::GpuExecutable *loaded = exe->get();
  kernel.gpu.emplace(ordinal, std::move(*exe));
  return loaded;
}

/// Checks the inputs (and outputs) and, for a GPU kernel, finds its
/// executable on their device; `gpu` stays null for a CPU kernel.
rt::Status prepare(const skim_kernel &kernel, DLManagedTensor *const *inputs,
                   int numInputs, DLManagedTensor *const *outputs,
                   int numOutputs, Tensors &call,
                   const rt::GpuExecutable *&gpu) {
  if (rt::Status s =
          addViews(kernel, inputs, numInputs, "input", call, call.inputs);
      !s)
    return s;
  if (outputs || numOutputs)
    if (rt::Status s =
            addViews(kernel, outputs, numOutputs, "output", call, call.outputs);
        !s)
      return s;
  gpu = nullptr;
  if (kernel.cpu)
    return rt::Status::ok();
  // No tensor names a device when there are none: the count check reports it.
  auto exe = gpuExecutable(kernel, std::max(call.deviceId, 0));
  if (!exe)
    return rt::Error{exe.message()};
  gpu = *exe;
  return rt::Status::ok();
}

/// What the kernel's executable (the CPU's, or the GPU's on the inputs'
/// device) says about these inputs: `ask(executable, views)`, whose
/// Expected is the same for both.
template <typename Ask>
auto askExecutable(const skim_kernel &kernel, DLManagedTensor *const *inputs,
                   int numInputs, Ask ask)
    -> decltype(ask(*kernel.cpu, std::vector<rt::TensorView>())) {
  Tensors call;
  const rt::GpuExecutable *gpu = nullptr;
  if (rt::Status s = prepare(kernel, inputs, numInputs, nullptr, 0, call, gpu);
      !s)
    return rt::Error{s.message()};
  return gpu ? ask(*gpu, call.inputs) : ask(*kernel.cpu, call.inputs);
}

} // namespace

skim_kernel *
skim::capi::wrapCpuExecutable(std::shared_ptr<rt::CpuExecutable> exe,
                              std::string target) {
  auto *kernel = new skim_kernel;
  kernel->cpu = std::move(exe);
  kernel->target = std::move(target);
  return kernel;
}

skim_kernel *skim::capi::loadArtifact(const std::string &bytes,
                                      const std::string &origin, char **error) {
  auto fail = [&](const std::string &message) -> skim_kernel * {
    setError(error, origin + ": " + message);
    return nullptr;
  };
  rt::Expected<rt::Artifact> artifact = rt::Artifact::deserialize(bytes);
  if (!artifact)
    return fail(artifact.message());
  const std::string *planText = artifact->section("plan");
  if (!planText)
    return fail("the artifact has no launch plan (section 'plan')");
  rt::Expected<rt::Plan> plan = rt::Plan::parse(*planText);
  if (!plan)
    return fail(plan.message());
  const std::string *target = artifact->section("target");
  auto kernel = std::make_unique<skim_kernel>();
  kernel->target = target ? *target : "unknown";
  if (plan->binary.empty()) {
    auto exe = rt::CpuExecutable::load(*artifact);
    if (!exe)
      return fail(exe.message());
    kernel->cpu = std::move(*exe);
    return kernel.release();
  }
  if (plan->binary.rfind("cuda.", 0) == 0)
    kernel->device = rt::DeviceKind::Cuda;
  else if (plan->binary.rfind("hip.", 0) == 0)
    kernel->device = rt::DeviceKind::Hip;
  else
    return fail("the GPU image '" + plan->binary +
                "' is for no device skim knows (expected cuda.* or hip.*)");
  if (!artifact->section(plan->binary))
    return fail("the plan's GPU image '" + plan->binary +
                "' is missing from the artifact");
  kernel->gpuPlan = std::move(*plan);
  kernel->artifact = std::move(*artifact);
  return kernel.release();
}

extern "C" {

skim_kernel *skim_load(const char *path, char **error) {
  if (!path) {
    setError(error, "skim_load: path is NULL");
    return nullptr;
  }
  std::FILE *file = std::fopen(path, "rb");
  if (!file) {
    setError(error, std::string("cannot open artifact '") + path +
                        "': " + std::strerror(errno));
    return nullptr;
  }
  std::string bytes;
  char chunk[1 << 16];
  for (size_t n; (n = std::fread(chunk, 1, sizeof(chunk), file)) > 0;)
    bytes.append(chunk, n);
  bool failed = std::ferror(file);
  std::fclose(file);
  if (failed) {
    setError(error, std::string("cannot read artifact '") + path + "'");
    return nullptr;
  }
  return loadArtifact(bytes, path, error);
}

skim_kernel *skim_load_bytes(const void *data, size_t size, char **error) {
  if (!data && size) {
    setError(error, "skim_load_bytes: data is NULL");
    return nullptr;
  }
  std::string bytes(static_cast<const char *>(data), data ? size : 0);
  return loadArtifact(bytes, "artifact bytes", error);
}

void skim_kernel_free(skim_kernel *kernel) { delete kernel; }

int skim_kernel_device_type(const skim_kernel *kernel) {
  if (!kernel)
    return -1;
  switch (kernel->device) {
  case rt::DeviceKind::Cpu:
    return kDLCPU;
  case rt::DeviceKind::Cuda:
    return kDLCUDA;
  case rt::DeviceKind::Hip:
    return kDLROCM;
  }
  return -1;
}

const char *skim_kernel_target(const skim_kernel *kernel) {
  return kernel ? kernel->target.c_str() : nullptr;
}

int skim_kernel_num_inputs(const skim_kernel *kernel) {
  return kernel ? kernel->plan().numInputs() : -1;
}

int skim_kernel_num_outputs(const skim_kernel *kernel) {
  return kernel ? kernel->plan().numOutputs() : -1;
}

DLDataType skim_kernel_output_dtype(const skim_kernel *kernel, int index) {
  if (kernel)
    for (const rt::BufferDecl &b : kernel->plan().buffers)
      if (b.kind == rt::BufferDecl::Kind::Output && b.index == index)
        return toDLPack(b.dtype);
  return DLDataType{0, 0, 0};
}

int skim_kernel_output_shape(const skim_kernel *kernel,
                             DLManagedTensor *const *inputs, int num_inputs,
                             int index, int64_t *shape, int *rank,
                             char **error) {
  if (!kernel || !shape || !rank) {
    setError(error, "skim_kernel_output_shape: NULL kernel, shape or rank");
    return 1;
  }
  auto shapes = askExecutable(*kernel, inputs, num_inputs,
                              [](const auto &exe, const auto &views) {
                                return exe.outputShapes(views);
                              });
  if (!shapes) {
    setError(error, shapes.message());
    return 1;
  }
  if (index < 0 || index >= int(shapes->size())) {
    setError(error, "output #" + std::to_string(index) + " does not exist");
    return 1;
  }
  const std::vector<int64_t> &s = (*shapes)[size_t(index)];
  if (s.size() > 8) {
    setError(error, "output #" + std::to_string(index) + " has rank " +
                        std::to_string(s.size()) +
                        ", more than the 8 entries of `shape`");
    return 1;
  }
  *rank = int(s.size());
  std::copy(s.begin(), s.end(), shape);
  return 0;
}

int skim_kernel_workspace_bytes(const skim_kernel *kernel,
                                DLManagedTensor *const *inputs, int num_inputs,
                                uint64_t *bytes, char **error) {
  if (!kernel || !bytes) {
    setError(error, "skim_kernel_workspace_bytes: NULL kernel or bytes");
    return 1;
  }
  auto size = askExecutable(*kernel, inputs, num_inputs,
                            [](const auto &exe, const auto &views) {
                              return exe.workspaceBytes(views);
                            });
  if (!size) {
    setError(error, size.message());
    return 1;
  }
  *bytes = uint64_t(*size);
  return 0;
}

int skim_kernel_run(const skim_kernel *kernel, DLManagedTensor *const *inputs,
                    int num_inputs, DLManagedTensor *const *outputs,
                    int num_outputs, void *stream, char **error) {
  if (!kernel) {
    setError(error, "skim_kernel_run: kernel is NULL");
    return 1;
  }
  Tensors call;
  const rt::GpuExecutable *gpu = nullptr;
  rt::Status status =
      prepare(*kernel, inputs, num_inputs, outputs, num_outputs, call, gpu);
  if (status) {
    // The CPU device runs synchronously on its own pool: no stream.
    status = gpu ? gpu->run(call.inputs, call.outputs, rt::Stream{stream})
                 : kernel->cpu->run(call.inputs, call.outputs, pool());
  }
  if (!status) {
    setError(error, status.message());
    return 1;
  }
  return 0;
}

void skim_free_string(char *s) { std::free(s); }

} // extern "C"
