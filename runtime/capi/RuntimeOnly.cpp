//===- RuntimeOnly.cpp - the C API's front half, without a compiler -------===//
//
// libskim_runtime.so runs artifacts compiled elsewhere (skim_load), on
// machines where LLVM is not installed. The functions that need the compiler
// are still exported, so one program or Python module works with either
// library, and they fail saying why and what to use instead.
//
//===----------------------------------------------------------------------===//

#include "Kernel.h"

using namespace skim::capi;

namespace {

void needsCompiler(const char *function, char **error) {
  setError(error, std::string(function) +
                      " needs the compiler, and this is libskim_runtime.so, "
                      "which only loads and runs compiled artifacts: compile "
                      "with `skim compile ... -o FILE` (or libskim.so) where "
                      "LLVM is installed, then load FILE with skim_load");
}

} // namespace

extern "C" {

const char *skim_version(void) {
  return "skim " SKIM_VERSION_STRING " (runtime only)";
}

char *skim_preset(const char *, char **error) {
  needsCompiler("skim_preset", error);
  return nullptr;
}

skim_kernel *skim_compile(const char *, const char *, char **error) {
  needsCompiler("skim_compile", error);
  return nullptr;
}

skim_kernel *skim_compile_tuned(const char *, const char *, int64_t, int64_t,
                                int64_t, char **error) {
  needsCompiler("skim_compile_tuned", error);
  return nullptr;
}

} // extern "C"
