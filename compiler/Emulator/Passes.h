//===- Passes.h - the lane emulator's pass ----------------------*- C++ -*-===//

#ifndef SKIM_EMULATOR_PASSES_H
#define SKIM_EMULATOR_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::skim {

#define GEN_PASS_DECL
#include "Emulator/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Emulator/Passes.h.inc"

} // namespace mlir::skim

#endif // SKIM_EMULATOR_PASSES_H
