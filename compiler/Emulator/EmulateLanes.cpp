//===- EmulateLanes.cpp - NVIDIA kernels as CPU functions of one lane -----===//
//
// skim-emulate-lanes: every gpu.func kernel becomes `<name>_lane` (the body
// of one GPU thread, with calls into the lane emulator's runtime) and
// `<name>` (one grid block in the CPU kernel ABI). See Passes.td and
// docs/LaneEmulator.md.
//
//===----------------------------------------------------------------------===//

#include "Emulator/Lowering.h"
#include "Emulator/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/AttrTypeSubElements.h"

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMEMULATELANESPASS
#include "Emulator/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::emulator;

namespace {

/// The launch shape: the kernel's known block size, or the module's
/// `skim.gpu_block`; dynamic shared memory from `skim.gpu_shared_bytes`.
FailureOr<KernelShape> readShape(ModuleOp module, gpu::GPUFuncOp kernel) {
  KernelShape shape;
  if (std::optional<ArrayRef<int32_t>> known = kernel.getKnownBlockSize()) {
    for (int d = 0; d < 3; ++d)
      shape.block[d] = (*known)[d];
  } else if (auto block = module->getAttrOfType<IntegerAttr>("skim.gpu_block")) {
    shape.block[0] = block.getInt();
  } else {
    return kernel.emitError() << "kernel '" << kernel.getName()
                              << "': no block size (known_block_size or the "
                                 "module's skim.gpu_block)";
  }
  if (auto wave = module->getAttrOfType<IntegerAttr>("skim.gpu_wave_size"))
    shape.waveSize = wave.getInt();
  if (auto shared = module->getAttrOfType<DictionaryAttr>("skim.gpu_shared_bytes"))
    if (auto bytes = shared.getAs<IntegerAttr>(kernel.getName()))
      shape.sharedBytes = bytes.getInt();
  return shape;
}

/// Shared memory is ordinary host memory of the CTA, and global pointers are
/// host pointers: drop every GPU address space from every type.
void dropAddressSpaces(func::FuncOp func) {
  AttrTypeReplacer replacer;
  replacer.addReplacement([](MemRefType t) -> std::optional<Type> {
    if (!t.getMemorySpace())
      return std::nullopt;
    return MemRefType::get(t.getShape(), t.getElementType(), t.getLayout());
  });
  replacer.addReplacement([](LLVM::LLVMPointerType t) -> std::optional<Type> {
    if (t.getAddressSpace() == 0)
      return std::nullopt;
    return LLVM::LLVMPointerType::get(t.getContext());
  });
  replacer.recursivelyReplaceElementsIn(func, /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  // Casts between address spaces are now casts to the same type.
  SmallVector<Operation *> casts;
  func.walk([&](Operation *op) {
    if (isa<LLVM::AddrSpaceCastOp, memref::MemorySpaceCastOp>(op) &&
        op->getOperand(0).getType() == op->getResult(0).getType())
      casts.push_back(op);
  });
  for (Operation *op : casts) {
    op->getResult(0).replaceAllUsesWith(op->getOperand(0));
    op->erase();
  }
}

/// A register array declared inside a loop would otherwise take new stack
/// every iteration (an alloca outside the entry block is dynamic), and a
/// lane's stack is small. Fresh allocas are undefined, so reusing one slot
/// for all iterations changes nothing a correct kernel can observe.
void hoistStaticAllocas(func::FuncOp func) {
  Block &entry = func.front();
  SmallVector<memref::AllocaOp> allocas;
  func.walk([&](memref::AllocaOp op) {
    if (op->getBlock() != &entry && op->getNumOperands() == 0)
      allocas.push_back(op);
  });
  for (memref::AllocaOp op : allocas)
    op->moveBefore(&entry, entry.begin());
}

struct SkimEmulateLanesPass
    : skim::impl::SkimEmulateLanesPassBase<SkimEmulateLanesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Runtime runtime(module);
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    for (gpu::GPUModuleOp gpuModule : gpuModules) {
      for (Operation &op : llvm::make_early_inc_range(gpuModule.getOps())) {
        auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
        if (!kernel || !kernel.isKernel()) {
          op.emitOpError("lane emulator: only gpu.func kernels are emulated");
          return signalPassFailure();
        }
        if (failed(emulate(module, kernel, runtime)))
          return signalPassFailure();
      }
      gpuModule.erase();
    }
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }

  LogicalResult emulate(ModuleOp module, gpu::GPUFuncOp kernel, Runtime &runtime) {
    FailureOr<KernelShape> shape = readShape(module, kernel);
    if (failed(shape))
      return failure();
    if (kernel.getNumWorkgroupAttributions() || kernel.getNumPrivateAttributions())
      return kernel.emitError("lane emulator: workgroup and private attributions "
                              "are not emulated (use dynamic shared memory)");
    MLIRContext *ctx = &getContext();
    Location loc = kernel.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    SmallVector<Type> kernelArgs(kernel.getArgumentTypes());
    std::string name = kernel.getName().str();

    // The lane function: (argument words, lane handle), the kernel's body.
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto laneFunc = func::FuncOp::create(b, loc, name + "_lane",
                                         FunctionType::get(ctx, {ptr, ptr}, {}));
    laneFunc.setPrivate();
    laneFunc.getBody().takeBody(kernel.getBody());
    Block &entry = laneFunc.front();
    Value words = entry.addArgument(ptr, loc);
    Value lane = entry.addArgument(ptr, loc);
    b.setInsertionPointToStart(&entry);
    Type i64 = b.getI64Type();
    for (auto [i, t] : llvm::enumerate(kernelArgs)) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, i64, words,
                                       ArrayRef<LLVM::GEPArg>{int32_t(i)});
      Value v;
      if (isa<LLVM::LLVMPointerType>(t)) {
        v = LLVM::LoadOp::create(b, loc, t, slot);
      } else if (t.isIntOrIndex()) {
        v = LLVM::LoadOp::create(b, loc, i64, slot);
        if (t != i64)
          v = t.isIndex() ? arith::IndexCastOp::create(b, loc, t, v).getResult()
                          : arith::TruncIOp::create(b, loc, t, v).getResult();
      } else {
        return kernel.emitError() << "lane emulator: kernel '" << name
                                  << "' takes an argument of type " << t;
      }
      entry.getArgument(unsigned(i)).replaceAllUsesWith(v);
    }
    entry.eraseArguments(0, unsigned(kernelArgs.size()));
    kernel.erase();

    dropAddressSpaces(laneFunc);
    if (failed(lowerLaneOps(laneFunc, lane, *shape, runtime)))
      return failure();
    hoistStaticAllocas(laneFunc);
    return buildBlockFunction(module, name, kernelArgs, laneFunc, *shape, runtime);
  }
};

} // namespace
