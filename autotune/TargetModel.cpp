//===- TargetModel.cpp - what a device offers a kernel --------------------===//

#include "autotune/TargetModel.h"

#include <thread>

namespace skim::tune {

std::optional<TargetModel> TargetModel::forTarget(const std::string &target,
                                                  int64_t processors) {
  TargetModel m;
  m.name = target;
  if (target == "sm_90a" || target == "sm_90") {
    // H100/H200 SXM: 132 SMs, 227 KB of shared memory a block, 989 TFLOP/s
    // dense bf16 (wgmma; mma.sync reaches about two thirds of it), 4.8 TB/s
    // (H200; H100 3.35).
    m.unit = target == "sm_90a" ? MatmulUnit::Wgmma : MatmulUnit::MmaSync;
    m.processors = 132;
    m.sharedBytesPerBlock = 227 * 1024;
    m.sharedBytesPerProcessor = 228 * 1024;
    m.matmulTflops = target == "sm_90a" ? 989 : 660;
    m.simtTflops = 67;
    m.bandwidthGBs = 4800;
  } else if (target == "sm_80") {
    // A100 SXM: 108 SMs, 163 KB a block, 312 TFLOP/s bf16, 2.0 TB/s.
    m.unit = MatmulUnit::MmaSync;
    m.processors = 108;
    m.sharedBytesPerBlock = 163 * 1024;
    m.sharedBytesPerProcessor = 164 * 1024;
    m.matmulTflops = 312;
    m.simtTflops = 19.5;
    m.bandwidthGBs = 2000;
  } else if (target == "gfx942" || target == "gfx90a") {
    // MI300X (304 CUs, 1307 TFLOP/s bf16, 5.3 TB/s) and MI250X per GCD
    // (110 CUs, 191.5, 1.6 TB/s): 64 KB of LDS a CU, wave64, 512 VGPRs
    // (with AGPRs) a lane.
    bool mi300 = target == "gfx942";
    m.unit = MatmulUnit::Mfma;
    m.warpSize = 64;
    m.processors = mi300 ? 304 : 110;
    m.sharedBytesPerBlock = 64 * 1024;
    m.sharedBytesPerProcessor = 64 * 1024;
    m.registersPerProcessor = 4 * 512 * 64;
    m.maxRegistersPerThread = 512;
    m.fragmentRegisterBudget = 256;
    m.maxThreadsPerProcessor = 2048;
    m.matmulTflops = mi300 ? 1307 : 191.5;
    m.simtTflops = mi300 ? 163 : 47.9;
    m.bandwidthGBs = mi300 ? 5300 : 1600;
  } else if (target == "gfx1100") {
    // RX 7900 XTX: 96 CUs (48 WGPs), wave32 WMMA, 123 TFLOP/s f16, 960 GB/s.
    m.unit = MatmulUnit::Mfma;
    m.warpSize = 32;
    m.processors = 96;
    m.sharedBytesPerBlock = 64 * 1024;
    m.sharedBytesPerProcessor = 128 * 1024;
    m.registersPerProcessor = 2 * 1536 * 32;
    m.matmulTflops = 123;
    m.simtTflops = 61;
    m.bandwidthGBs = 960;
  } else if (target == "host") {
    // A core: 2 AVX2 FMA ports × 8 f32 lanes × 2 flops × ~3 GHz; tiles
    // stay in its L2 (1 MiB is the common size).
    m.unit = MatmulUnit::Cpu;
    m.warpSize = 1;
    m.processors = std::max(1u, std::thread::hardware_concurrency());
    m.sharedBytesPerBlock = 1 << 20;
    m.sharedBytesPerProcessor = 1 << 20;
    m.registersPerProcessor = 1 << 30;
    m.maxRegistersPerThread = 1 << 30;
    m.fragmentRegisterBudget = 1 << 30;
    m.maxThreadsPerProcessor = 1 << 30;
    m.maxThreadsPerBlock = 1 << 30;
    m.matmulTflops = 0.096 * double(m.processors);
    m.simtTflops = m.matmulTflops;
    m.bandwidthGBs = 20;
    m.launchUs = 20;
  } else {
    return std::nullopt;
  }
  if (processors > 0) {
    double scale = double(processors) / double(m.processors);
    m.matmulTflops *= scale;
    m.simtTflops *= scale;
    m.processors = processors;
  }
  return m;
}

} // namespace skim::tune
