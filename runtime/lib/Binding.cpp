//===- Binding.cpp - binding caller tensors to a plan's buffers -----------===//

#include "Binding.h"

using namespace skim::rt;
using namespace skim::rt::detail;

Expected<int64_t> Binding::leaf(bool stride, int buffer, int dim) const {
  if (buffer < 0 || buffer >= int(views.size()) || !bound[buffer])
    return Error{"launch plan refers to buffer " + std::to_string(buffer) +
                 " before it is sized"};
  const TensorView &v = views[buffer];
  if (dim < 0 || dim >= int(v.shape.size()))
    return Error{"launch plan refers to dim " + std::to_string(dim) +
                 " of rank-" + std::to_string(v.shape.size()) + " buffer"};
  return stride ? v.strides[dim] : v.shape[dim];
}

void Binding::placeWorkspace(const Plan &plan, char *base) {
  for (size_t i = 0; i < plan.buffers.size(); ++i)
    if (plan.buffers[i].kind == BufferDecl::Kind::Workspace)
      views[i].data = base + workspaceOffset[i];
}

Status Binding::zeroWorkspace(
    const Plan &plan, const std::function<Status(void *, size_t)> &zero) const {
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const BufferDecl &b = plan.buffers[i];
    if (b.kind != BufferDecl::Kind::Workspace || !b.zeroed || !views[i].numel())
      continue;
    if (Status s = zero(views[i].data, size_t(views[i].numel()) * dtypeSize(b.dtype)); !s)
      return s;
  }
  return Status::ok();
}

std::string skim::rt::detail::bufferName(const BufferDecl &b) {
  return std::string(b.kind == BufferDecl::Kind::Input ? "input #" : "output #") +
         std::to_string(b.index);
}

Status skim::rt::detail::bindCaller(const Plan &plan,
                                    const std::vector<TensorView> &inputs,
                                    const std::vector<TensorView> *outputs,
                                    const BindOptions &options, Binding &bind,
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
    if (v.device != options.device)
      return Error{name + " is a " + deviceKindName(v.device) +
                   " tensor, but this executable runs on " +
                   deviceKindName(options.device)};
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
  const size_t align = options.workspaceAlignment;
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
                       ", expected " +
                       TensorView::contiguous(nullptr, decl.dtype, shape).describe()};
        bind.views[i] = v;
      } else {
        bind.views[i] = TensorView::contiguous(nullptr, decl.dtype, shape);
        bind.views[i].device = options.device;
      }
    } else {
      bind.views[i] = TensorView::contiguous(nullptr, decl.dtype, shape);
      bind.views[i].device = options.device;
      workspaceOffset[i] = workspaceBytes;
      size_t bytes = size_t(bind.views[i].numel()) * dtypeSize(decl.dtype);
      workspaceBytes += (bytes + align - 1) / align * align;
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

Status skim::rt::detail::checkIndices(const TensorView &v, const int32_t *data,
                                      int64_t blocks, const std::string &name) {
  std::vector<int64_t> index(v.shape.size(), 0);
  int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d)
      offset += index[d] * v.strides[d];
    int32_t entry = data[offset];
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

Expected<std::array<int64_t, 3>> Binding::grid(const KernelDecl &kernel) const {
  std::array<int64_t, 3> g;
  for (int i = 0; i < 3; ++i) {
    Expected<int64_t> v = kernel.grid[i].eval(
        [&](bool s, int b, int d) { return leaf(s, b, d); });
    if (!v)
      return Error{kernel.name + ": " + v.message()};
    g[i] = *v;
  }
  return g;
}
