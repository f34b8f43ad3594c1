//===- TuningCache.cpp - tuned schedules on disk --------------------------===//
//
// The cache never trusts a file: whatever is on disk may have been written by
// another skim version, truncated by a crash of an older writer, or edited by
// hand, so every read is parsed strictly and checked against the key it was
// looked up for, and anything doubtful becomes a warning and a miss (the
// compiler then falls back to the default schedules). Writers go through a
// uniquely named temporary file in the entry's own folder, so the final
// rename stays on one file system and is atomic.
//
//===----------------------------------------------------------------------===//

#include "autotune/TuningCache.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <tuple>

using namespace llvm;

namespace skim::tune {

namespace {

/// One table for the key's fields, so that the digest, the file format, the
/// parser and the stale check cannot disagree on names or order.
struct KeyField {
  const char *jsonName;
  std::string TuningKey::*member;
};

constexpr KeyField kKeyFields[] = {
    {"device", &TuningKey::deviceName},
    {"arch", &TuningKey::arch},
    {"driver", &TuningKey::driver},
    {"skim_version", &TuningKey::skimVersion},
    {"variant", &TuningKey::variantSignature},
    {"shape_bucket", &TuningKey::shapeBucket},
};

/// The first three fields name the device; they alone pick its folder.
constexpr size_t kNumDeviceFields = 3;

/// FNV-1a 64 over length-prefixed fields: the length prefix keeps ("ab", "c")
/// and ("a", "bc") apart, and the fixed byte order keeps file names equal on
/// every machine.
std::string fnvDigest(const TuningKey &key, size_t numFields) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto addByte = [&](uint8_t byte) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  };
  for (const KeyField &field : ArrayRef(kKeyFields).take_front(numFields)) {
    const std::string &value = key.*field.member;
    uint64_t length = value.size();
    for (int i = 0; i < 8; ++i)
      addByte(static_cast<uint8_t>(length >> (8 * i)));
    for (char c : value)
      addByte(static_cast<uint8_t>(c));
  }
  std::string text;
  raw_string_ostream os(text);
  os << format_hex_no_prefix(hash, 16, /*Upper=*/false);
  return text;
}

/// json::Value asserts on invalid UTF-8 (a driver may report anything);
/// replacing it here keeps serializeEntry total, and store() refuses such
/// entries because they would not read back as the same key.
json::Value jsonString(StringRef text) {
  if (json::isUTF8(text))
    return text.str();
  return json::fixUTF8(text);
}

Error parseError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

Expected<double> parseTime(const json::Object &root, StringRef name) {
  std::optional<double> value = root.getNumber(name);
  if (!value)
    return parseError("missing or non-number field '" + name + "'");
  if (!std::isfinite(*value) || *value < 0) {
    std::string printed;
    raw_string_ostream(printed) << json::Value(*value);
    return parseError("field '" + name + "' is " + printed +
                      ", not a time in ms");
  }
  return *value;
}

/// "skim_version '0.0.9', not '0.1.0'" for the first field where the entry
/// on disk differs from the key it was looked up for.
std::optional<std::string> describeMismatch(const TuningKey &theirs,
                                            const TuningKey &ours) {
  for (const KeyField &field : kKeyFields) {
    const std::string &a = theirs.*field.member;
    const std::string &b = ours.*field.member;
    if (a != b)
      return (Twine(field.jsonName) + " '" + a + "', not '" + b + "'").str();
  }
  return std::nullopt;
}

std::optional<std::string> nonEmptyEnv(StringRef name) {
  std::optional<std::string> value = sys::Process::GetEnv(name);
  if (value && value->empty())
    return std::nullopt;
  return value;
}

std::string defaultDir() {
  if (std::optional<std::string> dir = nonEmptyEnv("SKIM_TUNING_DIR"))
    return *dir;
  if (std::optional<std::string> dir = nonEmptyEnv("SKIM_CACHE_DIR")) {
    SmallString<256> path(*dir);
    sys::path::append(path, "tuning");
    return std::string(path);
  }
  SmallString<256> home;
  if (sys::path::home_directory(home) && !home.empty()) {
    sys::path::append(home, ".cache", "skim", "tuning");
    return std::string(home);
  }
  return "./.skim-tuning";
}

/// Reads and parses one file. A missing file is a plain miss (nullopt, no
/// warning) only when `missingIsSilent`; everything else wrong with the file
/// becomes one warning.
std::optional<TuningEntry> readEntryFile(StringRef path, bool missingIsSilent,
                                         std::vector<std::string> *warnings) {
  auto warn = [&](const Twine &reason) {
    if (warnings)
      warnings->push_back(
          ("tuning cache: ignoring " + path + ": " + reason).str());
  };
  // Volatile: read the bytes now rather than map a file that a concurrent
  // writer may replace.
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false,
                            /*IsVolatile=*/true);
  if (!buffer) {
    if (missingIsSilent &&
        buffer.getError() == std::errc::no_such_file_or_directory)
      return std::nullopt;
    warn("cannot read: " + buffer.getError().message());
    return std::nullopt;
  }
  StringRef text = (*buffer)->getBuffer();
  if (text.trim().empty()) {
    warn("empty file");
    return std::nullopt;
  }
  Expected<TuningEntry> entry = parseEntry(text);
  if (!entry) {
    warn(toString(entry.takeError()));
    return std::nullopt;
  }
  return std::move(*entry);
}

/// Sorted, so that list() and its warnings come out the same on every run.
std::vector<std::string> sortedChildren(StringRef dir, std::error_code &ec) {
  std::vector<std::string> children;
  sys::fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec))
    children.push_back(it->path());
  llvm::sort(children);
  return children;
}

} // namespace

std::string TuningKey::digest() const {
  return fnvDigest(*this, std::size(kKeyFields));
}

std::string TuningKey::deviceDigest() const {
  return fnvDigest(*this, kNumDeviceFields);
}

bool TuningKey::operator==(const TuningKey &other) const {
  return !describeMismatch(*this, other);
}

std::string serializeEntry(const TuningEntry &entry) {
  std::string text;
  raw_string_ostream os(text);
  {
    // json::OStream rather than json::Object: an Object prints its keys
    // sorted, and a human reading the file wants the schema and key first.
    json::OStream json(os, /*IndentSize=*/2);
    json.object([&] {
      json.attribute("schema", kTuningSchema);
      json.attributeObject("key", [&] {
        for (const KeyField &field : kKeyFields)
          json.attribute(field.jsonName, jsonString(entry.key.*field.member));
      });
      json.attributeArray("stages", [&] {
        for (const TunedStage &stage : entry.stages)
          json.object([&] {
            json.attribute("stage", jsonString(stage.stage));
            json.attribute("schedule", jsonString(stage.schedule));
          });
      });
      json.attribute("best_ms", entry.bestMs);
      json.attribute("default_ms", entry.defaultMs);
      json.attribute("trials", entry.trials);
      json.attribute("date", jsonString(entry.date));
    });
  }
  os << '\n';
  return text;
}

Expected<TuningEntry> parseEntry(StringRef text) {
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return parseError("not JSON: " + toString(value.takeError()));
  const json::Object *root = value->getAsObject();
  if (!root)
    return parseError("not a JSON object");

  // The schema first: a file of another schema may lack any other field,
  // and "other schema" is the more useful thing to report.
  std::optional<StringRef> schema = root->getString("schema");
  if (!schema)
    return parseError("missing or non-string field 'schema'");
  if (*schema != kTuningSchema)
    return parseError("schema '" + *schema + "' is not " + kTuningSchema);

  TuningEntry entry;
  const json::Object *key = root->getObject("key");
  if (!key)
    return parseError("missing or non-object field 'key'");
  for (const KeyField &field : kKeyFields) {
    std::optional<StringRef> fieldValue = key->getString(field.jsonName);
    if (!fieldValue)
      return parseError(Twine("missing or non-string field 'key.") +
                        field.jsonName + "'");
    entry.key.*field.member = fieldValue->str();
  }

  const json::Array *stages = root->getArray("stages");
  if (!stages)
    return parseError("missing or non-array field 'stages'");
  for (auto [index, stageValue] : llvm::enumerate(*stages)) {
    const json::Object *stage = stageValue.getAsObject();
    if (!stage)
      return parseError("stage " + Twine(index) + " is not an object");
    std::optional<StringRef> name = stage->getString("stage");
    if (!name || name->empty())
      return parseError("stage " + Twine(index) + " has no name");
    // An empty schedule is the compiler's default for that stage.
    std::optional<StringRef> schedule = stage->getString("schedule");
    if (!schedule)
      return parseError("stage " + Twine(index) + " has no schedule");
    entry.stages.push_back({name->str(), schedule->str()});
  }

  Expected<double> bestMs = parseTime(*root, "best_ms");
  if (!bestMs)
    return bestMs.takeError();
  entry.bestMs = *bestMs;
  Expected<double> defaultMs = parseTime(*root, "default_ms");
  if (!defaultMs)
    return defaultMs.takeError();
  entry.defaultMs = *defaultMs;

  std::optional<int64_t> trials = root->getInteger("trials");
  if (!trials)
    return parseError("missing or non-integer field 'trials'");
  if (*trials < 0)
    return parseError("field 'trials' is negative (" + Twine(*trials) + ")");
  entry.trials = *trials;

  std::optional<StringRef> date = root->getString("date");
  if (!date)
    return parseError("missing or non-string field 'date'");
  entry.date = date->str();
  return entry;
}

TuningCache::TuningCache(std::string dir)
    : dir_(dir.empty() ? defaultDir() : std::move(dir)) {}

std::string TuningCache::pathOf(const TuningKey &key) const {
  SmallString<256> path(dir_);
  sys::path::append(path, key.deviceDigest(), key.digest() + ".json");
  return std::string(path);
}

std::optional<TuningEntry>
TuningCache::lookup(const TuningKey &key,
                    std::vector<std::string> *warnings) const {
  std::string path = pathOf(key);
  std::optional<TuningEntry> entry =
      readEntryFile(path, /*missingIsSilent=*/true, warnings);
  if (!entry)
    return std::nullopt;
  // A digest collision or an entry copied from an older skim lands here; its
  // schedules were tuned for something else.
  if (std::optional<std::string> mismatch = describeMismatch(entry->key, key)) {
    if (warnings)
      warnings->push_back("tuning cache: ignoring " + path +
                          ": stale entry (it is for " + *mismatch + ")");
    return std::nullopt;
  }
  return entry;
}

Error TuningCache::store(const TuningEntry &entry) const {
  std::string path = pathOf(entry.key);
  auto fail = [&](const Twine &reason) {
    return createStringError(inconvertibleErrorCode(),
                             "cannot store tuning cache entry " + path + ": " +
                                 reason);
  };

  // Refuse what lookup() would reject, rather than write a file that every
  // later compile warns about.
  std::string text = serializeEntry(entry);
  Expected<TuningEntry> readBack = parseEntry(text);
  if (!readBack)
    return fail(toString(readBack.takeError()));
  if (std::optional<std::string> mismatch =
          describeMismatch(readBack->key, entry.key))
    return fail("the key does not survive JSON (" + *mismatch +
                "); is it valid UTF-8?");

  StringRef folder = sys::path::parent_path(path);
  if (std::error_code ec = sys::fs::create_directories(folder))
    return fail("cannot create folder " + folder + ": " + ec.message());

  // The same folder as the entry, so that the rename below never crosses
  // file systems (where it would not be atomic, or would fail).
  SmallString<256> model(folder);
  sys::path::append(model, entry.key.digest() + "-%%%%%%%%.tmp");
  int fd = -1;
  SmallString<256> tempPath;
  if (std::error_code ec = sys::fs::createUniqueFile(model, fd, tempPath))
    return fail("cannot create a temporary file in " + folder + ": " +
                ec.message());

  std::error_code writeError;
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << text;
    os.close();
    writeError = os.error();
    // raw_fd_ostream aborts on destruction with an unchecked error.
    os.clear_error();
  }
  if (writeError) {
    sys::fs::remove(tempPath);
    return fail("cannot write " + tempPath + ": " + writeError.message());
  }
  if (std::error_code ec = sys::fs::rename(tempPath, path)) {
    sys::fs::remove(tempPath);
    return fail("cannot rename " + tempPath + " onto it: " + ec.message());
  }
  return Error::success();
}

std::vector<TuningEntry>
TuningCache::list(std::vector<std::string> *warnings) const {
  auto warn = [&](const Twine &message) {
    if (warnings)
      warnings->push_back(("tuning cache: " + message).str());
  };
  std::vector<TuningEntry> entries;
  std::error_code ec;
  std::vector<std::string> folders = sortedChildren(dir_, ec);
  if (ec) {
    // A cache that was never written to is empty, not broken.
    if (ec != std::errc::no_such_file_or_directory)
      warn("cannot read " + dir_ + ": " + ec.message());
    return entries;
  }
  for (const std::string &folder : folders) {
    if (!sys::fs::is_directory(folder))
      continue;
    std::vector<std::string> files = sortedChildren(folder, ec);
    if (ec) {
      warn("cannot read " + folder + ": " + ec.message());
      continue;
    }
    for (const std::string &file : files) {
      // Anything but *.json, in particular a writer's *.tmp in flight, is
      // not an entry.
      if (sys::path::extension(file) != ".json")
        continue;
      std::optional<TuningEntry> entry =
          readEntryFile(file, /*missingIsSilent=*/true, warnings);
      if (!entry)
        continue;
      // lookup() would never find an entry under another name, so it is
      // not part of the cache either, whatever it holds.
      std::string digest = entry->key.digest();
      if (sys::path::stem(file) != digest) {
        warn("ignoring " + Twine(file) + ": its key's digest is " + digest +
             ", not its file name");
        continue;
      }
      std::string deviceDigest = entry->key.deviceDigest();
      if (sys::path::filename(folder) != deviceDigest) {
        warn("ignoring " + Twine(file) + ": its key's device folder is " +
             deviceDigest + ", not " + sys::path::filename(folder));
        continue;
      }
      entries.push_back(std::move(*entry));
    }
  }
  llvm::sort(entries, [](const TuningEntry &a, const TuningEntry &b) {
    return std::make_tuple(a.key.deviceName, a.key.digest()) <
           std::make_tuple(b.key.deviceName, b.key.digest());
  });
  return entries;
}

} // namespace skim::tune
