//===- TensorMapArgs.cpp - TMA descriptors as by-value kernel parameters --===//
//
// A CUtensorMap reaches the kernel by value, as `const __grid_constant__
// CUtensorMap` does in CUDA C++: the runtime puts its 128 bytes in the
// parameter buffer, so no device memory holds descriptors and nothing is
// copied before a launch. In LLVM that is a `byval` pointer argument marked
// `nvvm.grid_constant`, whose address the backend takes with `cvta.param`.
// `convert-gpu-to-nvvm` drops argument attributes, so the tile lowering
// names the arguments in a function attribute that survives it, and this
// pass attaches the attributes to the lowered `llvm.func`.
//
//===----------------------------------------------------------------------===//

#include "Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMTENSORMAPARGSPASS
#include "Conversion/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;

namespace {

/// Bytes of a CUtensorMap, and the alignment CUDA gives the parameter.
constexpr int64_t kTensorMapBytes = 128;
constexpr int64_t kTensorMapAlign = 64;

struct SkimTensorMapArgsPass
    : skim::impl::SkimTensorMapArgsPassBase<SkimTensorMapArgsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<LLVM::LLVMFuncOp>()) {
      auto args =
          func->getAttrOfType<DenseI64ArrayAttr>("skim.tensor_map_args");
      if (!args)
        continue;
      Builder b(func.getContext());
      for (int64_t i : args.asArrayRef()) {
        if (i < 0 || i >= int64_t(func.getNumArguments()) ||
            !isa<LLVM::LLVMPointerType>(func.getArgument(i).getType())) {
          func.emitError() << "skim.tensor_map_args names argument " << i
                           << ", which is not a pointer argument";
          return signalPassFailure();
        }
        func.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                        TypeAttr::get(LLVM::LLVMArrayType::get(
                            b.getI8Type(), kTensorMapBytes)));
        func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                        b.getI64IntegerAttr(kTensorMapAlign));
        func.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(),
                        b.getUnitAttr());
      }
      func->removeAttr("skim.tensor_map_args");
    }
  }
};

} // namespace
