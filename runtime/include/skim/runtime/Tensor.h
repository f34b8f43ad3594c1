//===- Tensor.h - tensor views the runtime launches on ----------*- C++ -*-===//

#ifndef SKIM_RUNTIME_TENSOR_H
#define SKIM_RUNTIME_TENSOR_H

#include "skim/runtime/Device.h"
#include "skim/runtime/Plan.h"

#include <cstdint>
#include <vector>

namespace skim::rt {

/// bfloat16 conversions (round to nearest even; NaN stays NaN), for callers
/// that fill or read bf16 tensors on the host.
uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t h);

/// A strided view of caller memory; strides are in elements. For a GPU run
/// `data` is a device pointer and `device` names the GPU kind; executables
/// refuse views that live elsewhere.
struct TensorView {
  void *data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  DeviceKind device = DeviceKind::Cpu;

  /// A contiguous row-major view.
  static TensorView contiguous(void *data, DType dtype, std::vector<int64_t> shape);
  int64_t numel() const;
  /// Elements from the first to one past the last addressed element.
  int64_t extent() const;
  std::string describe() const;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_TENSOR_H
