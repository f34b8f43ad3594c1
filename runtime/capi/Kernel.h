//===- Kernel.h - what the two halves of the C API share --------*- C++ -*-===//
//
// skim/skim.h is implemented in two halves: Kernel.cpp (load and run, no
// LLVM) and a front half that makes kernels, either the compiler
// (compiler/CAPI/CAPI.cpp, in libskim.so) or RuntimeOnly.cpp (in
// libskim_runtime.so, which has none). This is their interface.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_CAPI_KERNEL_H
#define SKIM_RUNTIME_CAPI_KERNEL_H

#include "skim/runtime/CpuExecutable.h"
#include "skim/skim.h"

#include <memory>
#include <string>

namespace skim::capi {

/// A malloc'ed copy, for strings the caller frees with skim_free_string.
char *copyString(const std::string &s);
/// Sets *error (when error is not NULL) to a copy of `message`.
void setError(char **error, const std::string &message);

/// A kernel over a CPU executable the JIT has loaded (and may share).
skim_kernel *wrapCpuExecutable(std::shared_ptr<rt::CpuExecutable> exe,
                               std::string target);
/// A kernel over an artifact's bytes, or NULL with *error set; `origin`
/// (a path, or "artifact bytes") starts every message.
skim_kernel *loadArtifact(const std::string &bytes, const std::string &origin,
                          char **error);

} // namespace skim::capi

#endif // SKIM_RUNTIME_CAPI_KERNEL_H
