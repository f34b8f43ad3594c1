//===- skim-opt.cpp - mlir-opt with the skim dialects and passes ----------===//

#include "Registration/RegisterSkim.h"
#include "autotune/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::skim::registerSkimPassesOnce();
  skim::tune::registerSkimAutotunePasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::skim::registerSkimDialects(registry);
  // gpu-module-to-binary translates gpu.modules to LLVM IR (NVIDIA path).
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "skim optimizer driver: mlir-opt with skim's dialects and passes\n",
      registry));
}
