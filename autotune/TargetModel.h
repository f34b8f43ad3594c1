//===- TargetModel.h - what a device offers a kernel ------------*- C++ -*-===//
//
// The numbers the resource model prunes with (shared memory, registers,
// MMA shapes) and the cost model prices with (peak rates, bandwidth, SMs),
// per compile target. Published limits, except where a note says measured.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_TARGETMODEL_H
#define SKIM_AUTOTUNE_TARGETMODEL_H

#include <cstdint>
#include <optional>
#include <string>

namespace skim::tune {

/// How a target runs a 16-bit tile matmul.
enum class MatmulUnit {
  /// sm_90a warpgroup MMA: 64-row slices, A and B from shared memory.
  Wgmma,
  /// mma.sync m16n8k16 (sm_80, sm_90).
  MmaSync,
  /// AMD MFMA / WMMA (a tile of 16 or 32 rows a wave).
  Mfma,
  /// Vector loops on the host CPU.
  Cpu,
};

struct TargetModel {
  /// The compile target: "sm_90a", "sm_80", "gfx942", "host".
  std::string name;
  MatmulUnit unit = MatmulUnit::Cpu;
  /// Threads a warp or wave (32 on NVIDIA and gfx11, 64 on CDNA).
  int64_t warpSize = 32;
  /// Streaming multiprocessors, compute units or CPU cores.
  int64_t processors = 1;
  /// Shared memory (LDS) one block may have, and one processor holds.
  int64_t sharedBytesPerBlock = 48 * 1024;
  int64_t sharedBytesPerProcessor = 48 * 1024;
  /// 32-bit registers a processor holds, and the most one thread may take.
  int64_t registersPerProcessor = 65536;
  int64_t maxRegistersPerThread = 255;
  /// f32 accumulator registers a lane's fragments may take before the
  /// lowering falls back (FragmentLowering's budget).
  int64_t fragmentRegisterBudget = 192;
  int64_t maxThreadsPerProcessor = 2048;
  int64_t maxThreadsPerBlock = 1024;
  /// Dense 16-bit MMA and f32 FMA peaks, TFLOP/s; DRAM bandwidth, GB/s.
  double matmulTflops = 1;
  double simtTflops = 1;
  double bandwidthGBs = 100;
  /// Launch-to-launch cost of one kernel, µs.
  double launchUs = 4;

  /// The model of a compile target, or nothing for one skim does not know.
  /// `processors` > 0 overrides the chip's count (the device's own).
  static std::optional<TargetModel> forTarget(const std::string &target,
                                              int64_t processors = 0);
};

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_TARGETMODEL_H
