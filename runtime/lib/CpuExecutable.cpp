//===- CpuExecutable.cpp - running a launch plan on the host --------------===//

#include "skim/runtime/CpuExecutable.h"

#include "Binding.h"
#include "skim/runtime/EmulatedTensorMap.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <sys/mman.h>
#include <unistd.h>

using namespace skim::rt;
using namespace skim::rt::detail;

/// The artifact's code uses the instructions its target names; refuse to
/// load it on a CPU that lacks one (it would crash with SIGILL instead).
static Status checkCpuFeatures(const std::string &target) {
  struct Feature {
    const char *name;
    bool (*present)();
  };
  static const Feature features[] = {
      {"avx", [] { return bool(__builtin_cpu_supports("avx")); }},
      {"avx2", [] { return bool(__builtin_cpu_supports("avx2")); }},
      {"fma", [] { return bool(__builtin_cpu_supports("fma")); }},
      {"f16c", [] { return bool(__builtin_cpu_supports("f16c")); }},
      {"avx512f", [] { return bool(__builtin_cpu_supports("avx512f")); }},
      {"avx512bw", [] { return bool(__builtin_cpu_supports("avx512bw")); }},
      {"avx512dq", [] { return bool(__builtin_cpu_supports("avx512dq")); }},
      {"avx512vl", [] { return bool(__builtin_cpu_supports("avx512vl")); }},
  };
  for (const Feature &f : features) {
    std::string needed = std::string("+") + f.name;
    size_t at = target.find(needed);
    bool whole = at != std::string::npos &&
                 (at + needed.size() == target.size() || target[at + needed.size()] == ',');
    if (whole && !f.present())
      return Error{std::string("artifact was compiled for a CPU with ") + f.name +
                   ", which this CPU lacks: recompile it here"};
  }
  return Status::ok();
}

Expected<std::unique_ptr<CpuExecutable>> CpuExecutable::load(const Artifact &artifact) {
  const std::string *target = artifact.section("target");
  if (target && target->rfind("host:", 0) != 0)
    return Error{"artifact targets '" + *target + "', not the host CPU"};
  if (target)
    if (Status s = checkCpuFeatures(*target); !s)
      return Error{s.message()};
  const std::string *planText = artifact.section("plan");
  const std::string *object = artifact.section("cpu.so");
  if (!planText || !object)
    return Error{"artifact has no CPU kernels (sections 'plan' and 'cpu.so' "
                 "are needed; was it compiled for another target?)"};
  Expected<Plan> plan = Plan::parse(*planText);
  if (!plan)
    return Error{plan.message()};
  // TMA descriptors exist for CUDA kernels, and for their lanes run by the
  // lane emulator, which reads an EmulatedTensorMap instead.
  bool emulated = artifact.section("emulates") != nullptr;
  for (const KernelDecl &k : plan->kernels)
    for (const KernelArg &a : k.args)
      if (a.kind == KernelArg::Kind::TensorMap && !emulated)
        return Error{"kernel '" + k.name + "' takes a TMA descriptor, which "
                     "only CUDA kernels can use; the CPU cannot run this plan"};

  // dlopen wants a path: give it an anonymous in-memory file.
  int fd = memfd_create("skim-kernels", MFD_CLOEXEC);
  if (fd < 0)
    return Error{std::string("memfd_create failed: ") + std::strerror(errno)};
  if (write(fd, object->data(), object->size()) != ssize_t(object->size())) {
    close(fd);
    return Error{"cannot write the kernel object to memory"};
  }
  // The fd stays open as long as the library is loaded: the loader knows a
  // library by its path, and a reused fd number would hand back the
  // previous artifact's kernels.
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    close(fd);
    return Error{std::string("cannot load the artifact's kernels: ") + dlerror()};
  }

  std::unique_ptr<CpuExecutable> exe(new CpuExecutable());
  exe->plan_ = std::move(*plan);
  exe->handle = handle;
  exe->memfd = fd;
  for (const KernelDecl &k : exe->plan_.kernels) {
    auto entry = reinterpret_cast<Entry>(dlsym(handle, (k.name + "_entry").c_str()));
    if (!entry)
      return Error{"the artifact's kernel object lacks '" + k.name + "_entry'"};
    exe->entries.push_back(entry);
  }
  return exe;
}

CpuExecutable::~CpuExecutable() {
  if (handle)
    dlclose(handle);
  if (memfd >= 0)
    close(memfd);
}

Expected<std::vector<std::vector<int64_t>>>
CpuExecutable::outputShapes(const std::vector<TensorView> &inputs) const {
  Binding bind;
  std::vector<std::vector<int64_t>> shapes;
  if (Status s = bindCaller(plan_, inputs, nullptr, {}, bind, &shapes); !s)
    return Error{s.message()};
  return shapes;
}

Expected<size_t>
CpuExecutable::workspaceBytes(const std::vector<TensorView> &inputs) const {
  Binding bind;
  if (Status s = bindCaller(plan_, inputs, nullptr, {}, bind, nullptr); !s)
    return Error{s.message()};
  return bind.workspaceBytes;
}

std::shared_ptr<char> CpuExecutable::takeWorkspace(size_t bytes) const {
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    for (size_t i = 0; i < pool.size(); ++i) {
      if (pool[i].first >= bytes) {
        std::shared_ptr<char> buffer = pool[i].second;
        pool.erase(pool.begin() + long(i));
        return buffer;
      }
    }
  }
  size_t rounded = (bytes + 63) / 64 * 64;
  return std::shared_ptr<char>(static_cast<char *>(std::aligned_alloc(64, rounded)), std::free);
}

void CpuExecutable::giveWorkspace(std::shared_ptr<char> buffer, size_t bytes) const {
  std::lock_guard<std::mutex> lock(poolMutex);
  pool.emplace_back(bytes, std::move(buffer));
}

Status CpuExecutable::run(const std::vector<TensorView> &inputs,
                          const std::vector<TensorView> &outputs,
                          ThreadPool &pool, const RunOptions &options) const {
  Binding bind;
  if (Status s = bindCaller(plan_, inputs, &outputs, {}, bind, nullptr); !s)
    return s;
  std::shared_ptr<char> workspace;
  if (bind.workspaceBytes) {
    workspace = takeWorkspace(bind.workspaceBytes);
    if (!workspace)
      return Error{"cannot allocate " + std::to_string(bind.workspaceBytes) +
                   " bytes of workspace"};
    bind.placeWorkspace(plan_, workspace.get());
    (void)bind.zeroWorkspace(plan_, [](void *data, size_t bytes) {
      std::memset(data, 0, bytes);
      return Status::ok();
    });
  }
  struct Return {
    const CpuExecutable *self;
    std::shared_ptr<char> &buffer;
    size_t bytes;
    ~Return() {
      if (buffer)
        self->giveWorkspace(std::move(buffer), bytes);
    }
  } giveBack{this, workspace, (bind.workspaceBytes + 63) / 64 * 64};
  auto leaf = [&](bool s, int b, int d) { return bind.leaf(s, b, d); };
  // SKIM_PROFILE=1 prints each kernel's wall time (the grids run one after
  // another, so the times add up to the run).
  static const bool profile = std::getenv("SKIM_PROFILE") != nullptr;
  if (options.validateIndices) {
    for (const IndexCheck &c : plan_.indexChecks) {
      Expected<int64_t> blocks = c.blocks.eval(leaf);
      if (!blocks)
        return Error{blocks.message()};
      const TensorView &v = bind.views[c.buffer];
      if (Status s = checkIndices(v, static_cast<const int32_t *>(v.data),
                                  *blocks, bufferName(plan_.buffers[c.buffer]));
          !s)
        return s;
    }
  }
  for (size_t k = 0; k < plan_.kernels.size(); ++k) {
    const KernelDecl &decl = plan_.kernels[k];
    Expected<std::array<int64_t, 3>> gridOr = bind.grid(decl);
    if (!gridOr)
      return Error{gridOr.message()};
    const std::array<int64_t, 3> &grid = *gridOr;
    if (grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0)
      continue;
    std::vector<int64_t> words;
    // Stable addresses: the words point at them.
    std::vector<std::unique_ptr<EmulatedTensorMap>> maps;
    for (const KernelArg &a : decl.args) {
      if (a.kind == KernelArg::Kind::Tensor) {
        const TensorView &v = bind.views[a.buffer];
        auto base = reinterpret_cast<int64_t>(v.data);
        words.insert(words.end(), {base, base, 0, v.extent(), 1});
        continue;
      }
      if (a.kind == KernelArg::Kind::TensorMap) {
        const TensorView &v = bind.views[a.buffer];
        if (v.shape.size() > size_t(EmulatedTensorMap::kMaxRank))
          return Error{decl.name + ": a TMA descriptor of rank " +
                       std::to_string(v.shape.size()) + " (at most 5)"};
        auto map = std::make_unique<EmulatedTensorMap>();
        map->base = v.data;
        map->elementBytes = int64_t(dtypeSize(v.dtype));
        map->rank = int64_t(v.shape.size());
        map->swizzle = a.swizzle == Swizzle::B32    ? 32
                       : a.swizzle == Swizzle::B64  ? 64
                       : a.swizzle == Swizzle::B128 ? 128
                                                    : 0;
        for (size_t d = 0; d < v.shape.size(); ++d) {
          map->dims[d] = v.shape[d];
          map->strides[d] = v.strides[d];
          map->box[d] = a.box[d];
        }
        auto at = reinterpret_cast<int64_t>(map.get());
        words.insert(words.end(), {at, at, 0, 1, 1});
        maps.push_back(std::move(map));
        continue;
      }
      Expected<int64_t> value = a.scalar.eval(leaf);
      if (!value)
        return Error{decl.name + ": " + value.message()};
      words.push_back(*value);
    }
    Entry entry = entries[k];
    int64_t gx = grid[0], gy = grid[1];
    auto start = std::chrono::steady_clock::now();
    pool.parallelFor(grid[0] * grid[1] * grid[2], [&](int64_t i) {
      entry(words.data(), i % gx, (i / gx) % gy, i / (gx * gy));
    });
    if (profile)
      std::fprintf(stderr, "skim: profile: %s grid %lldx%lldx%lld %.3f ms\n",
                   decl.name.c_str(), (long long)grid[0], (long long)grid[1],
                   (long long)grid[2],
                   std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start).count());
  }
  return Status::ok();
}
