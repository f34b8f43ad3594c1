//===- TestContext.h - an MLIRContext with skim loaded ----------*- C++ -*-===//

#ifndef SKIM_TESTS_UNIT_TESTCONTEXT_H
#define SKIM_TESTS_UNIT_TESTCONTEXT_H

#include "Registration/RegisterSkim.h"
#include "Skim/IR/SkimOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <string>

namespace mlir::skim::testing {

/// A context with the skim, func, arith and tensor dialects loaded, which
/// records the last error instead of printing it.
struct TestContext {
  mlir::MLIRContext context;
  std::string lastError;
  mlir::ScopedDiagnosticHandler handler;

  TestContext()
      : handler(&context, [this](mlir::Diagnostic &diag) {
          lastError = diag.str();
          return mlir::success();
        }) {
    mlir::DialectRegistry registry;
    mlir::skim::registerSkimDialects(registry);
    registry.insert<mlir::func::FuncDialect>();
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }
};

} // namespace mlir::skim::testing

#endif // SKIM_TESTS_UNIT_TESTCONTEXT_H
