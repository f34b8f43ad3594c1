//===- ParsedVariant.h - a variant parsed for the skim tool -----*- C++ -*-===//
//
// compile, run and tune each parse a variant in a context of their own,
// with every dialect and extension a compile needs, and print IR errors as
// `file:line:col: error: ...` on stderr.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_TOOLS_SKIM_PARSEDVARIANT_H
#define SKIM_TOOLS_SKIM_PARSEDVARIANT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"

#include <string>

namespace skim::tool {

struct ParsedVariant {
  /// Parses `source`, named `bufferName` in diagnostics; `module` is null
  /// when it does not parse (the errors are printed).
  ParsedVariant(const std::string &source, const std::string &bufferName);

  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

} // namespace skim::tool

#endif // SKIM_TOOLS_SKIM_PARSEDVARIANT_H
