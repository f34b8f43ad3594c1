//===- TuningCacheTest.cpp - the on-disk cache of tuned schedules ---------===//
//
// Every case works in its own fresh temporary folder. The digest is pinned:
// changing it silently orphans every cache on every machine, so a change has
// to be deliberate and show up here. The concurrency cases hammer one key
// from threads and processes and check that readers only ever see whole
// entries and that no temporary file is left behind.
//
//===----------------------------------------------------------------------===//

#include "autotune/TuningCache.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(__unix__)
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace skim::tune;
namespace fs = llvm::sys::fs;

namespace {

/// A fresh folder, removed with everything in it at the end of the case.
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { REQUIRE(!fs::createUniqueDirectory("skim-tuning-test", path)); }
  ~TempDir() { fs::remove_directories(path); }
  std::string sub(llvm::StringRef name) const {
    llvm::SmallString<128> result(path);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }
};

TuningKey sampleKey() {
  return {"NVIDIA H200", "sm_90a",           "CUDA 13.0",
          "0.1.0",       "3f2a9c01d4e5b677", "B1-T64k-S64k"};
}

TuningEntry sampleEntry() {
  TuningEntry entry;
  entry.key = sampleKey();
  entry.stages = {{"selected", "#skim.schedule<block_m = 128, block_n = 64>"},
                  {"compressed", "#skim.schedule<block_m = 64, block_n = 128, "
                                 "pack_gqa>"},
                  {"attention", "#skim.schedule<block_m = 64, block_n = 64>"}};
  // Not exactly representable in decimal: the file must keep every bit.
  entry.bestMs = 0.1 + 1.2345678901234567;
  entry.defaultMs = 2.0 / 3.0;
  entry.trials = 60;
  entry.date = "2026-12-01T10:00:00Z";
  return entry;
}

void checkSame(const TuningEntry &got, const TuningEntry &want) {
  CHECK(got.key.deviceName == want.key.deviceName);
  CHECK(got.key.arch == want.key.arch);
  CHECK(got.key.driver == want.key.driver);
  CHECK(got.key.skimVersion == want.key.skimVersion);
  CHECK(got.key.variantSignature == want.key.variantSignature);
  CHECK(got.key.shapeBucket == want.key.shapeBucket);
  CHECK(got.key == want.key);
  REQUIRE(got.stages.size() == want.stages.size());
  for (size_t i = 0; i < got.stages.size(); ++i) {
    CHECK(got.stages[i].stage == want.stages[i].stage);
    CHECK(got.stages[i].schedule == want.stages[i].schedule);
  }
  CHECK(got.bestMs == want.bestMs);
  CHECK(got.defaultMs == want.defaultMs);
  CHECK(got.trials == want.trials);
  CHECK(got.date == want.date);
}

void writeFile(const std::string &path, llvm::StringRef content) {
  REQUIRE(!fs::create_directories(llvm::sys::path::parent_path(path)));
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  REQUIRE(!ec);
  os << content;
  os.close();
  REQUIRE(!os.has_error());
}

bool contains(llvm::StringRef haystack, llvm::StringRef needle) {
  return haystack.contains(needle);
}

/// Every *.tmp anywhere under `dir`.
std::vector<std::string> tempFilesUnder(llvm::StringRef dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".tmp")
      found.push_back(it->path());
  return found;
}

/// The serialized sample entry, edited as JSON.
template <typename Edit> std::string editedSample(Edit edit) {
  llvm::Expected<llvm::json::Value> value =
      llvm::json::parse(serializeEntry(sampleEntry()));
  REQUIRE(bool(value));
  edit(*value->getAsObject());
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *value;
  return text;
}

} // namespace

TEST_CASE("an entry stored is the entry looked up", "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  CHECK(cache.dir() == tmp.path.str());
  TuningEntry entry = sampleEntry();

  REQUIRE(!llvm::errorToBool(cache.store(entry)));
  CHECK(fs::exists(cache.pathOf(entry.key)));
  std::vector<std::string> warnings;
  std::optional<TuningEntry> found = cache.lookup(entry.key, &warnings);
  CHECK(warnings.empty());
  REQUIRE(found);
  checkSame(*found, entry);

  std::vector<TuningEntry> all = cache.list(&warnings);
  CHECK(warnings.empty());
  REQUIRE(all.size() == 1);
  checkSame(all[0], entry);
}

TEST_CASE("serializeEntry and parseEntry are inverses", "[tuning-cache]") {
  TuningEntry entry = sampleEntry();
  std::string text = serializeEntry(entry);
  CHECK(
      llvm::StringRef(text).starts_with("{\n  \"schema\": \"skim-tuning/1\""));
  CHECK(llvm::StringRef(text).ends_with("}\n"));
  CHECK(contains(text, "\"skim_version\": \"0.1.0\""));
  CHECK(contains(text, "\"schedule\": \"#skim.schedule<block_m = 128, "
                       "block_n = 64>\""));
  llvm::Expected<TuningEntry> parsed = parseEntry(text);
  REQUIRE(bool(parsed));
  checkSame(*parsed, entry);
  // Stable: printing what was parsed gives the same bytes.
  CHECK(serializeEntry(*parsed) == text);

  // An entry without stages or timings is still an entry.
  TuningEntry bare;
  bare.key = sampleKey();
  llvm::Expected<TuningEntry> bareParsed = parseEntry(serializeEntry(bare));
  REQUIRE(bool(bareParsed));
  checkSame(*bareParsed, bare);
}

TEST_CASE("the key digest is pinned and covers every field", "[tuning-cache]") {
  TuningKey key = sampleKey();
  // Pinned: a change here orphans every existing cache. Change it only on
  // purpose, together with the schema.
  CHECK(key.digest() == "164f2419e392566d");
  CHECK(key.deviceDigest() == "cae39b0621da1ac8");
  CHECK(TuningKey{}.digest() == "a09d945a1cd8d6e5");

  std::string base = key.digest();
  std::string baseDevice = key.deviceDigest();
  CHECK(base.size() == 16);
  CHECK(base.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(base != baseDevice);

  std::string TuningKey::*fields[] = {
      &TuningKey::deviceName,       &TuningKey::arch,
      &TuningKey::driver,           &TuningKey::skimVersion,
      &TuningKey::variantSignature, &TuningKey::shapeBucket};
  std::vector<std::string> seen = {base};
  for (size_t i = 0; i < std::size(fields); ++i) {
    INFO("field " << i);
    TuningKey changed = key;
    changed.*fields[i] += "x";
    CHECK_FALSE(changed == key);
    CHECK(changed.digest() != base);
    if (i < 3)
      CHECK(changed.deviceDigest() != baseDevice);
    else
      CHECK(changed.deviceDigest() == baseDevice);
    seen.push_back(changed.digest());
  }
  std::sort(seen.begin(), seen.end());
  CHECK(std::unique(seen.begin(), seen.end()) == seen.end());

  // Length-prefixed: moving a character across a field boundary changes it.
  TuningKey left = key, right = key;
  left.arch = "sm_90";
  left.driver = "aCUDA 13.0";
  CHECK(left.digest() != right.digest());
  CHECK(left.deviceDigest() != right.deviceDigest());
  CHECK(key == sampleKey());
}

TEST_CASE("a key never stored is a silent miss", "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(tmp.sub("never-created"));
  std::vector<std::string> warnings;
  CHECK_FALSE(cache.lookup(sampleKey(), &warnings));
  CHECK(warnings.empty());
  CHECK(cache.list(&warnings).empty());
  CHECK(warnings.empty());

  // Another key in the same device folder is still a miss.
  TuningCache used(std::string(tmp.path));
  REQUIRE(!llvm::errorToBool(used.store(sampleEntry())));
  TuningKey other = sampleKey();
  other.shapeBucket = "B8-T4k-S4k";
  CHECK_FALSE(used.lookup(other, &warnings));
  CHECK(warnings.empty());
  // Without a warnings vector nothing breaks either.
  CHECK_FALSE(used.lookup(other));
}

TEST_CASE("a corrupt entry is ignored with one warning, and replaced",
          "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  TuningKey key = sampleKey();
  std::string path = cache.pathOf(key);
  std::string good = serializeEntry(sampleEntry());

  struct Case {
    const char *name;
    std::string content;
    const char *problem;
  };
  const char garbage[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe";
  std::vector<Case> cases = {
      {"truncated", good.substr(0, good.size() / 2), "not JSON"},
      {"binary garbage", std::string(garbage, sizeof(garbage) - 1), "not JSON"},
      {"empty", "", "empty file"},
      {"only whitespace", "\n  \n", "empty file"},
      {"not an object", "[1, 2, 3]", "not a JSON object"},
      {"missing key field", editedSample([](llvm::json::Object &root) {
         root.getObject("key")->erase("arch");
       }),
       "missing or non-string field 'key.arch'"},
      {"missing key",
       editedSample([](llvm::json::Object &root) { root.erase("key"); }),
       "missing or non-object field 'key'"},
      {"wrong type",
       editedSample([](llvm::json::Object &root) { root["trials"] = "sixty"; }),
       "missing or non-integer field 'trials'"},
      {"fractional trials",
       editedSample([](llvm::json::Object &root) { root["trials"] = 60.5; }),
       "missing or non-integer field 'trials'"},
      {"time as a string",
       editedSample([](llvm::json::Object &root) { root["best_ms"] = "1.5"; }),
       "missing or non-number field 'best_ms'"},
      {"negative time", editedSample([](llvm::json::Object &root) {
         root["default_ms"] = -2.0;
       }),
       "field 'default_ms' is -2"},
      {"negative trials",
       editedSample([](llvm::json::Object &root) { root["trials"] = -1; }),
       "field 'trials' is negative"},
      {"stage without schedule", editedSample([](llvm::json::Object &root) {
         root.getArray("stages")->back().getAsObject()->erase("schedule");
       }),
       "stage 2 has no schedule"},
      {"stage that is a string", editedSample([](llvm::json::Object &root) {
         (*root.getArray("stages"))[1] = "selected";
       }),
       "stage 1 is not an object"},
      {"stages not an array", editedSample([](llvm::json::Object &root) {
         root["stages"] = llvm::json::Object{};
       }),
       "missing or non-array field 'stages'"},
      {"missing date",
       editedSample([](llvm::json::Object &root) { root.erase("date"); }),
       "missing or non-string field 'date'"},
      {"other schema", editedSample([](llvm::json::Object &root) {
         root["schema"] = "skim-tuning/2";
       }),
       "schema 'skim-tuning/2' is not skim-tuning/1"},
      {"no schema",
       editedSample([](llvm::json::Object &root) { root.erase("schema"); }),
       "missing or non-string field 'schema'"},
  };

  for (const Case &c : cases) {
    INFO("case: " << c.name);
    writeFile(path, c.content);
    std::vector<std::string> warnings;
    CHECK_FALSE(cache.lookup(key, &warnings));
    REQUIRE(warnings.size() == 1);
    INFO("warning: " << warnings[0]);
    CHECK(contains(warnings[0], "tuning cache: ignoring " + path + ": "));
    CHECK(contains(warnings[0], c.problem));
    // parseEntry says the same thing on its own.
    if (!llvm::StringRef(c.content).trim().empty()) {
      llvm::Expected<TuningEntry> parsed = parseEntry(c.content);
      REQUIRE_FALSE(bool(parsed));
      CHECK(contains(llvm::toString(parsed.takeError()), c.problem));
    }
    // list() skips it with a warning too.
    warnings.clear();
    CHECK(cache.list(&warnings).empty());
    CHECK(warnings.size() == 1);

    // Storing the key again replaces the bad file.
    REQUIRE(!llvm::errorToBool(cache.store(sampleEntry())));
    warnings.clear();
    std::optional<TuningEntry> found = cache.lookup(key, &warnings);
    CHECK(warnings.empty());
    REQUIRE(found);
    checkSame(*found, sampleEntry());
  }
  CHECK(tempFilesUnder(tmp.path).empty());
}

TEST_CASE("an unreadable entry is ignored with one warning", "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  TuningKey key = sampleKey();
  // A folder where the file should be: it exists but cannot be read as one.
  REQUIRE(!fs::create_directories(cache.pathOf(key)));
  std::vector<std::string> warnings;
  CHECK_FALSE(cache.lookup(key, &warnings));
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], cache.pathOf(key)));
}

TEST_CASE("an entry for another key is stale", "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  TuningKey newKey = sampleKey();
  TuningEntry old = sampleEntry();
  old.key.skimVersion = "0.0.9";
  REQUIRE(old.key.digest() != newKey.digest());

  // As if the file had been copied over, or the digests collided.
  writeFile(cache.pathOf(newKey), serializeEntry(old));
  std::vector<std::string> warnings;
  CHECK_FALSE(cache.lookup(newKey, &warnings));
  REQUIRE(warnings.size() == 1);
  INFO(warnings[0]);
  CHECK(contains(warnings[0], cache.pathOf(newKey)));
  CHECK(contains(warnings[0], "stale"));
  CHECK(contains(warnings[0], "skim_version '0.0.9', not '0.1.0'"));
  // The old key lives elsewhere and was never stored.
  warnings.clear();
  CHECK_FALSE(cache.lookup(old.key, &warnings));
  CHECK(warnings.empty());
  // list() does not trust it either: its name is not its key's digest.
  CHECK(cache.list(&warnings).empty());
  CHECK(warnings.size() == 1);

  // The first differing field is the one named.
  TuningEntry otherArch = sampleEntry();
  otherArch.key.arch = "sm_100a";
  otherArch.key.shapeBucket = "B2-T1k-S1k";
  writeFile(cache.pathOf(newKey), serializeEntry(otherArch));
  warnings.clear();
  CHECK_FALSE(cache.lookup(newKey, &warnings));
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "stale entry (it is for arch 'sm_100a', not "
                              "'sm_90a')"));
}

TEST_CASE("list finds every entry in a fixed order and skips the rest",
          "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  TuningEntry h200 = sampleEntry();
  TuningEntry h200Other = sampleEntry();
  h200Other.key.shapeBucket = "B8-T4k-S4k";
  h200Other.bestMs = 0.5;
  TuningEntry mi300 = sampleEntry();
  mi300.key.deviceName = "AMD Instinct MI300X";
  mi300.key.arch = "gfx942";
  mi300.key.driver = "HIP 6.2";
  for (const TuningEntry &entry : {h200Other, mi300, h200})
    REQUIRE(!llvm::errorToBool(cache.store(entry)));

  // A writer's temporary file in flight and a stray file: not entries, no
  // warnings.
  std::string folder =
      std::string(llvm::sys::path::parent_path(cache.pathOf(h200.key)));
  writeFile(folder + "/" + h200.key.digest() + "-a1b2c3d4.tmp", "{\"sch");
  writeFile(tmp.sub("README"), "not a folder");
  // A valid entry under the wrong name: warned about and skipped.
  writeFile(folder + "/0123456789abcdef.json", serializeEntry(h200));
  // A corrupt one: warned about and skipped.
  writeFile(folder + "/fedcba9876543210.json", "{");

  std::vector<std::string> warnings;
  std::vector<TuningEntry> all = cache.list(&warnings);
  REQUIRE(all.size() == 3);
  CHECK(all[0].key.deviceName == "AMD Instinct MI300X");
  CHECK(all[1].key.deviceName == "NVIDIA H200");
  CHECK(all[2].key.deviceName == "NVIDIA H200");
  CHECK(all[1].key.digest() < all[2].key.digest());
  REQUIRE(warnings.size() == 2);
  CHECK(contains(warnings[0], "0123456789abcdef.json"));
  CHECK(contains(warnings[0], h200.key.digest()));
  CHECK(contains(warnings[1], "fedcba9876543210.json"));
  CHECK(contains(warnings[1], "not JSON"));

  // The same answer every time.
  std::vector<std::string> again;
  std::vector<TuningEntry> second = cache.list(&again);
  REQUIRE(second.size() == all.size());
  for (size_t i = 0; i < all.size(); ++i)
    checkSame(second[i], all[i]);
  CHECK(again == warnings);
}

namespace {

/// Entry number `n` of a writer: every field depends on `n`, so an entry
/// mixed from two writes does not pass isWholeEntry.
TuningEntry numberedEntry(int n) {
  TuningEntry entry = sampleEntry();
  entry.bestMs = 1.0 + n / 1024.0;
  entry.defaultMs = 2.0 + n;
  entry.trials = n;
  entry.date = "2026-12-01T10:00:00Z#" + std::to_string(n);
  entry.stages[1].schedule =
      "#skim.schedule<block_m = " + std::to_string(n) + ">";
  return entry;
}

bool isWholeEntry(const TuningEntry &entry, int numEntries) {
  if (entry.trials < 0 || entry.trials >= numEntries)
    return false;
  TuningEntry want = numberedEntry(static_cast<int>(entry.trials));
  if (!(entry.key == want.key) || entry.stages.size() != want.stages.size())
    return false;
  for (size_t i = 0; i < entry.stages.size(); ++i)
    if (entry.stages[i].stage != want.stages[i].stage ||
        entry.stages[i].schedule != want.stages[i].schedule)
      return false;
  return entry.bestMs == want.bestMs && entry.defaultMs == want.defaultMs &&
         entry.date == want.date;
}

} // namespace

TEST_CASE("concurrent writers in threads leave one whole entry",
          "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  TuningKey key = sampleKey();
  constexpr int kWriters = 8, kStores = 50;

  std::atomic<bool> anyStored{false}, writersDone{false};
  std::atomic<int> storeErrors{0}, lateMisses{0}, torn{0}, warned{0}, hits{0};
  std::thread reader([&] {
    while (true) {
      bool stop = writersDone.load();
      bool storedBefore = anyStored.load();
      std::vector<std::string> warnings;
      std::optional<TuningEntry> found = cache.lookup(key, &warnings);
      if (!warnings.empty())
        ++warned;
      if (!found) {
        if (storedBefore)
          ++lateMisses;
      } else if (isWholeEntry(*found, kWriters * kStores)) {
        ++hits;
      } else {
        ++torn;
      }
      if (stop)
        break;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < kStores; ++i) {
        if (llvm::Error error = cache.store(numberedEntry(w * kStores + i))) {
          llvm::consumeError(std::move(error));
          ++storeErrors;
        } else {
          anyStored = true;
        }
      }
    });
  for (std::thread &writer : writers)
    writer.join();
  writersDone = true;
  reader.join();

  CHECK(storeErrors == 0);
  CHECK(lateMisses == 0);
  CHECK(torn == 0);
  CHECK(warned == 0);
  CHECK(hits > 0);
  std::vector<std::string> warnings;
  std::optional<TuningEntry> last = cache.lookup(key, &warnings);
  CHECK(warnings.empty());
  REQUIRE(last);
  CHECK(isWholeEntry(*last, kWriters * kStores));
  CHECK(tempFilesUnder(tmp.path).empty());
  CHECK(cache.list(&warnings).size() == 1);
  CHECK(warnings.empty());
}

#if defined(__unix__)
TEST_CASE("concurrent writers in processes leave one whole entry",
          "[tuning-cache]") {
  TempDir tmp;
  TuningCache cache(std::string(tmp.path));
  constexpr int kProcesses = 4, kStores = 30;

  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child must not return into Catch2: it reports by exit status.
      int failures = 0;
      for (int i = 0; i < kStores; ++i)
        if (llvm::Error error = cache.store(numberedEntry(p * kStores + i))) {
          llvm::consumeError(std::move(error));
          ++failures;
        }
      _exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  std::vector<std::string> warnings;
  std::optional<TuningEntry> found = cache.lookup(sampleKey(), &warnings);
  CHECK(warnings.empty());
  REQUIRE(found);
  CHECK(isWholeEntry(*found, kProcesses * kStores));
  CHECK(tempFilesUnder(tmp.path).empty());
}
#endif

TEST_CASE("a store that cannot be written is an error naming the path",
          "[tuning-cache]") {
  TempDir tmp;
  TuningEntry entry = sampleEntry();

  SECTION("the cache folder is under a regular file") {
    writeFile(tmp.sub("afile"), "I am a file");
    TuningCache cache(tmp.sub("afile") + "/sub");
    llvm::Error error = cache.store(entry);
    REQUIRE(bool(error));
    std::string message = llvm::toString(std::move(error));
    INFO(message);
    CHECK(contains(message, cache.pathOf(entry.key)));
    CHECK(contains(message, "cannot create folder"));
    std::vector<std::string> warnings;
    CHECK_FALSE(cache.lookup(entry.key, &warnings));
  }

  SECTION("a folder sits where the file goes") {
    TuningCache cache(std::string(tmp.path));
    std::string path = cache.pathOf(entry.key);
    writeFile(path + "/keep", "the rename must not replace a full folder");
    llvm::Error error = cache.store(entry);
    REQUIRE(bool(error));
    std::string message = llvm::toString(std::move(error));
    INFO(message);
    CHECK(contains(message, path));
    CHECK(contains(message, "cannot rename"));
    // The failed write cleaned up after itself.
    CHECK(tempFilesUnder(tmp.path).empty());
    CHECK(fs::exists(path + "/keep"));
  }

  SECTION("an entry that lookup would reject is not written") {
    TuningCache cache(std::string(tmp.path));
    entry.bestMs = -1;
    llvm::Error error = cache.store(entry);
    REQUIRE(bool(error));
    CHECK(contains(llvm::toString(std::move(error)), "best_ms"));
    CHECK_FALSE(fs::exists(cache.pathOf(entry.key)));

    TuningEntry badUtf8 = sampleEntry();
    badUtf8.key.deviceName = "GPU \xff\xfe";
    llvm::Error utf8Error = cache.store(badUtf8);
    REQUIRE(bool(utf8Error));
    CHECK(contains(llvm::toString(std::move(utf8Error)), "device"));
    CHECK_FALSE(fs::exists(cache.pathOf(badUtf8.key)));
    CHECK(tempFilesUnder(tmp.path).empty());
  }
}

namespace {

/// Sets or clears an environment variable for one case and puts the old
/// value back at the end.
class ScopedEnv {
public:
  explicit ScopedEnv(const char *name) : name(name) {
    if (const char *value = std::getenv(name))
      old = value;
  }
  ~ScopedEnv() {
    if (old)
      setenv(name, old->c_str(), 1);
    else
      unsetenv(name);
  }
  void set(const std::string &value) { setenv(name, value.c_str(), 1); }
  void clear() { unsetenv(name); }

private:
  const char *name;
  std::optional<std::string> old;
};

} // namespace

TEST_CASE("the default folder comes from the environment", "[tuning-cache]") {
  TempDir tmp;
  ScopedEnv tuningDir("SKIM_TUNING_DIR"), cacheDir("SKIM_CACHE_DIR"),
      home("HOME");

  tuningDir.set(tmp.sub("tuned"));
  cacheDir.set(tmp.sub("cache"));
  CHECK(TuningCache().dir() == tmp.sub("tuned"));
  // An explicit folder wins over the environment.
  CHECK(TuningCache(tmp.sub("explicit")).dir() == tmp.sub("explicit"));
  // And the default one is really used.
  TuningCache fromEnv;
  REQUIRE(!llvm::errorToBool(fromEnv.store(sampleEntry())));
  CHECK(llvm::StringRef(fromEnv.pathOf(sampleKey()))
            .starts_with(tmp.sub("tuned")));
  CHECK(fs::exists(fromEnv.pathOf(sampleKey())));

  tuningDir.clear();
  CHECK(TuningCache().dir() == tmp.sub("cache") + "/tuning");
  // Set but empty counts as unset.
  tuningDir.set("");
  CHECK(TuningCache().dir() == tmp.sub("cache") + "/tuning");

  cacheDir.clear();
  home.set(tmp.sub("home"));
  CHECK(TuningCache().dir() == tmp.sub("home") + "/.cache/skim/tuning");
}
