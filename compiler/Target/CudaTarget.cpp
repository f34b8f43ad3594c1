//===- CudaTarget.cpp - gpu.module → PTX or cubin -------------------------===//
//
// The NVIDIA back end after skim-lower-tile-to-gpu: upstream's NVVM target
// (nvvm-attach-target, convert-gpu-to-nvvm, gpu-module-to-binary). The image
// is a cubin when the CUDA toolkit's ptxas is present, else PTX text.
// Nothing links libdevice: the tile lowering emits NVVM intrinsics for exp2
// and log2, and any `__nv_*` call left is an error.
//
//===----------------------------------------------------------------------===//

#include "Target/CudaTarget.h"
#include "Target/GpuObject.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/Support/FileSystem.h"

using namespace mlir;
using namespace mlir::skim;

bool CudaTarget::cubin() const {
  return llvm::sys::fs::can_execute(toolkit + "/bin/ptxas");
}

bool CudaTarget::parse(const std::string &target, CudaTarget &out) {
  if (target != "sm_80" && target != "sm_90" && target != "sm_90a")
    return false;
  out.chip = target;
  return true;
}

std::string mlir::skim::cudaPipelineTail(const CudaTarget &target) {
  // The NVVM target picks a PTX ISA the chip supports (7.8 for sm_90, 8.0
  // for sm_90a; upstream's +ptx60 default aborts for sm_90). sm_90a asks
  // for 8.1: vector reductions (red.global.v2.f32.add) need it.
  std::string features = target.chip == "sm_90a" ? " features=+ptx81" : "";
  return "nvvm-attach-target{chip=" + target.chip + features +
         " O=3},gpu.module(convert-gpu-to-nvvm{index-bitwidth=64},"
         "skim-tensor-map-args,convert-nvvm-to-llvm,canonicalize,cse,"
         "reconcile-unrealized-casts,"
         "skim-extern-dynamic-shared),"
         "reconcile-unrealized-casts,gpu-module-to-binary{format=" +
         (target.cubin() ? "bin toolkit=" + target.toolkit : std::string("isa")) +
         "}";
}

void mlir::skim::registerCudaTargetInterfaces(DialectRegistry &registry) {
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

FailureOr<std::string> mlir::skim::extractCudaImage(ModuleOp module) {
  FailureOr<gpu::ObjectAttr> object = onlyGpuObject(module);
  if (failed(object))
    return failure();
  std::string image = object->getObject().getValue().str();
  // A call into libdevice would be an unresolved symbol: the lowering must
  // have replaced every math op.
  if (object->getFormat() == gpu::CompilationTarget::Assembly &&
      image.find("__nv_") != std::string::npos)
    return module.emitError("the PTX calls libdevice (__nv_*), which skim does not link");
  return image;
}
