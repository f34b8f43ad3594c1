//===- Pipeline.h - the skim compiler pipeline ------------------*- C++ -*-===//
//
// Drivers (skim, the JIT, tests) and skim-opt build the same pipeline through
// these functions.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_PIPELINES_PIPELINE_H
#define SKIM_PIPELINES_PIPELINE_H

#include "Conversion/SkimToTile/DefaultSchedule.h"
#include "Target/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::skim {

/// The targets `--target` takes.
inline constexpr const char *kSupportedTargets =
    "host, sm_80, sm_90, sm_90a, gfx90a, gfx942, gfx1100";

struct PipelineOptions {
  /// "host" (the CPU), an NVIDIA chip: "sm_80", "sm_90", "sm_90a" (see
  /// CudaTarget.h), or an AMD chip: "gfx90a", "gfx942", "gfx1100"
  /// (AmdTarget.h).
  std::string target = "host";
  HostCpu host = HostCpu::detect();
  /// With a GPU target: instead of a cubin or code object, run its kernels' threads on
  /// this CPU through the lane emulator (docs/LaneEmulator.md). The artifact
  /// is a host artifact; the process that runs it must have
  /// libSkimLaneEmulator loaded.
  bool emulateLanes = false;
  /// With sm_90a: K and V tiles arrive by TMA boxes completing on mbarriers
  /// (docs/TileLevel.md §6.3); false keeps cp.async, to compare the two.
  /// The lane emulator models both.
  bool tma = true;
  /// With sm_90a: software-pipeline the key loops so that the softmax of one
  /// chunk runs under the matmuls of its neighbours (FlashAttention-3's
  /// order; docs/TileLevel.md §6.3). Off by default: it costs a second
  /// score tile of registers, which cut the 64-row tile's CTAs per SM from
  /// three to two and made it slower on the H200 (bench/NOTES.md); two
  /// warpgroups of 64 rows gain from it.
  bool overlapSoftmax = false;
  /// With TMA: a producer warpgroup issues the copies and setmaxnreg gives
  /// its registers to the consumers (FlashAttention-3's warp
  /// specialisation; docs/TileLevel.md §6.4). Kernels whose copy
  /// coordinates need memory the kernel writes stay unsplit.
  bool warpSpecialize = false;
  /// With an AMD chip: the matrix instruction of the fragment tiles
  /// (skim-lower-tile-to-gpu's amd-matrix): "" for the chip's default
  /// (AmdTarget::defaultMatrix), "mfma_32x32x8", "mfma_16x16x16" (CDNA),
  /// "wmma_16x16x16" (RDNA3), or "simt" (no matrix cores).
  std::string amdMatrix;
  /// With an AMD chip: lanes a wave, 0 for the chip's (64 on CDNA, 32 on
  /// RDNA3); 64 on gfx1100 compiles its wave64 mode (WMMA included).
  int amdWaveSize = 0;
};

/// The target as tuning records it (the cache key's arch, a manifest's
/// target): `options.target`, with ":wave64" for gfx1100 in wave64 mode,
/// whose schedules do not fit its wave32 kernels.
std::string tuningTarget(const PipelineOptions &options);

/// What skim-tile's default schedules read for `options.target` (the
/// options the pipeline gives it); the autotuner's baseline.
ScheduleDefaults scheduleDefaultsFor(const PipelineOptions &options);

/// skim-expand-variants → skim-tile → skim-lower-tile-to-cpu → LLVM dialect.
LogicalResult buildSkimPipeline(OpPassManager &pm, const PipelineOptions &options,
                                std::string *error = nullptr);

/// Compiles a module holding one variant function into an artifact (the
/// serialised container of runtime/include/skim/runtime/Artifact.h).
FailureOr<std::string> compileToArtifact(ModuleOp module,
                                         const PipelineOptions &options);

/// The lane emulator's half of the pipeline on its own: `module` holds
/// gpu.module kernels (the NVIDIA lowering's, or hand-written ones in tests,
/// with the module attributes `skim.gpu_block` and `skim.gpu_shared_bytes`
/// or known block sizes) → a host artifact carrying `plan` whose kernels run
/// through the lane emulator.
FailureOr<std::string> compileForLaneEmulator(ModuleOp module,
                                              const std::string &plan,
                                              const HostCpu &host);

/// The version string every cache key and artifact carries.
const char *compilerVersion();
/// The version plus the identity of this build of the compiler (binary
/// path, size, time): what caches key on.
const std::string &compilerBuildId();

} // namespace mlir::skim

#endif // SKIM_PIPELINES_PIPELINE_H
