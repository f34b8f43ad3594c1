//===- Tensor.h - tensor views the runtime launches on ----------*- C++ -*-===//

#ifndef SKIM_RUNTIME_TENSOR_H
#define SKIM_RUNTIME_TENSOR_H

#include "skim/runtime/Plan.h"

#include <cstdint>
#include <vector>

namespace skim::rt {

/// A strided view of caller memory; strides are in elements.
struct TensorView {
  void *data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;

  /// A contiguous row-major view.
  static TensorView contiguous(void *data, DType dtype, std::vector<int64_t> shape);
  int64_t numel() const;
  /// Elements from the first to one past the last addressed element.
  int64_t extent() const;
  std::string describe() const;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_TENSOR_H
