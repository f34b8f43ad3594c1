//===- TuningCache.h - tuned schedules kept on disk, per device -*- C++ -*-===//
//
// The tuner pays for a search once per device and shape bucket; this cache
// keeps the result so that every later compile of the same variant on the
// same device (skim-attach-schedule, the JIT) uses it. One JSON file per key
// in one folder per device; one schema for every vendor, since a schedule is
// stored as its `#skim.schedule<...>` text. Writes are a temporary file and
// a rename, so a reader never sees half a file and concurrent writers leave
// one whole entry; a file that does not parse, has another schema, or whose
// key does not match the lookup is ignored with a warning, never trusted.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_TUNINGCACHE_H
#define SKIM_AUTOTUNE_TUNINGCACHE_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace skim::tune {

/// The schema string every entry carries; a different one is stale.
inline constexpr const char *kTuningSchema = "skim-tuning/1";

/// What a tuned schedule is valid for. Every field takes part in the file
/// name and is checked again when the entry is read back.
struct TuningKey {
  /// Marketing name of the device: "NVIDIA H200", the CPU model.
  std::string deviceName;
  /// What the code is compiled for: "sm_90a", "gfx942", "host".
  std::string arch;
  /// Driver identity: "CUDA 13.0", "HIP 6.2", the host kernel release.
  std::string driver;
  /// mlir::skim::compilerVersion().
  std::string skimVersion;
  /// Hash (hex) of the variant without its schedules and batch/token sizes.
  std::string variantSignature;
  /// The batch and token sizes rounded into a bucket, e.g. "B1-T64k-S64k".
  std::string shapeBucket;

  /// A stable 16-hex-digit digest of every field (FNV-1a 64 over the
  /// length-prefixed fields): the entry's file name. Stable across runs,
  /// builds and machines; a test pins its value.
  std::string digest() const;
  /// The folder of one device: a digest of deviceName, arch and driver.
  std::string deviceDigest() const;
  bool operator==(const TuningKey &other) const;
};

/// One stage's tuned schedule.
struct TunedStage {
  /// The stage name of the variant op ("selected", "compressed", ...), or
  /// "attention" for a bare skim.attention.
  std::string stage;
  /// `#skim.schedule<...>` as the dialect prints it; empty when the
  /// compiler's default won.
  std::string schedule;
};

struct TuningEntry {
  TuningKey key;
  /// In the variant's stage order.
  std::vector<TunedStage> stages;
  /// Median time of the tuned schedules and of the defaults, in ms, at the
  /// sizes the search measured (0 when unknown).
  double bestMs = 0;
  double defaultMs = 0;
  /// Configurations measured.
  int64_t trials = 0;
  /// When the search ran, ISO 8601 UTC ("2026-12-01T10:00:00Z").
  std::string date;
};

class TuningCache {
public:
  /// `dir` empty: $SKIM_TUNING_DIR, else $SKIM_CACHE_DIR/tuning, else
  /// ~/.cache/skim/tuning (else ./.skim-tuning without a home).
  explicit TuningCache(std::string dir = "");

  const std::string &dir() const { return dir_; }
  /// `<dir>/<key.deviceDigest()>/<key.digest()>.json`.
  std::string pathOf(const TuningKey &key) const;

  /// The entry stored for `key`, or nothing: no file, or one that is
  /// corrupt, of another schema or for another key (each of those adds one
  /// warning naming the file and what is wrong; none is an error).
  std::optional<TuningEntry>
  lookup(const TuningKey &key,
         std::vector<std::string> *warnings = nullptr) const;

  /// Writes `entry` atomically (a temporary file in the same folder, then a
  /// rename over the old one), creating folders as needed. Safe against
  /// concurrent writers in other threads and processes: the last rename
  /// wins and the file is always one whole entry.
  llvm::Error store(const TuningEntry &entry) const;

  /// Every readable entry of the cache, with warnings for the rest.
  std::vector<TuningEntry>
  list(std::vector<std::string> *warnings = nullptr) const;

private:
  std::string dir_;
};

/// The JSON text of an entry and back (what the files hold). parseEntry
/// says what is wrong with text that is not a valid entry of this schema.
std::string serializeEntry(const TuningEntry &entry);
llvm::Expected<TuningEntry> parseEntry(llvm::StringRef text);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_TUNINGCACHE_H
