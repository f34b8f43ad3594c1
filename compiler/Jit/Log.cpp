//===- Log.cpp - skim's log lines -----------------------------------------===//

#include "Jit/Log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

using namespace mlir::skim;

LogLevel mlir::skim::logLevel() {
  const char *env = std::getenv("SKIM_LOG");
  if (!env)
    return LogLevel::Warning;
  if (!std::strcmp(env, "error")) return LogLevel::Error;
  if (!std::strcmp(env, "info")) return LogLevel::Info;
  if (!std::strcmp(env, "debug")) return LogLevel::Debug;
  return LogLevel::Warning;
}

void mlir::skim::log(LogLevel level, const std::string &message) {
  if (level > logLevel())
    return;
  static const char *names[] = {"error", "warning", "info", "debug"};
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "skim: %s: %s\n", names[int(level)], message.c_str());
}
