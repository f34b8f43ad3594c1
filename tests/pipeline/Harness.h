//===- Harness.h - compile and run variants in tests ------------*- C++ -*-===//
//
// Tests write a variant as MLIR, give inputs as reference tensors, and get
// the outputs back as reference tensors, poisoned with NaN before the run so
// an element the kernels never write fails the comparison. Compiles are
// cached for the whole suite, in memory and on disk ($SKIM_TEST_CACHE, else
// the build folder), keyed by the MLIR text.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_TESTS_PIPELINE_HARNESS_H
#define SKIM_TESTS_PIPELINE_HARNESS_H

#include "reference/Reference.h"
#include "skim/runtime/CpuExecutable.h"

#include <string>
#include <variant>
#include <vector>

namespace skim::testing {

enum class ElementType { F32, BF16, F16 };

/// Where a variant's kernels run: compiled for the host CPU, or lowered for
/// NVIDIA (sm_80) and run on the host through the lane emulator
/// (docs/LaneEmulator.md; the test binary must link SkimLaneEmulator).
/// Where a variant runs: the CPU, or the NVIDIA kernels' lanes on the CPU
/// (compiled for sm_80: mma.sync; for sm_90a: wgmma where a gemm fits; and
/// sm_90a with the softmax overlapped, PipelineOptions::overlapSoftmax; and
/// sm_90a with a TMA producer warpgroup, PipelineOptions::warpSpecialize).
enum class Target {
  Host,
  LaneEmulator,
  LaneEmulatorSm90a,
  LaneEmulatorSm90aOverlap,
  LaneEmulatorSm90aWarpSpecialized,
  /// The AMD lowering emulated: gfx942 with its default MFMA 32x32x8,
  /// gfx942 with MFMA 16x16x16, gfx1100 with WMMA (wave32, and wave64).
  LaneEmulatorGfx942,
  LaneEmulatorGfx942Mfma16,
  LaneEmulatorGfx1100,
  LaneEmulatorGfx1100Wave64
};

/// One argument of a variant function: floats (stored in the test's element
/// type) or i32 indices/counts.
using Argument = std::variant<ref::Tensor, ref::IndexTensor>;

/// The compiled variant, or a failure with the compiler's diagnostics.
const rt::CpuExecutable &compile(const std::string &mlir,
                                 Target target = Target::Host);
/// Compiles and returns the diagnostics of a failure ("" on success).
std::string compileError(const std::string &mlir, Target target = Target::Host);

/// Runs on the CPU device with `threads` workers; float arguments are
/// converted to `type` (their values must already be representable, see
/// roundTo). Returns every output as f32, or an error.
rt::Expected<std::vector<ref::Tensor>> run(const rt::CpuExecutable &exe,
                                           const std::vector<Argument> &args,
                                           ElementType type, unsigned threads = 2,
                                           const rt::RunOptions &options = {});

/// Rounds values to what the element type can hold (nearest even).
ref::Tensor roundTo(ref::Tensor t, ElementType type);
/// Uniform random values in [lo, hi), reproducible from the seed.
ref::Tensor random(std::vector<int64_t> shape, unsigned seed, float lo = -1.f,
                   float hi = 1.f);

/// MLIR element type name: "f32", "bf16" or "f16".
const char *mlirName(ElementType type);

} // namespace skim::testing

#endif // SKIM_TESTS_PIPELINE_HARNESS_H
