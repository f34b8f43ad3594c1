//===- Pipeline.h - the skim compiler pipeline ------------------*- C++ -*-===//
//
// Drivers (skim, the JIT, tests) and skim-opt build the same pipeline through
// these functions.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_PIPELINES_PIPELINE_H
#define SKIM_PIPELINES_PIPELINE_H

#include "Target/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::skim {

struct PipelineOptions {
  /// "host" (the CPU), or an NVIDIA chip: "sm_80", "sm_90", "sm_90a" (the
  /// first, SIMT GPU path; see CudaTarget.h).
  std::string target = "host";
  HostCpu host = HostCpu::detect();
};

/// skim-expand-variants → skim-tile → skim-lower-tile-to-cpu → LLVM dialect.
LogicalResult buildSkimPipeline(OpPassManager &pm, const PipelineOptions &options,
                                std::string *error = nullptr);

/// Compiles a module holding one variant function into an artifact (the
/// serialised container of runtime/include/skim/runtime/Artifact.h).
FailureOr<std::string> compileToArtifact(ModuleOp module,
                                         const PipelineOptions &options);

/// The version string every cache key and artifact carries.
const char *compilerVersion();
/// The version plus the identity of this build of the compiler (binary
/// path, size, time): what caches key on.
const std::string &compilerBuildId();

} // namespace mlir::skim

#endif // SKIM_PIPELINES_PIPELINE_H
