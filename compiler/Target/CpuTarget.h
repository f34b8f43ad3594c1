//===- CpuTarget.h - LLVM dialect → host shared object ----------*- C++ -*-===//

#ifndef SKIM_TARGET_CPUTARGET_H
#define SKIM_TARGET_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::skim {

/// The host the CPU code is compiled for: LLVM's name of the CPU and its
/// feature string, and the f32 vector width those features allow.
struct HostCpu {
  std::string triple, cpu, features;
  int64_t vectorWidth = 4;
  static HostCpu detect();
  /// Stable description for cache keys and the artifact's target section.
  std::string describe() const;
};

/// Translates a module in the LLVM dialect to LLVM IR, adds one
/// `<kernel>_entry(const int64_t *args, i64 x, i64 y, i64 z)` per kernel,
/// optimises at O3 for `host`, emits an object and links it with lld into a
/// shared object, whose bytes are returned.
FailureOr<std::string> buildCpuSharedObject(ModuleOp module,
                                            ArrayRef<std::string> kernels,
                                            const HostCpu &host);

} // namespace mlir::skim

#endif // SKIM_TARGET_CPUTARGET_H
