//===- ScalarCode.h - scalar kernel code on a 128-thread CTA ----*- C++ -*-===//
//
// The half of skim-lower-tile-to-gpu that deals with the scalar code between
// tile ops (docs/TileLevel.md §4): which thread runs a statement that writes
// memory, and where the memref.alloca scratch of a kernel lives on the GPU.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_TILETONVVM_SCALARCODE_H
#define SKIM_CONVERSION_TILETONVVM_SCALARCODE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

#include <string>

namespace mlir::skim {

/// What prepareScalarCode did to one kernel.
struct ScalarScratch {
  /// f32 words of global scratch one CTA holds, as a launch-plan
  /// expression; empty when the kernel has no scratch (no memref.alloca).
  std::string wordsPerSlot;
  /// The cells that publish thread 0's values and the small static scratch,
  /// to be placed in shared memory once the tiles are (placeSharedScratch).
  SmallVector<memref::AllocaOp> shared;
};

/// Makes the scalar code of a skim_tile kernel (still a func.func) correct on
/// a CTA of many threads:
///   - every statement outside tile ops that writes memory runs on thread 0
///     alone, between barriers, and values it defines reach the other
///     threads through shared memory;
///   - the kernel's allocas of a static size (selection lists, membership
///     flags, top-k state) stay for shared memory, up to 8 KiB; the others
///     (per-tile score rows) become views of a global scratch slot that the
///     CTA takes from a pool at entry and gives back at exit
///     (ScratchPool.h). A pool appends four arguments to
///     the kernel: the pool's lock words (i32, zeroed by the runtime before
///     each run), the slots, the number of slots and the f32 words per slot.
///     `planText` (the module's launch plan) gives the sizes of dynamically
///     sized allocas as expressions.
FailureOr<ScalarScratch> prepareScalarCode(func::FuncOp kernel,
                                           StringRef planText);

/// Views of the dynamic shared-memory buffer for the allocas prepareScalarCode
/// kept, from `offset` bytes on; returns the end of the last (16-byte
/// aligned).
int64_t placeSharedScratch(gpu::GPUFuncOp func, ArrayRef<memref::AllocaOp> allocas,
                           int64_t offset, RewriterBase &rewriter);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_TILETONVVM_SCALARCODE_H
