//===- GpuObject.cpp - the one object a GPU pipeline serialised -----------===//

#include "Target/GpuObject.h"

using namespace mlir;

FailureOr<gpu::ObjectAttr> mlir::skim::onlyGpuObject(ModuleOp module) {
  gpu::BinaryOp binary;
  unsigned count = 0;
  module.walk([&](gpu::BinaryOp op) {
    binary = op;
    ++count;
  });
  if (count != 1)
    return module.emitError(
               "expected one gpu.binary after serialisation, found ")
           << count;
  auto objects = binary.getObjects();
  if (objects.size() != 1)
    return binary.emitError("expected one object in the gpu.binary");
  return cast<gpu::ObjectAttr>(objects[0]);
}
