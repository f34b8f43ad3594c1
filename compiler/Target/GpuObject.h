//===- GpuObject.h - the one object a GPU pipeline serialised ---*- C++ -*-===//

#ifndef SKIM_TARGET_GPUOBJECT_H
#define SKIM_TARGET_GPUOBJECT_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::skim {

/// The object of the module's one gpu.binary (skim puts every kernel in one
/// gpu.module); an error naming what was found otherwise.
FailureOr<gpu::ObjectAttr> onlyGpuObject(ModuleOp module);

} // namespace mlir::skim

#endif // SKIM_TARGET_GPUOBJECT_H
