//===- CudaTarget.h - gpu.module → PTX or cubin -----------------*- C++ -*-===//

#ifndef SKIM_TARGET_CUDATARGET_H
#define SKIM_TARGET_CUDATARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::skim {

/// An NVIDIA target: `sm_80`, `sm_90` or `sm_90a`.
struct CudaTarget {
  std::string chip;
  /// Where ptxas is looked for (`<toolkit>/bin/ptxas`).
  std::string toolkit = "/usr/local/cuda";
  /// A cubin when ptxas exists, else PTX (the driver compiles it at load).
  bool cubin() const;
  /// The artifact section the image goes to: cuda.cubin or cuda.ptx.
  std::string section() const { return cubin() ? "cuda.cubin" : "cuda.ptx"; }
  /// "cuda:<chip>", the artifact's target section.
  std::string describe() const { return "cuda:" + chip; }
  /// Parses `--target`; false for anything that is not an NVIDIA chip.
  static bool parse(const std::string &target, CudaTarget &out);
};

/// The passes from the LLVM-ready kernels (after skim-lower-tile-to-gpu and
/// scf-to-cf) to a gpu.binary: attach the NVVM target, convert the gpu.module
/// to NVVM, serialise it (format=isa: PTX; format=bin: cubin through ptxas).
std::string cudaPipelineTail(const CudaTarget &target);

/// The translations and target interfaces gpu-module-to-binary needs.
void registerCudaTargetInterfaces(DialectRegistry &registry);

/// The bytes of the module's one gpu.binary object, after checking that no
/// libdevice call (`__nv_*`) is left.
FailureOr<std::string> extractCudaImage(ModuleOp module);

} // namespace mlir::skim

#endif // SKIM_TARGET_CUDATARGET_H
