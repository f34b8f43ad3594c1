//===- ExternSharedMemory.cpp - dynamic shared memory as CUDA declares it -===//
//
// convert-gpu-to-nvvm lowers gpu.dynamic_shared_memory to an internal global
// `[0 x i8]` in address space 3. Its size is then known to LLVM: zero bytes,
// so every access to it is out of bounds, and alias analysis may take any two
// accesses for independent (BasicAA: an object smaller than the access).
// At O3 that hoisted a load of the top-k list out of the loop that writes it
// (a thread-0 loop with no barrier to stop it). CUDA C++'s `extern
// __shared__ char s[]` is an external declaration of unknown size instead;
// giving the lowered buffer that linkage restores ordinary aliasing.
//
//===----------------------------------------------------------------------===//

#include "Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMEXTERNDYNAMICSHAREDPASS
#include "Conversion/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;

namespace {

/// NVVM's shared address space.
constexpr unsigned kSharedAddressSpace = 3;

struct SkimExternDynamicSharedPass
    : skim::impl::SkimExternDynamicSharedPassBase<SkimExternDynamicSharedPass> {
  void runOnOperation() override {
    for (auto global : getOperation().getOps<LLVM::GlobalOp>()) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() != kSharedAddressSpace || !array ||
          array.getNumElements() != 0 || global.getValueOrNull() ||
          !global.getInitializerRegion().empty())
        continue;
      global.setLinkage(LLVM::Linkage::External);
      // wgmma's swizzled tiles sit at 1024-byte offsets of the buffer; the
      // swizzle pattern is computed from the address, so the base must be
      // 1024-aligned too.
      global.setAlignment(1024);
    }
  }
};

} // namespace
