//===- AmdTarget.cpp - gpu.module → an AMD code object --------------------===//
//
// The AMD back end after skim-lower-tile-to-gpu{vendor=amd}: upstream's
// ROCDL target (rocdl-attach-target, convert-gpu-to-rocdl,
// gpu-module-to-binary). The image is an HSA code object linked by LLVM 22's
// ld.lld, which gpu-module-to-binary looks for under `<toolkit>/llvm/bin`.
// Nothing links the ROCm device libraries: the tile lowering emits
// llvm.amdgcn intrinsics for exp2 and log2, and any `__ocml_*` or
// `__ockl_*` call left would be an unresolved symbol.
//
//===----------------------------------------------------------------------===//

#include "Target/AmdTarget.h"
#include "Target/GpuObject.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Target/LLVM/ROCDL/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::skim;

bool AmdTarget::parse(const std::string &target, AmdTarget &out) {
  if (target != "gfx90a" && target != "gfx942" && target != "gfx1100")
    return false;
  out.chip = target;
  const char *env = std::getenv("SKIM_ROCM_TOOLKIT");
  out.toolkit = env && *env ? env : SKIM_ROCM_TOOLKIT_DEFAULT;
  return true;
}

std::string AmdTarget::missingLinker() const {
  std::string lld = toolkit + "/llvm/bin/ld.lld";
  return llvm::sys::fs::can_execute(lld) ? std::string() : lld;
}

std::string mlir::skim::amdPipelineTail(const AmdTarget &target) {
  std::string wave64 = target.waveSize() == 64 ? "true" : "false";
  // wave64=true only leaves the chip's default alone, which on gfx11 is
  // wave32: its wave64 mode needs the feature spelled out.
  std::string features = target.chip == "gfx1100" && target.waveSize() == 64
                             ? " features=+wavefrontsize64"
                             : "";
  return "rocdl-attach-target{chip=" + target.chip + " O=3 wave64=" + wave64 +
         features + "},gpu.module(convert-gpu-to-rocdl{chipset=" + target.chip +
         " index-bitwidth=64},canonicalize,cse,reconcile-unrealized-casts,"
         "skim-extern-dynamic-shared),"
         "reconcile-unrealized-casts,gpu-module-to-binary{format=bin toolkit=" +
         target.toolkit + "}";
}

void mlir::skim::registerAmdTargetInterfaces(DialectRegistry &registry) {
  registerAllToLLVMIRTranslations(registry);
  ROCDL::registerROCDLTargetInterfaceExternalModels(registry);
}

FailureOr<std::string> mlir::skim::extractAmdImage(ModuleOp module) {
  FailureOr<gpu::ObjectAttr> object = onlyGpuObject(module);
  if (failed(object))
    return failure();
  return object->getObject().getValue().str();
}
