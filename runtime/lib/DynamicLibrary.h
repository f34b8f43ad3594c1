//===- DynamicLibrary.h - dlopen that says what it tried --------*- C++ -*-===//
//
// Driver libraries (libcuda, libamdhip64) are opened at run time so the
// runtime builds and runs where they are absent. When none of the candidate
// names loads, the error lists all of them: "no CUDA" is only actionable if
// the user can see which files and search paths were looked at.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_LIB_DYNAMICLIBRARY_H
#define SKIM_RUNTIME_LIB_DYNAMICLIBRARY_H

#include "skim/runtime/Status.h"

#include <string>
#include <vector>

namespace skim::rt {

class DynamicLibrary {
public:
  /// Opens the first of `candidates` that dlopen accepts. On failure the
  /// message is "dlopen(NAME) failed: REASON (tried: A, B, ...)", where NAME
  /// is the most telling failure: a library that exists but cannot load
  /// (wrong architecture, missing dependency) beats "no such file".
  static Expected<DynamicLibrary>
  open(const std::vector<std::string> &candidates);

  DynamicLibrary(DynamicLibrary &&other) noexcept;
  DynamicLibrary &operator=(DynamicLibrary &&other) noexcept;
  DynamicLibrary(const DynamicLibrary &) = delete;
  DynamicLibrary &operator=(const DynamicLibrary &) = delete;
  ~DynamicLibrary();

  /// The file that was loaded, as the dynamic linker resolved it.
  const std::string &path() const { return path_; }
  void *symbol(const char *name) const;

  /// Looks `name` up into `slot`. A missing required symbol is an error
  /// naming it and this library's path; a missing optional one leaves `slot`
  /// null for the caller to treat as "feature absent".
  template <typename Fn>
  Status resolve(const char *name, Fn *&slot, bool required) const {
    // POSIX guarantees a dlsym result converts to a function pointer.
    slot = reinterpret_cast<Fn *>(symbol(name));
    if (!slot && required)
      return missingSymbol(name);
    return Status::ok();
  }

private:
  DynamicLibrary(void *handle, std::string path)
      : handle(handle), path_(std::move(path)) {}
  Status missingSymbol(const char *name) const;

  void *handle = nullptr;
  std::string path_;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_LIB_DYNAMICLIBRARY_H
