//===- DynamicLibrary.cpp - dlopen with errors that say what was tried ----===//

#include "DynamicLibrary.h"

#include <cstring>
#include <dlfcn.h>
#include <link.h>

using namespace skim::rt;

Expected<DynamicLibrary>
DynamicLibrary::open(const std::vector<std::string> &candidates) {
  if (candidates.empty())
    return Error{"dlopen failed: no library names to try"};

  std::string tried;
  std::string shownName, shownReason;
  bool shownIsNotFound = true;
  for (const std::string &name : candidates) {
    // Driver libraries start threads that outlive any handle we hold;
    // unmapping their code under those threads crashes at exit, so once
    // loaded they stay (RTLD_NODELETE).
    void *handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle) {
      std::string path = name;
      struct link_map *map = nullptr;
      if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name &&
          map->l_name[0])
        path = map->l_name;
      return DynamicLibrary(handle, std::move(path));
    }
    const char *reason = dlerror();
    std::string why = reason ? reason : "unknown dlopen error";
    bool notFound = why.find("No such file") != std::string::npos;
    if (shownName.empty() || (shownIsNotFound && !notFound)) {
      shownName = name;
      shownReason = why;
      shownIsNotFound = notFound;
    }
    if (!tried.empty())
      tried += ", ";
    tried += name;
  }
  return Error{"dlopen(" + shownName + ") failed: " + shownReason +
               " (tried: " + tried + ")"};
}

DynamicLibrary::DynamicLibrary(DynamicLibrary &&other) noexcept
    : handle(other.handle), path_(std::move(other.path_)) {
  other.handle = nullptr;
}

DynamicLibrary &DynamicLibrary::operator=(DynamicLibrary &&other) noexcept {
  if (this != &other) {
    if (handle)
      dlclose(handle);
    handle = other.handle;
    path_ = std::move(other.path_);
    other.handle = nullptr;
  }
  return *this;
}

DynamicLibrary::~DynamicLibrary() {
  // Drops our reference only; RTLD_NODELETE keeps the code mapped.
  if (handle)
    dlclose(handle);
}

void *DynamicLibrary::symbol(const char *name) const {
  return handle ? dlsym(handle, name) : nullptr;
}

Status DynamicLibrary::missingSymbol(const char *name) const {
  return Error{"required symbol " + std::string(name) + " not found in " +
               path_};
}
