//===- Lowering.h - pieces of skim-emulate-lanes ----------------*- C++ -*-===//
//
// The names and C signatures of the runtime calls are those of
// runtime/emulator/include/skim/emulator/LaneEmulator.h; a mismatch shows up
// as an undefined symbol when the CPU runtime loads the kernels, or as wrong
// numbers in the emulator tests.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_EMULATOR_LOWERING_H
#define SKIM_EMULATOR_LOWERING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

#include <array>

namespace mlir::skim::emulator {

/// What a kernel's launch needs besides its arguments.
struct KernelShape {
  std::array<int64_t, 3> block{{1, 1, 1}};
  int64_t sharedBytes = 0;
  /// AMD kernels: the wave size gpu.shuffle spans (the module's
  /// `skim.gpu_wave_size`); 0 for NVIDIA's 32-lane warps.
  int64_t waveSize = 0;
};

/// Calls into the emulator's runtime, each declared once in the module as a
/// private func.func.
class Runtime {
public:
  explicit Runtime(ModuleOp module) : module(module) {}
  /// Calls `name(args) -> results`, declaring it first if needed.
  ValueRange call(OpBuilder &b, Location loc, StringRef name,
                  TypeRange results, ValueRange args);

private:
  ModuleOp module;
};

/// Rewrites every per-lane and warp-wide operation of `laneFunc` (a former
/// gpu.func body, address spaces already dropped) into runtime calls on the
/// lane handle `lane`. Fails with a diagnostic on an operation it cannot
/// emulate.
LogicalResult lowerLaneOps(func::FuncOp laneFunc, Value lane,
                           const KernelShape &shape, Runtime &runtime);

/// Adds `name`: one grid block with the CPU runtime's kernel ABI (five words
/// per pointer argument of `kernelArgs`, one per integer, then the block's
/// x, y and z), which packs the arguments and runs `laneFunc` over the CTA.
LogicalResult buildBlockFunction(ModuleOp module, StringRef name,
                                 TypeRange kernelArgs, func::FuncOp laneFunc,
                                 const KernelShape &shape, Runtime &runtime);

} // namespace mlir::skim::emulator

#endif // SKIM_EMULATOR_LOWERING_H
