//===- GpuExecutable.h - running a launch plan on a GPU ---------*- C++ -*-===//
//
// Loads the artifact's GPU image (the section the plan's `binary` entry
// names) through Device::loadModule, resolves each plan kernel by name, and
// runs the plan on a caller's stream: the same binding checks as the CPU
// (Binding.h), workspace from a per-stream device-memory pool, and one
// launch per kernel with the plan's grid, block, dynamic shared memory and
// cluster shape. Kernel parameters, in plan order: a tensor is its 64-bit
// device address (bare pointer; strides travel as scalars), a scalar is an
// int64, and a TMA descriptor is a 128-byte CUtensorMap encoded at launch and
// passed by value. Nothing synchronises and, once a stream's workspace is
// large enough, nothing allocates device memory, so runs can be captured in
// a CUDA graph.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_GPUEXECUTABLE_H
#define SKIM_RUNTIME_GPUEXECUTABLE_H

#include "skim/runtime/Artifact.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/Plan.h"
#include "skim/runtime/RunOptions.h"
#include "skim/runtime/Tensor.h"

#include <memory>
#include <mutex>
#include <vector>

namespace skim::rt {

class GpuExecutable {
public:
  /// `device` must outlive the executable. Errors name what is missing: the
  /// plan's `binary` entry, the section it names, a kernel in the image, or
  /// a device feature the plan needs (TMA descriptors, clusters).
  static Expected<std::unique_ptr<GpuExecutable>> load(const Artifact &artifact,
                                                       Device &device);
  /// Frees the workspace and unloads the module: the streams that ran this
  /// executable must have finished.
  ~GpuExecutable();
  GpuExecutable(const GpuExecutable &) = delete;
  GpuExecutable &operator=(const GpuExecutable &) = delete;

  const Plan &plan() const { return plan_; }
  Device &device() const { return device_; }
  /// The shapes of the outputs for the given inputs.
  Expected<std::vector<std::vector<int64_t>>>
  outputShapes(const std::vector<TensorView> &inputs) const;
  /// Device memory a run with these inputs takes from the workspace pool,
  /// beside the caller's tensors (what a memory report must add to them).
  Expected<size_t> workspaceBytes(const std::vector<TensorView> &inputs) const;
  /// Queues every kernel on `stream` (null: the device's default stream).
  /// Every view must be a tensor on this executable's device kind, its data
  /// a device address. Returns once the launches are queued.
  Status run(const std::vector<TensorView> &inputs,
             const std::vector<TensorView> &outputs, Stream stream,
             const RunOptions &options = {}) const;

  /// How often the workspace pool has allocated device memory: once per
  /// stream and per larger size, never for a repeated shape.
  size_t workspaceAllocations() const;

private:
  explicit GpuExecutable(Device &device) : device_(device) {}

  /// One stream's workspace. Runs on one stream are ordered, so they share
  /// it; runs on different streams may overlap, so they do not.
  struct Workspace {
    void *stream = nullptr;
    DevicePtr ptr = 0;
    size_t bytes = 0;
  };

  Device &device_;
  Plan plan_;
  Module module_;
  std::vector<Function> functions_;
  mutable std::mutex workspaceMutex_;
  mutable std::vector<Workspace> workspaces_;
  mutable size_t allocations_ = 0;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_GPUEXECUTABLE_H
