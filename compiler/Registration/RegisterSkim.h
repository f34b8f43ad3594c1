//===- RegisterSkim.h - one registration point for every tool ---*- C++ -*-===//
//
// skim-opt, skim and the unit tests register the same dialects and passes
// through these functions, so a tool never misses a dialect another has.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_REGISTRATION_REGISTERSKIM_H
#define SKIM_REGISTRATION_REGISTERSKIM_H

#include "Conversion/Passes.h"
#include "Emulator/Passes.h"
#include "Skim/IR/SkimDialect.h"
#include "Skim/Transforms/Passes.h"
#include "SkimTile/IR/SkimTileDialect.h"

#include "mlir/IR/DialectRegistry.h"

namespace mlir::skim {

/// The dialects skim defines.
inline void registerSkimDialects(DialectRegistry &registry) {
  registry.insert<SkimDialect, tile::SkimTileDialect>();
}

/// The passes skim defines (global registry, for pipelines parsed from
/// text). Safe to call more than once.
inline void registerSkimPassesOnce() {
  static bool registered = [] {
    registerSkimPasses();
    registerSkimConversionPasses();
    registerSkimEmulatorPasses();
    return true;
  }();
  (void)registered;
}

} // namespace mlir::skim

#endif // SKIM_REGISTRATION_REGISTERSKIM_H
