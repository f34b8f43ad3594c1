//===- Autotune.h - tuning a variant end to end -----------------*- C++ -*-===//
//
// What `skim tune` and skim-attach-schedule share: the cache key of a
// variant, the inputs its measurement needs, the search spaces of its
// stages, a tuning run (compile in parallel, measure on the device, cache
// the best), and putting a cached result back onto a variant.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_AUTOTUNE_H
#define SKIM_AUTOTUNE_AUTOTUNE_H

#include "autotune/Measure.h"
#include "autotune/SearchSpace.h"
#include "autotune/Stage.h"
#include "autotune/Tuner.h"
#include "autotune/TuningCache.h"

#include "Pipelines/Pipeline.h"

#include "skim/runtime/Device.h"

#include <optional>
#include <string>
#include <vector>

namespace skim::tune {

/// The device a key is for: name, arch (the compile target) and driver.
struct DeviceIdentity {
  std::string name;
  std::string arch;
  std::string driver;
};

/// The kind of device `target`'s code runs on: the CPU for "host", CUDA
/// for an NVIDIA chip, HIP for an AMD one; nothing for an unknown target.
std::optional<::skim::rt::DeviceKind> deviceKindFor(const std::string &target);

/// A schedule as the dialect prints it; "" for none (the default).
std::string scheduleText(mlir::skim::ScheduleAttr schedule);

/// The device a compile for `target` will run on: `name` and `driver` when
/// given (both or neither), else the first device of the target's kind on
/// this machine. An empty name, with `why` set, when there is none: then
/// there is nothing to look tuned schedules up for.
DeviceIdentity deviceIdentityFor(const std::string &target,
                                 const std::string &name,
                                 const std::string &driver, std::string &why);

/// Hash (hex) of the variant's IR without its schedules: two variants that
/// differ only in schedules, or in their dynamic sizes, share it.
std::string variantSignature(mlir::ModuleOp module);

/// Batch exactly, tokens and keys rounded up to a power of two:
/// "B1-T65536-S65536".
std::string shapeBucket(const ProblemSizes &sizes);

TuningKey tuningKey(mlir::ModuleOp module, const DeviceIdentity &device,
                    const ProblemSizes &sizes);

/// The inputs of the variant function at `sizes`, filled as their uses
/// need: selection indices and counts valid for the attention reading them,
/// NSA's gates in [0, 1], the rest in [-1, 1]. Fails naming an argument it
/// cannot size.
mlir::FailureOr<std::vector<InputSpec>> inputsFor(mlir::ModuleOp module,
                                                  const ProblemSizes &sizes);

/// The model of `options`' target as compiled: the chip's, with the wave
/// size of `amdWaveSize` (gfx1100's wave64 mode); nothing for a target
/// skim has no model of.
std::optional<TargetModel>
targetModelFor(const mlir::skim::PipelineOptions &options);

/// The pruned search spaces of every stage of the variant for `options`'
/// target.
mlir::FailureOr<std::vector<SearchSpace>>
buildSearchSpaces(mlir::ModuleOp module, const ProblemSizes &sizes,
                  const mlir::skim::PipelineOptions &options,
                  const TargetModel &target);

/// The spaces as the search takes them (schedules as text, `limit` > 0
/// keeps that many candidates a stage, the default always among them).
std::vector<StageCandidates>
candidatesOf(const std::vector<SearchSpace> &spaces, size_t limit = 0);

/// Compiles `source` (a variant's MLIR text) with `config`'s schedules on
/// its stages into an artifact, in a context of its own (so compiles can
/// run on several threads). Errors carry the compiler's diagnostics.
skim::rt::Expected<std::string>
compileConfig(const std::string &source, const Config &config,
              const mlir::skim::PipelineOptions &options);

/// Puts the cached schedules for `key` onto the variant (stages that already
/// have a schedule keep theirs). Returns the stages it set; warnings for a
/// cache entry it could not use.
mlir::FailureOr<std::vector<std::string>>
attachCachedSchedules(mlir::ModuleOp module, const TuningKey &key,
                      const TuningCache &cache,
                      std::vector<std::string> &warnings);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_AUTOTUNE_H
