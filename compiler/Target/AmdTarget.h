//===- AmdTarget.h - gpu.module → an AMD code object ------------*- C++ -*-===//

#ifndef SKIM_TARGET_AMDTARGET_H
#define SKIM_TARGET_AMDTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>

namespace mlir::skim {

/// An AMD target: `gfx90a` (MI200), `gfx942` (MI300) or `gfx1100` (RDNA3).
struct AmdTarget {
  std::string chip;
  /// A folder with `llvm/bin/ld.lld` (LLVM 22's), which gpu-module-to-binary
  /// links the code object with: $SKIM_ROCM_TOOLKIT, else the one the build
  /// lays out (build/rocm-toolkit).
  std::string toolkit;
  /// Lanes a wave asked for (PipelineOptions::amdWaveSize); 0: the chip's.
  int wave = 0;
  /// Lanes a wave: 64 on CDNA (gfx90a, gfx942); 32 on RDNA (gfx1100),
  /// unless `wave` asks for its wave64 mode.
  int waveSize() const { return wave ? wave : chipWaveSize(); }
  /// The chip's own wave size, which kernels get unless `wave` says.
  int chipWaveSize() const { return chip == "gfx1100" ? 32 : 64; }
  /// Whether the chip runs waves of `lanes`: CDNA 64 only, RDNA 32 or 64.
  bool hasWaveSize(int lanes) const {
    return lanes == 64 || (lanes == 32 && chip == "gfx1100");
  }
  /// The matrix instruction skim lays fragments out for (skim-lower-tile-
  /// to-gpu's amd-matrix): MFMA 32x32x8 on CDNA (twice the work of
  /// 16x16x16 per LDS element read; kernels whose N is not a multiple of 32
  /// take 16x16x16), WMMA 16x16x16 on RDNA3.
  std::string defaultMatrix() const {
    return chip == "gfx1100" ? "wmma_16x16x16" : "mfma_32x32x8";
  }
  /// Whether `matrix` (an amd-matrix value) runs on this chip.
  bool hasMatrix(const std::string &matrix) const {
    if (matrix == "simt")
      return true;
    if (chip == "gfx1100")
      return matrix == "wmma_16x16x16";
    return matrix == "mfma_32x32x8" || matrix == "mfma_16x16x16";
  }
  /// LDS a workgroup may use.
  int64_t ldsBytes() const { return 65536; }
  /// The artifact section the code object goes to (the runtime's HIP device
  /// loads it with hipModuleLoadData).
  std::string section() const { return "hip.hsaco"; }
  /// "hip:<chip>", the artifact's target section.
  std::string describe() const { return "hip:" + chip; }
  /// The linker gpu-module-to-binary needs, or an empty string naming
  /// nothing when it is there.
  std::string missingLinker() const;
  /// Parses `--target`; false for anything that is not an AMD chip.
  static bool parse(const std::string &target, AmdTarget &out);
};

/// The passes from the LLVM-ready kernels (after skim-lower-tile-to-gpu
/// with vendor=amd, and scf-to-cf) to a gpu.binary holding a linked HSA
/// code object: attach the ROCDL target, convert the gpu.module to ROCDL,
/// serialise it.
std::string amdPipelineTail(const AmdTarget &target);

/// The translations and target interfaces gpu-module-to-binary needs.
void registerAmdTargetInterfaces(DialectRegistry &registry);

/// The bytes of the module's one gpu.binary object.
FailureOr<std::string> extractAmdImage(ModuleOp module);

} // namespace mlir::skim

#endif // SKIM_TARGET_AMDTARGET_H
