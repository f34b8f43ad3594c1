//===- ScratchPool.h - a kernel's scratch in global memory slots -*- C++ -*-===//
//
// Internal to skim-lower-tile-to-gpu (ScalarCode.cpp uses it).
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_TILETONVVM_SCRATCHPOOL_H
#define SKIM_CONVERSION_TILETONVVM_SCRATCHPOOL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <string>

namespace mlir::skim {

/// Moves `allocas` (all of `kernel`'s, none yet placed) into one global
/// scratch slot that the CTA takes from a pool at entry and frees at exit.
/// Appends the pool's four arguments to the kernel (lock words, slots as
/// bytes, the slot count, the f32 words a slot holds) and returns the words
/// per slot as a plan expression, computed from `planText`'s arguments of
/// the kernel. `isFirst` says whether this thread is thread 0.
FailureOr<std::string> placeScratchPool(func::FuncOp kernel,
                                        ArrayRef<memref::AllocaOp> allocas,
                                        Value isFirst, StringRef planText);

/// The argument words of `kernel`'s line in the launch plan text
/// (`t<buffer>`, `e<expr>`, `m<buffer>:<box>:<swizzle>`), in order.
FailureOr<SmallVector<std::string>> planKernelArguments(StringRef planText,
                                                        StringRef kernel);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILETONVVM_SCRATCHPOOL_H
