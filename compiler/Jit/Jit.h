//===- Jit.h - compile on first use, cache on disk --------------*- C++ -*-===//
//
// A variant (MLIR text) is compiled for a target the first time anyone asks
// and kept in a content-addressed cache: in memory for this process, and on
// disk in $SKIM_CACHE_DIR (default ~/.cache/skim) for every later one.
// key = compiler version and build + target description (for the host, its CPU and
// features) + the variant's canonical IR, schedules included. Writes are a
// temporary file and a rename under a per-key file lock, so concurrent
// threads and processes compile a key once; an entry that fails its checksum
// is dropped and rebuilt.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_JIT_JIT_H
#define SKIM_JIT_JIT_H

#include "autotune/ProblemSizes.h"
#include "skim/runtime/CpuExecutable.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace mlir::skim {

struct JitOptions {
  /// Cache folder; empty = $SKIM_CACHE_DIR, else ~/.cache/skim.
  std::string cacheDir;
  std::string target = "host";
  /// Skip the disk cache (still deduplicates within the process).
  bool useDiskCache = true;
  /// Where compiles that give their sizes look up tuned schedules
  /// (skim-attach-schedule): the tuning cache folder (empty: its default,
  /// docs/Autotuner.md) and the device they were tuned on (both empty: the
  /// first device of the target's kind here, found on first use).
  std::string tuningDir;
  std::string tuningDeviceName;
  std::string tuningDriver;
};

class Jit {
public:
  explicit Jit(JitOptions options = {});
  ~Jit();

  /// The loaded CPU executable of a variant, compiled on first use.
  ::skim::rt::Expected<std::shared_ptr<::skim::rt::CpuExecutable>>
  getCpuExecutable(const std::string &mlir);
  /// The artifact bytes of a variant, compiled on first use.
  ::skim::rt::Expected<std::string> getArtifact(const std::string &mlir);

  /// As above, with the tuning cache's schedules for this JIT's device and
  /// `sizes` on the stages that have none (withTunedSchedules).
  ::skim::rt::Expected<std::shared_ptr<::skim::rt::CpuExecutable>>
  getCpuExecutable(const std::string &mlir, const ::skim::tune::ProblemSizes &sizes);
  ::skim::rt::Expected<std::string> getArtifact(const std::string &mlir,
                                                const ::skim::tune::ProblemSizes &sizes);

  /// The variant with the tuned schedules for this JIT's device and `sizes`
  /// (skim-attach-schedule), printed; `mlir` itself when no device is known
  /// or the cache holds nothing for them. A cache entry that cannot be used
  /// is a warning in the log, never an error. The artifact's cache key sees
  /// the schedules, so a later tuning run gives a new compile.
  ::skim::rt::Expected<std::string>
  withTunedSchedules(const std::string &mlir, const ::skim::tune::ProblemSizes &sizes);

  /// The cache key of a variant for this JIT's target (hex).
  ::skim::rt::Expected<std::string> cacheKey(const std::string &mlir);
  const std::string &cacheDir() const { return dir; }

  /// Compiles this JIT performed (not served from memory or disk).
  unsigned compiles() const { return compileCount.load(); }

private:
  struct Entry;
  JitOptions options;
  std::string dir;
  std::string targetDescription;
  /// The device tuned schedules are looked up for; resolved once.
  std::once_flag tuningDeviceOnce;
  std::string tuningDeviceName, tuningDriver;
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Entry>> entries;
  std::atomic<unsigned> compileCount{0};
};

} // namespace mlir::skim

#endif // SKIM_JIT_JIT_H
