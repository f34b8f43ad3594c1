//===- EmulatedTensorMap.h - TMA descriptors for the lane emulator -*- C++ -*-===//
//
// What a CUtensorMap says, in a form the lane emulator reads: when an
// artifact emulates an NVIDIA GPU (section `emulates`), the CPU runtime
// passes a kernel's TMA descriptor argument (plan form `m<buffer>:<box>:<swz>`)
// as a pointer to one of these, built at launch from the bound tensor, in
// place of the 128 bytes cuTensorMapEncodeTiled would write.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_EMULATEDTENSORMAP_H
#define SKIM_RUNTIME_EMULATEDTENSORMAP_H

#include <cstdint>

namespace skim::rt {

struct EmulatedTensorMap {
  static constexpr int kMaxRank = 5;
  const void *base = nullptr;
  int64_t elementBytes = 0;
  int64_t rank = 0;
  /// Bytes of the swizzle pattern: 0 (none), 32, 64 or 128.
  int64_t swizzle = 0;
  /// In the plan's order, outermost first; strides in elements.
  int64_t dims[kMaxRank] = {}, strides[kMaxRank] = {}, box[kMaxRank] = {};
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_EMULATEDTENSORMAP_H
