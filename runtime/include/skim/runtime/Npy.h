//===- Npy.h - NumPy .npy files (f32, i32) ----------------------*- C++ -*-===//

#ifndef SKIM_RUNTIME_NPY_H
#define SKIM_RUNTIME_NPY_H

#include "skim/runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace skim::rt {

/// A C-ordered array read from or written to .npy (version 1.0 and 2.0
/// headers; little-endian f32 '<f4', f64 '<f8' (read as f32), i32 '<i4').
struct NpyArray {
  std::vector<int64_t> shape;
  std::string descr; // "<f4" or "<i4"
  std::vector<char> bytes;
  static Expected<NpyArray> read(const std::string &path);
  Status write(const std::string &path) const;
  static NpyArray fromFloats(const std::vector<int64_t> &shape, const float *data);
  static NpyArray fromInts(const std::vector<int64_t> &shape, const int32_t *data);
  int64_t numel() const;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_NPY_H
