//===- Artifact.h - the compiled-variant container --------------*- C++ -*-===//
//
// One file per compiled variant: named sections (the target, the launch plan,
// the kernel binary, the compiler version) and a trailing FNV-1a checksum, so
// a truncated or corrupted file is detected before anything is loaded.
// Layout: "SKIMART\0", u32 version, u32 count, then per section u32 name
// length, name, u64 size, bytes; then u64 checksum of everything before it.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_ARTIFACT_H
#define SKIM_RUNTIME_ARTIFACT_H

#include "skim/runtime/Status.h"

#include <cstdint>
#include <map>
#include <string>

namespace skim::rt {

constexpr uint32_t kArtifactVersion = 1;

struct Artifact {
  std::map<std::string, std::string> sections;

  const std::string *section(const std::string &name) const {
    auto it = sections.find(name);
    return it == sections.end() ? nullptr : &it->second;
  }
  std::string serialize() const;
  static Expected<Artifact> deserialize(const std::string &bytes);

  Status writeFile(const std::string &path) const;
  static Expected<Artifact> readFile(const std::string &path);
};

uint64_t fnv1a64(const void *data, size_t size, uint64_t seed = 0xcbf29ce484222325ull);

} // namespace skim::rt

#endif // SKIM_RUNTIME_ARTIFACT_H
