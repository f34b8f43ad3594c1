//===- Log.h - skim's log lines, levels from $SKIM_LOG ----------*- C++ -*-===//

#ifndef SKIM_JIT_LOG_H
#define SKIM_JIT_LOG_H

#include <string>

namespace mlir::skim {

enum class LogLevel { Error = 0, Warning = 1, Info = 2, Debug = 3 };

/// The level from $SKIM_LOG (error, warning, info, debug; default warning).
LogLevel logLevel();
/// Writes "skim: <level>: <message>" to stderr when `level` is enabled.
void log(LogLevel level, const std::string &message);

} // namespace mlir::skim

#endif // SKIM_JIT_LOG_H
