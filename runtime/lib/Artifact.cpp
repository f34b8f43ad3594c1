//===- Artifact.cpp - reading and writing artifacts -----------------------===//

#include "skim/runtime/Artifact.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace skim::rt;

static const char kMagic[8] = {'S', 'K', 'I', 'M', 'A', 'R', 'T', '\0'};

uint64_t skim::rt::fnv1a64(const void *data, size_t size, uint64_t seed) {
  const auto *p = static_cast<const unsigned char *>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

template <typename T> static void put(std::string &out, T v) {
  out.append(reinterpret_cast<const char *>(&v), sizeof(T));
}

std::string Artifact::serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kArtifactVersion);
  put<uint32_t>(out, static_cast<uint32_t>(sections.size()));
  for (const auto &[name, bytes] : sections) {
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out += name;
    put<uint64_t>(out, bytes.size());
    out += bytes;
  }
  put<uint64_t>(out, fnv1a64(out.data(), out.size()));
  return out;
}

Expected<Artifact> Artifact::deserialize(const std::string &bytes) {
  if (bytes.size() < sizeof(kMagic) + 16 ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return Error{"not a skim artifact (bad magic or too short)"};
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (fnv1a64(bytes.data(), bytes.size() - 8) != stored)
    return Error{"artifact checksum mismatch: the file is truncated or corrupt"};
  size_t pos = sizeof(kMagic);
  size_t end = bytes.size() - 8;
  auto get = [&](void *dst, size_t n) {
    if (pos + n > end)
      return false;
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
    return true;
  };
  uint32_t version, count;
  if (!get(&version, 4) || !get(&count, 4))
    return Error{"artifact header is truncated"};
  if (version != kArtifactVersion)
    return Error{"artifact format version " + std::to_string(version) +
                 " is not supported (this runtime reads version " +
                 std::to_string(kArtifactVersion) + ")"};
  Artifact a;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t nameSize;
    uint64_t size;
    if (!get(&nameSize, 4) || pos + nameSize > end)
      return Error{"artifact section table is truncated"};
    std::string name = bytes.substr(pos, nameSize);
    pos += nameSize;
    if (!get(&size, 8) || pos + size > end)
      return Error{"artifact section '" + name + "' is truncated"};
    a.sections[name] = bytes.substr(pos, size);
    pos += size;
  }
  if (pos != end)
    return Error{"artifact has trailing bytes after its sections"};
  return a;
}

Status Artifact::writeFile(const std::string &path) const {
  std::string bytes = serialize();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return Error{"cannot open '" + path + "' for writing"};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    return Error{"cannot write '" + path + "'"};
  return Status::ok();
}

Expected<Artifact> Artifact::readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{"cannot open artifact '" + path + "'"};
  std::stringstream ss;
  ss << in.rdbuf();
  Expected<Artifact> a = deserialize(ss.str());
  if (!a)
    return Error{path + ": " + a.message()};
  return a;
}
