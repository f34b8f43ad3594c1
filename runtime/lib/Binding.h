//===- Binding.h - binding caller tensors to a plan's buffers ---*- C++ -*-===//
//
// What CpuExecutable and GpuExecutable share: checking the caller's tensors
// against the plan (count, device, dtype, rank, dims, strides, requirements),
// sizing outputs and workspace, and validating selection indices. Internal to
// the runtime; docs/LaunchPlan.md ("Binding, sizing, running") describes it.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_LIB_BINDING_H
#define SKIM_RUNTIME_LIB_BINDING_H

#include "skim/runtime/Device.h"
#include "skim/runtime/Plan.h"
#include "skim/runtime/Tensor.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <array>
#include <vector>

namespace skim::rt::detail {

/// Buffers bound to caller tensors or workspace, with their dims and strides.
struct Binding {
  std::vector<TensorView> views;
  std::vector<bool> bound;
  /// Every workspace buffer, each rounded up to the alignment, end to end.
  size_t workspaceBytes = 0;
  std::vector<size_t> workspaceOffset;

  /// A leaf of a plan expression: dim or stride `dim` of `buffer`.
  Expected<int64_t> leaf(bool stride, int buffer, int dim) const;
  /// Points every workspace buffer's view into `base`.
  void placeWorkspace(const Plan &plan, char *base);
  /// Calls `zero(data, bytes)` for each workspace buffer the plan marks
  /// `zero`, once placeWorkspace has run; stops at the first error.
  Status zeroWorkspace(const Plan &plan,
                       const std::function<Status(void *, size_t)> &zero) const;
  /// The kernel's grid for the bound sizes (a dim ≤ 0 means: skip it).
  Expected<std::array<int64_t, 3>> grid(const KernelDecl &kernel) const;
};

/// "input #i" or "output #i".
std::string bufferName(const BufferDecl &b);

/// Where the caller's tensors must live and how workspace is laid out.
struct BindOptions {
  DeviceKind device = DeviceKind::Cpu;
  /// Each workspace buffer starts at a multiple of this (a power of two).
  size_t workspaceAlignment = 64;
};

/// Checks the inputs (and the outputs, when given) against the plan, then
/// sizes every other buffer in plan order and checks the requirements. With
/// `shapes`, records each output's planned shape.
Status bindCaller(const Plan &plan, const std::vector<TensorView> &inputs,
                  const std::vector<TensorView> *outputs,
                  const BindOptions &options, Binding &bind,
                  std::vector<std::vector<int64_t>> *shapes);

/// Every element of a strided i32 tensor in host memory (`data` standing in
/// for `v.data`) must be −1 or in [0, blocks).
Status checkIndices(const TensorView &v, const int32_t *data, int64_t blocks,
                    const std::string &name);

} // namespace skim::rt::detail

#endif // SKIM_RUNTIME_LIB_BINDING_H
