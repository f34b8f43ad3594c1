//===- ParsedVariant.cpp - a variant parsed for the skim tool -------------===//

#include "ParsedVariant.h"

#include "Registration/RegisterSkim.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"

using namespace skim::tool;

namespace {

mlir::DialectRegistry compileRegistry() {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::skim::registerSkimDialects(registry);
  return registry;
}

} // namespace

ParsedVariant::ParsedVariant(const std::string &source,
                             const std::string &bufferName)
    : context(compileRegistry()), handler(sourceMgr, &context) {
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
}
