//===- CpuExecutable.cpp - running a launch plan on the host --------------===//

#include "skim/runtime/CpuExecutable.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <sys/mman.h>
#include <unistd.h>

using namespace skim::rt;

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

namespace {

/// Buffers bound to caller tensors or workspace, with their dims and strides.
struct Binding {
  std::vector<TensorView> views;
  std::vector<bool> bound;
  size_t workspaceBytes = 0;
  std::vector<size_t> workspaceOffset;

  Expected<int64_t> leaf(bool stride, int buffer, int dim) const {
    if (buffer < 0 || buffer >= int(views.size()) || !bound[buffer])
      return Error{"launch plan refers to buffer " + std::to_string(buffer) +
                   " before it is sized"};
    const TensorView &v = views[buffer];
    if (dim < 0 || dim >= int(v.shape.size()))
      return Error{"launch plan refers to dim " + std::to_string(dim) +
                   " of rank-" + std::to_string(v.shape.size()) + " buffer"};
    return stride ? v.strides[dim] : v.shape[dim];
  }
};

std::string bufferName(const BufferDecl &b) {
  return std::string(b.kind == BufferDecl::Kind::Input ? "input #" : "output #") +
         std::to_string(b.index);
}

Status bindCaller(const Plan &plan, const std::vector<TensorView> &inputs,
                  const std::vector<TensorView> *outputs, Binding &bind,
                  std::vector<std::vector<int64_t>> *shapes) {
  size_t n = plan.buffers.size();
  bind.views.assign(n, TensorView());
  bind.bound.assign(n, false);
  if (int(inputs.size()) != plan.numInputs())
    return Error{"expected " + std::to_string(plan.numInputs()) + " inputs, got " +
                 std::to_string(inputs.size())};
  if (outputs && int(outputs->size()) != plan.numOutputs())
    return Error{"expected " + std::to_string(plan.numOutputs()) + " outputs, got " +
                 std::to_string(outputs->size())};
  auto leaf = [&](bool s, int b, int d) { return bind.leaf(s, b, d); };
  auto checkView = [&](const BufferDecl &decl, const TensorView &v) -> Status {
    std::string name = bufferName(decl);
    if (!v.data && v.numel() > 0)
      return Error{name + " is a null pointer"};
    if (v.dtype != decl.dtype)
      return Error{name + " has element type " + dtypeName(v.dtype) + ", expected " +
                   dtypeName(decl.dtype)};
    if (v.shape.size() != decl.dims.size() || v.strides.size() != v.shape.size())
      return Error{name + " has rank " + std::to_string(v.shape.size()) +
                   ", expected " + std::to_string(decl.dims.size())};
    for (size_t d = 0; d < v.shape.size(); ++d) {
      if (v.shape[d] < 0)
        return Error{name + " has negative dim " + std::to_string(d)};
      if (v.strides[d] < 0)
        return Error{name + " has negative stride " + std::to_string(v.strides[d]) +
                     " in dim " + std::to_string(d)};
    }
    // Kernels read rows of the innermost dimension as contiguous vectors.
    if (!v.shape.empty() && v.shape.back() > 1 && v.strides.back() != 1)
      return Error{name + " must have unit stride in its last dimension, got " +
                   std::to_string(v.strides.back())};
    return Status::ok();
  };
  // Inputs first: their dims are the plan's symbols.
  for (size_t i = 0; i < n; ++i) {
    const BufferDecl &decl = plan.buffers[i];
    if (decl.kind != BufferDecl::Kind::Input)
      continue;
    if (decl.index < 0 || decl.index >= int(inputs.size()))
      return Error{"launch plan names input #" + std::to_string(decl.index)};
    const TensorView &v = inputs[decl.index];
    if (Status s = checkView(decl, v); !s)
      return s;
    bind.views[i] = v;
    bind.bound[i] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    const BufferDecl &decl = plan.buffers[i];
    if (decl.kind != BufferDecl::Kind::Input)
      continue;
    for (size_t d = 0; d < decl.dims.size(); ++d) {
      Expected<int64_t> want = decl.dims[d].eval(leaf);
      if (!want)
        return Error{want.message()};
      if (*want != bind.views[i].shape[d])
        return Error{bufferName(decl) + " dim " + std::to_string(d) + " is " +
                     std::to_string(bind.views[i].shape[d]) + ", expected " +
                     std::to_string(*want) + " (" + bind.views[i].describe() + ")"};
    }
  }
  // Then every other buffer in plan order: sizes follow from earlier ones.
  size_t workspaceBytes = 0;
  std::vector<size_t> workspaceOffset(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const BufferDecl &decl = plan.buffers[i];
    if (decl.kind == BufferDecl::Kind::Input)
      continue;
    std::vector<int64_t> shape;
    for (const Expr &e : decl.dims) {
      Expected<int64_t> v = e.eval(leaf);
      if (!v)
        return Error{v.message()};
      if (*v < 0)
        return Error{"launch plan gives buffer " + std::to_string(i) +
                     " a negative size " + std::to_string(*v) +
                     " for these inputs"};
      shape.push_back(*v);
    }
    if (decl.kind == BufferDecl::Kind::Output) {
      if (decl.index < 0 || decl.index >= plan.numOutputs())
        return Error{"launch plan names output #" + std::to_string(decl.index)};
      if (shapes) {
        if (int(shapes->size()) <= decl.index)
          shapes->resize(decl.index + 1);
        (*shapes)[decl.index] = shape;
      }
      if (outputs) {
        const TensorView &v = (*outputs)[decl.index];
        if (Status s = checkView(decl, v); !s)
          return s;
        if (v.shape != shape)
          return Error{bufferName(decl) + " has shape " + v.describe() +
                       ", expected " + TensorView::contiguous(nullptr, decl.dtype, shape).describe()};
        bind.views[i] = v;
      } else {
        bind.views[i] = TensorView::contiguous(nullptr, decl.dtype, shape);
      }
    } else {
      bind.views[i] = TensorView::contiguous(nullptr, decl.dtype, shape);
      workspaceOffset[i] = workspaceBytes;
      size_t bytes = size_t(bind.views[i].numel()) * dtypeSize(decl.dtype);
      workspaceBytes += (bytes + 63) / 64 * 64;
    }
    bind.bound[i] = true;
  }
  // Inputs must agree with one another (K's B with Q's B, ...); checked once
  // every buffer is sized, since a requirement may name derived sizes.
  for (const Requirement &r : plan.requirements) {
    Expected<int64_t> lhs = r.lhs.eval(leaf), rhs = r.rhs.eval(leaf);
    if (!lhs || !rhs)
      return Error{!lhs ? lhs.message() : rhs.message()};
    if (*lhs != *rhs)
      return Error{"inputs disagree: " + r.what + " (" + std::to_string(*lhs) +
                   " vs " + std::to_string(*rhs) + ")"};
  }
  bind.workspaceBytes = workspaceBytes;
  bind.workspaceOffset = workspaceOffset;
  return Status::ok();
}

} // namespace

Expected<std::vector<std::vector<int64_t>>>
CpuExecutable::outputShapes(const std::vector<TensorView> &inputs) const {
  Binding bind;
  std::vector<std::vector<int64_t>> shapes;
  if (Status s = bindCaller(plan_, inputs, nullptr, bind, &shapes); !s)
    return Error{s.message()};
  return shapes;
}

/// Every element of a strided i32 tensor must be −1 or in [0, blocks).
static Status checkIndices(const TensorView &v, int64_t blocks, const std::string &name) {
  std::vector<int64_t> index(v.shape.size(), 0);
  int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d)
      offset += index[d] * v.strides[d];
    int32_t entry = static_cast<const int32_t *>(v.data)[offset];
    if (entry != -1 && (entry < 0 || entry >= blocks)) {
      std::string at;
      for (size_t d = 0; d < index.size(); ++d)
        at += (d ? ", " : "") + std::to_string(index[d]);
      return Error{name + " entry [" + at + "] is " + std::to_string(entry) +
                   ": a selection entry must be -1 or a KV block in [0, " +
                   std::to_string(blocks) + ")"};
    }
    for (int64_t d = int64_t(index.size()) - 1; d >= 0; --d) {
      if (++index[d] < v.shape[d])
        break;
      index[d] = 0;
    }
  }
  return Status::ok();
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
  if (Status s = bindCaller(plan_, inputs, &outputs, bind, nullptr); !s)
    return s;
  std::shared_ptr<char> workspace;
  if (bind.workspaceBytes) {
    workspace = takeWorkspace(bind.workspaceBytes);
    if (!workspace)
      return Error{"cannot allocate " + std::to_string(bind.workspaceBytes) +
                   " bytes of workspace"};
    for (size_t i = 0; i < plan_.buffers.size(); ++i)
      if (plan_.buffers[i].kind == BufferDecl::Kind::Workspace)
        bind.views[i].data = workspace.get() + bind.workspaceOffset[i];
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
      if (Status s = checkIndices(bind.views[c.buffer], *blocks,
                                  bufferName(plan_.buffers[c.buffer]));
          !s)
        return s;
    }
  }
  for (size_t k = 0; k < plan_.kernels.size(); ++k) {
    const KernelDecl &decl = plan_.kernels[k];
    int64_t grid[3];
    for (int i = 0; i < 3; ++i) {
      Expected<int64_t> g = decl.grid[i].eval(leaf);
      if (!g)
        return Error{decl.name + ": " + g.message()};
      grid[i] = *g;
    }
    if (grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0)
      continue;
    std::vector<int64_t> words;
    for (const KernelArg &a : decl.args) {
      if (a.buffer >= 0) {
        const TensorView &v = bind.views[a.buffer];
        auto base = reinterpret_cast<int64_t>(v.data);
        words.insert(words.end(), {base, base, 0, v.extent(), 1});
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
