//===- CpuExecutable.h - running a launch plan on the host ------*- C++ -*-===//
//
// Loads an artifact's kernel shared object (from memory, through memfd and
// dlopen), binds the caller's tensors to the plan's buffers, checks them,
// sizes the workspace, and runs each kernel's grid on the thread pool.
// A kernel's CPU entry is `void <name>_entry(const int64_t *args, int64_t x,
// int64_t y, int64_t z)`: args are 64-bit words, five per tensor (its memref
// descriptor: base, aligned base, offset, size, stride) and one per index.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_CPUEXECUTABLE_H
#define SKIM_RUNTIME_CPUEXECUTABLE_H

#include "skim/runtime/Artifact.h"
#include "skim/runtime/Plan.h"
#include "skim/runtime/RunOptions.h"
#include "skim/runtime/Tensor.h"
#include "skim/runtime/ThreadPool.h"

#include <memory>
#include <mutex>

namespace skim::rt {

class CpuExecutable {
public:
  using Entry = void (*)(const int64_t *, int64_t, int64_t, int64_t);

  static Expected<std::unique_ptr<CpuExecutable>> load(const Artifact &artifact);
  ~CpuExecutable();

  const Plan &plan() const { return plan_; }
  /// The shapes of the outputs for the given inputs.
  Expected<std::vector<std::vector<int64_t>>>
  outputShapes(const std::vector<TensorView> &inputs) const;
  /// Host memory a run with these inputs takes from the workspace pool.
  Expected<size_t> workspaceBytes(const std::vector<TensorView> &inputs) const;
  Status run(const std::vector<TensorView> &inputs,
             const std::vector<TensorView> &outputs, ThreadPool &pool,
             const RunOptions &options = {}) const;

private:
  CpuExecutable() = default;
  /// Workspace from a pool: runs after the first reuse buffers, so the
  /// launch path allocates only when a larger shape arrives.
  std::shared_ptr<char> takeWorkspace(size_t bytes) const;
  void giveWorkspace(std::shared_ptr<char> buffer, size_t bytes) const;

  Plan plan_;
  void *handle = nullptr;
  int memfd = -1;
  std::vector<Entry> entries;
  mutable std::mutex poolMutex;
  mutable std::vector<std::pair<size_t, std::shared_ptr<char>>> pool;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_CPUEXECUTABLE_H
