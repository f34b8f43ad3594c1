//===- GpuExecutable.cpp - running a launch plan on a GPU -----------------===//

#include "skim/runtime/GpuExecutable.h"

#include "Binding.h"

#include <cstdint>
#include <cstring>

using namespace skim::rt;
using namespace skim::rt::detail;

namespace {

// Workspace buffers start at multiples of this: what TMA asks of a global
// address (16) and what cuMemAlloc gives its allocations.
constexpr size_t kWorkspaceAlignment = 256;

/// The section's device kind, from its name: cuda.cubin, cuda.ptx, hip.hsaco.
bool sectionFits(const std::string &section, DeviceKind kind) {
  const char *prefix = kind == DeviceKind::Cuda ? "cuda." : "hip.";
  return section.rfind(prefix, 0) == 0;
}

std::string sectionList(const Artifact &artifact) {
  std::string names;
  for (const auto &entry : artifact.sections)
    names += (names.empty() ? "" : ", ") + entry.first;
  return names.empty() ? "none" : names;
}

/// m<buffer>:<box>:<swizzle>, as the plan wrote it.
std::string describeArg(const KernelArg &a) {
  std::string box;
  for (size_t i = 0; i < a.box.size(); ++i)
    box += (i ? "x" : "") + std::to_string(a.box[i]);
  return "m" + std::to_string(a.buffer) + ":" + box + ":" + swizzleName(a.swizzle);
}

} // namespace

Expected<std::unique_ptr<GpuExecutable>>
GpuExecutable::load(const Artifact &artifact, Device &device) {
  const std::string *planText = artifact.section("plan");
  if (!planText)
    return Error{"artifact has no launch plan (section 'plan')"};
  Expected<Plan> plan = Plan::parse(*planText);
  if (!plan)
    return Error{plan.message()};
  if (plan->binary.empty())
    return Error{"the artifact's plan names no GPU image (no 'binary' entry): "
                 "it is a CPU artifact, for CpuExecutable"};
  const std::string *image = artifact.section(plan->binary);
  if (!image)
    return Error{"the plan's binary entry names section '" + plan->binary +
                 "', which the artifact lacks (it has: " + sectionList(artifact) +
                 ")"};
  if (device.kind() == DeviceKind::Cpu)
    return Error{"GpuExecutable needs a GPU device, not the CPU (" +
                 device.name() + "); run CPU artifacts with CpuExecutable"};
  if (!sectionFits(plan->binary, device.kind()))
    return Error{"the artifact's GPU image '" + plan->binary + "' is not for " +
                 deviceKindName(device.kind()) + " (" + device.name() + ")"};
  DeviceFeatures features = device.features();
  for (const KernelDecl &k : plan->kernels) {
    bool clustered = k.cluster[0] * k.cluster[1] * k.cluster[2] > 1;
    if (clustered && !features.clusterLaunch)
      return Error{"kernel '" + k.name + "' launches thread-block clusters, which " +
                   device.name() + " (" + device.arch() + ", " + device.driver() +
                   ") cannot"};
    for (const KernelArg &a : k.args)
      if (a.kind == KernelArg::Kind::TensorMap &&
          (device.kind() != DeviceKind::Cuda || !features.tensorMaps))
        return Error{"kernel '" + k.name + "' takes a TMA descriptor (" +
                     describeArg(a) + "), which " + device.name() + " (" +
                     device.driver() + ") cannot encode"};
  }

  Expected<Module> module = device.loadModule(image->data(), image->size());
  if (!module)
    return Error{"cannot load the artifact's GPU image '" + plan->binary +
                 "': " + module.message()};
  std::unique_ptr<GpuExecutable> exe(new GpuExecutable(device));
  exe->plan_ = std::move(*plan);
  exe->module_ = *module;
  for (const KernelDecl &k : exe->plan_.kernels) {
    Expected<Function> function = device.getFunction(exe->module_, k.name);
    if (!function)
      return Error{"the artifact's GPU image lacks kernel '" + k.name +
                   "': " + function.message()};
    exe->functions_.push_back(*function);
  }
  return exe;
}

GpuExecutable::~GpuExecutable() {
  for (const Workspace &w : workspaces_)
    (void)device_.deallocate(w.ptr);
  if (module_.handle)
    (void)device_.unloadModule(module_);
}

size_t GpuExecutable::workspaceAllocations() const {
  std::lock_guard<std::mutex> lock(workspaceMutex_);
  return allocations_;
}

Expected<std::vector<std::vector<int64_t>>>
GpuExecutable::outputShapes(const std::vector<TensorView> &inputs) const {
  Binding bind;
  std::vector<std::vector<int64_t>> shapes;
  BindOptions options{device_.kind(), kWorkspaceAlignment};
  if (Status s = bindCaller(plan_, inputs, nullptr, options, bind, &shapes); !s)
    return Error{s.message()};
  return shapes;
}

Expected<size_t>
GpuExecutable::workspaceBytes(const std::vector<TensorView> &inputs) const {
  Binding bind;
  BindOptions options{device_.kind(), kWorkspaceAlignment};
  if (Status s = bindCaller(plan_, inputs, nullptr, options, bind, nullptr); !s)
    return Error{s.message()};
  return bind.workspaceBytes;
}

Status GpuExecutable::run(const std::vector<TensorView> &inputs,
                          const std::vector<TensorView> &outputs, Stream stream,
                          const RunOptions &options) const {
  Binding bind;
  BindOptions bindOptions{device_.kind(), kWorkspaceAlignment};
  if (Status s = bindCaller(plan_, inputs, &outputs, bindOptions, bind, nullptr); !s)
    return s;
  auto leaf = [&](bool s, int b, int d) { return bind.leaf(s, b, d); };

  // The workspace stays locked until every launch is queued: a run on the
  // same stream that needs more must not free it before then.
  std::unique_lock<std::mutex> lock(workspaceMutex_, std::defer_lock);
  if (bind.workspaceBytes) {
    lock.lock();
    Workspace *mine = nullptr;
    for (Workspace &w : workspaces_)
      if (w.stream == stream.handle)
        mine = &w;
    if (!mine) {
      workspaces_.push_back({stream.handle, 0, 0});
      mine = &workspaces_.back();
    }
    if (mine->bytes < bind.workspaceBytes) {
      if (mine->ptr) {
        // Earlier runs on this stream may still be reading it.
        if (Status s = device_.synchronize(stream); !s)
          return s;
        if (Status s = device_.deallocate(mine->ptr); !s)
          return s;
        mine->ptr = 0;
        mine->bytes = 0;
      }
      Expected<DevicePtr> ptr = device_.allocate(bind.workspaceBytes);
      if (!ptr)
        return Error{"cannot allocate " + std::to_string(bind.workspaceBytes) +
                     " bytes of workspace: " + ptr.message()};
      mine->ptr = *ptr;
      mine->bytes = bind.workspaceBytes;
      ++allocations_;
    }
    bind.placeWorkspace(plan_, reinterpret_cast<char *>(uintptr_t(mine->ptr)));
    // Queued before the kernels: a scratch pool's locks start free.
    if (Status s = bind.zeroWorkspace(plan_,
                                      [&](void *data, size_t bytes) {
                                        return device_.fillZero(
                                            DevicePtr(uintptr_t(data)), bytes, stream);
                                      });
        !s)
      return s;
  }

  if (options.validateIndices) {
    for (const IndexCheck &c : plan_.indexChecks) {
      Expected<int64_t> blocks = c.blocks.eval(leaf);
      if (!blocks)
        return Error{blocks.message()};
      const TensorView &v = bind.views[c.buffer];
      std::vector<int32_t> host(size_t(v.extent()));
      if (!host.empty()) {
        if (Status s = device_.copyToHost(host.data(), DevicePtr(uintptr_t(v.data)),
                                          host.size() * sizeof(int32_t), stream);
            !s)
          return s;
        if (Status s = device_.synchronize(stream); !s)
          return s;
      }
      if (Status s = checkIndices(v, host.data(), *blocks,
                                  bufferName(plan_.buffers[c.buffer]));
          !s)
        return s;
    }
  }

  std::vector<uint64_t> words;
  std::vector<TensorMap> maps; // 128-byte aligned: TensorMap is alignas(128)
  std::vector<void *> params;
  for (size_t k = 0; k < plan_.kernels.size(); ++k) {
    const KernelDecl &decl = plan_.kernels[k];
    Expected<std::array<int64_t, 3>> gridOr = bind.grid(decl);
    if (!gridOr)
      return Error{gridOr.message()};
    const std::array<int64_t, 3> &grid = *gridOr;
    if (grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0)
      continue;
    if (grid[0] > INT32_MAX || grid[1] > 65535 || grid[2] > 65535)
      return Error{decl.name + ": grid " + std::to_string(grid[0]) + "x" +
                   std::to_string(grid[1]) + "x" + std::to_string(grid[2]) +
                   " exceeds what a launch takes (x < 2^31, y and z <= 65535)"};
    Expected<int64_t> shared = decl.sharedBytes.eval(leaf);
    if (!shared)
      return Error{decl.name + ": " + shared.message()};
    if (*shared < 0 || *shared > int64_t(UINT32_MAX))
      return Error{decl.name + ": dynamic shared memory of " +
                   std::to_string(*shared) + " bytes"};

    // Sized first: params point into words and maps.
    size_t numMaps = 0;
    for (const KernelArg &a : decl.args)
      numMaps += a.kind == KernelArg::Kind::TensorMap;
    words.assign(decl.args.size() - numMaps, 0);
    maps.assign(numMaps, TensorMap());
    params.clear();
    size_t word = 0, map = 0;
    for (size_t i = 0; i < decl.args.size(); ++i) {
      const KernelArg &a = decl.args[i];
      if (a.kind == KernelArg::Kind::Tensor) {
        words[word] = uint64_t(uintptr_t(bind.views[a.buffer].data));
        params.push_back(&words[word++]);
      } else if (a.kind == KernelArg::Kind::Scalar) {
        Expected<int64_t> value = a.scalar.eval(leaf);
        if (!value)
          return Error{decl.name + ": " + value.message()};
        words[word] = uint64_t(*value);
        params.push_back(&words[word++]);
      } else {
        const TensorView &v = bind.views[a.buffer];
        TensorMapSpec spec;
        spec.base = DevicePtr(uintptr_t(v.data));
        spec.dtype = v.dtype;
        spec.shape = v.shape;
        spec.strides = v.strides;
        spec.box = a.box;
        spec.swizzle = a.swizzle;
        if (Status s = device_.encodeTensorMap(maps[map], spec); !s)
          return Error{decl.name + ": argument " + std::to_string(i) + " (" +
                       describeArg(a) + "): " + s.message()};
        params.push_back(&maps[map++]);
      }
    }

    LaunchConfig config;
    config.grid = {uint32_t(grid[0]), uint32_t(grid[1]), uint32_t(grid[2])};
    config.block = {uint32_t(decl.block[0]), uint32_t(decl.block[1]),
                    uint32_t(decl.block[2])};
    config.cluster = {uint32_t(decl.cluster[0]), uint32_t(decl.cluster[1]),
                      uint32_t(decl.cluster[2])};
    config.dynamicSharedBytes = uint32_t(*shared);
    config.stream = stream;
    if (Status s = device_.launch(functions_[k], config, params.data()); !s)
      return Error{decl.name + ": " + s.message()};
  }
  return Status::ok();
}
