//===- KernelWrapper.cpp - a grid block in the CPU kernel ABI -------------===//
//
// The CPU runtime calls `<kernel>_entry(words, x, y, z)` once per grid block
// (CpuTarget.cpp builds the entry from `<kernel>`'s signature), with five
// words per tensor (the memref descriptor: base, aligned base, offset, size,
// stride) and one per index. The block function takes exactly those, packs
// the GPU kernel's arguments (aligned base per tensor, index values) into
// one array of 64-bit words, and hands the lane function and the array to
// skim_emu_run_cta.
//
//===----------------------------------------------------------------------===//

#include "Emulator/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;
using namespace mlir::skim::emulator;

ValueRange Runtime::call(OpBuilder &b, Location loc, StringRef name,
                         TypeRange results, ValueRange args) {
  auto type = FunctionType::get(b.getContext(), args.getTypes(), results);
  auto decl = module.lookupSymbol<func::FuncOp>(name);
  if (!decl) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    decl = func::FuncOp::create(b, loc, name, type);
    decl.setPrivate();
  }
  assert(decl.getFunctionType() == type && "one runtime call, two signatures");
  return func::CallOp::create(b, loc, decl, args).getResults();
}

LogicalResult mlir::skim::emulator::buildBlockFunction(
    ModuleOp module, StringRef name, TypeRange kernelArgs,
    func::FuncOp laneFunc, const KernelShape &shape, Runtime &runtime) {
  MLIRContext *ctx = module.getContext();
  Location loc = laneFunc.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64), index = IndexType::get(ctx);

  SmallVector<Type> params;
  for (Type t : kernelArgs) {
    if (isa<LLVM::LLVMPointerType>(t))
      params.append({ptr, ptr, i64, i64, i64});
    else if (t.isIntOrIndex())
      params.push_back(index);
    else
      return laneFunc.emitError() << "kernel '" << name
                                  << "': cannot pass an argument of type " << t;
  }
  params.append({index, index, index});

  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc, name, FunctionType::get(ctx, params, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  auto c64 = [&](int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
  };
  Value words = LLVM::AllocaOp::create(
      b, loc, ptr, i64, c64(std::max<int64_t>(int64_t(kernelArgs.size()), 1)));
  unsigned param = 0;
  for (auto [i, t] : llvm::enumerate(kernelArgs)) {
    Value slot = LLVM::GEPOp::create(b, loc, ptr, i64, words,
                                     ArrayRef<LLVM::GEPArg>{int32_t(i)});
    Value word;
    if (isa<LLVM::LLVMPointerType>(t)) {
      // The aligned base; the runtime's descriptors have offset 0 (it passes
      // the tensor's first element as the base).
      word = entry->getArgument(param + 1);
      param += 5;
    } else {
      word = arith::IndexCastOp::create(b, loc, i64, entry->getArgument(param));
      param += 1;
    }
    LLVM::StoreOp::create(b, loc, word, slot);
  }
  Value lane = func::ConstantOp::create(b, loc, laneFunc.getFunctionType(),
                                        SymbolRefAttr::get(laneFunc));
  auto cIndex = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  runtime.call(b, loc, "skim_emu_run_cta", {},
               {lane, words, entry->getArgument(param),
                entry->getArgument(param + 1), entry->getArgument(param + 2),
                cIndex(shape.block[0]), cIndex(shape.block[1]),
                cIndex(shape.block[2]), cIndex(shape.sharedBytes)});
  func::ReturnOp::create(b, loc);
  return success();
}
