//===- Jit.cpp - compile on first use, cache on disk ----------------------===//

#include "Jit/Jit.h"

#include "Jit/Log.h"
#include "autotune/Autotune.h"
#include "autotune/Passes.h"
#include "Pipelines/Pipeline.h"
#include "Registration/RegisterSkim.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <future>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::skim;
namespace rt = ::skim::rt;

/// One key's result, shared by every thread that asks for it; the first
/// asker compiles, the others wait on the future.
struct Jit::Entry {
  std::shared_future<rt::Expected<std::string>> artifact;
  std::mutex loadMutex;
  std::shared_ptr<rt::CpuExecutable> executable;
};

namespace {

std::string defaultCacheDir() {
  if (const char *env = std::getenv("SKIM_CACHE_DIR"))
    if (*env)
      return env;
  const char *home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/skim";
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

DialectRegistry variantRegistry() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerSkimDialects(registry);
  return registry;
}

/// A variant parsed in a context of its own; parse and compile errors, with
/// their locations, are collected in `diagnostics`.
struct VariantModule {
  VariantModule(const std::string &mlir, MLIRContext::Threading threading)
      : context(variantRegistry(), threading) {
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(mlir, "variant.mlir"), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  }
  MLIRContext context;
  std::string diagnostics;
  llvm::raw_string_ostream os{diagnostics};
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler{sourceMgr, &context, os};
  OwningOpRef<ModuleOp> module;
};

/// Parses the variant and prints it back: the key ignores spelling
/// (whitespace, comments, SSA names) but sees every attribute, schedules
/// included.
FailureOr<std::string> canonicalIR(const std::string &mlir, std::string &diagnostics) {
  // Parsing alone does not need threads; starting a pool would cost more
  // than a cache hit should (bench/NOTES.md).
  VariantModule variant(mlir, MLIRContext::Threading::DISABLED);
  if (!variant.module) {
    diagnostics = variant.diagnostics;
    return failure();
  }
  std::string text;
  llvm::raw_string_ostream out(text);
  variant.module->print(out, OpPrintingFlags().printGenericOpForm());
  return text;
}

rt::Expected<std::string> compileText(const std::string &mlir, const std::string &target) {
  VariantModule variant(mlir, MLIRContext::Threading::ENABLED);
  if (!variant.module)
    return rt::Error{variant.diagnostics};
  // The GPU path lowers the kernels through upstream's convert-to-LLVM
  // interfaces (cf, arith, ... inside the gpu.module), which are extensions,
  // as the skim tool registers them. Only here: a cache hit parses too, and
  // should not pay for them.
  DialectRegistry extensions;
  registerAllExtensions(extensions);
  variant.context.appendDialectRegistry(extensions);
  PipelineOptions options;
  options.target = target;
  FailureOr<std::string> artifact = compileToArtifact(*variant.module, options);
  if (failed(artifact))
    return rt::Error{variant.diagnostics.empty() ? "compilation failed"
                                                 : variant.diagnostics};
  return *artifact;
}

/// An exclusive lock on a file, released when the object goes away.
class FileLock {
public:
  explicit FileLock(const std::string &path) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && ::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~FileLock() {
    if (fd >= 0) {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  }
  bool held() const { return fd >= 0; }

private:
  int fd = -1;
};

} // namespace

Jit::Jit(JitOptions opts) : options(std::move(opts)) {
  dir = options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir;
  targetDescription = options.target == "host"
                          ? "host:" + HostCpu::detect().describe()
                          : options.target;
}

Jit::~Jit() = default;

rt::Expected<std::string> Jit::cacheKey(const std::string &mlir) {
  std::string diagnostics;
  FailureOr<std::string> canonical = canonicalIR(mlir, diagnostics);
  if (failed(canonical))
    return rt::Error{diagnostics};
  std::string material = compilerBuildId() + '\0' + targetDescription +
                         '\0' + *canonical;
  // Two independent 64-bit hashes: 128 bits of key.
  uint64_t a = rt::fnv1a64(material.data(), material.size());
  uint64_t b = rt::fnv1a64(material.data(), material.size(), 0x84222325cbf29ce4ull);
  return hex(a) + hex(b);
}

rt::Expected<std::string> Jit::getArtifact(const std::string &mlir) {
  rt::Expected<std::string> key = cacheKey(mlir);
  if (!key)
    return rt::Error{key.message()};
  std::shared_ptr<Entry> entry;
  std::promise<rt::Expected<std::string>> promise;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = entries.find(*key);
    if (it == entries.end()) {
      entry = std::make_shared<Entry>();
      entry->artifact = promise.get_future().share();
      entries[*key] = entry;
      mine = true;
    } else {
      entry = it->second;
    }
  }
  if (!mine)
    return entry->artifact.get();

  auto finish = [&](rt::Expected<std::string> result) {
    if (!result) {
      // A failed compile is not cached: the next ask tries again.
      std::lock_guard<std::mutex> lock(mutex);
      entries.erase(*key);
    }
    promise.set_value(result);
    return result;
  };

  std::string path = dir + "/" + *key + ".skim";
  std::unique_ptr<FileLock> lock;
  if (options.useDiskCache) {
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      log(LogLevel::Warning, "cannot create cache folder " + dir + ": " + ec.message() +
                                 "; compiling without a disk cache");
    else
      lock = std::make_unique<FileLock>(path + ".lock");
    if (lock && lock->held()) {
      rt::Expected<rt::Artifact> cached = rt::Artifact::readFile(path);
      if (cached) {
        log(LogLevel::Debug, "cache hit " + path);
        return finish(cached->serialize());
      }
      if (llvm::sys::fs::exists(path)) {
        log(LogLevel::Warning, "dropping corrupt cache entry (" + cached.message() +
                                   "); recompiling");
        llvm::sys::fs::remove(path);
      }
    }
  }

  auto start = std::chrono::steady_clock::now();
  rt::Expected<std::string> artifact = compileText(mlir, options.target);
  if (!artifact)
    return finish(artifact);
  ++compileCount;
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start).count();
  char line[256];
  std::snprintf(line, sizeof(line), "compiled variant %.16s for %s in %.0f ms",
                key->c_str(), options.target.c_str(), ms);
  log(LogLevel::Info, line);

  if (lock && lock->held()) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
    rt::Expected<rt::Artifact> parsed = rt::Artifact::deserialize(*artifact);
    if (parsed) {
      parsed->sections["key"] = *key;
      artifact = parsed->serialize();
    }
    rt::Status written = parsed ? parsed->writeFile(tmp) : rt::Status(rt::Error{parsed.message()});
    if (!written || llvm::sys::fs::rename(tmp, path)) {
      llvm::sys::fs::remove(tmp);
      log(LogLevel::Warning, "cannot write cache entry " + path);
    }
  }
  return finish(artifact);
}

rt::Expected<std::string>
Jit::withTunedSchedules(const std::string &mlir, const ::skim::tune::ProblemSizes &sizes) {
  std::call_once(tuningDeviceOnce, [&] {
    std::string why;
    ::skim::tune::DeviceIdentity device = ::skim::tune::deviceIdentityFor(
        options.target, options.tuningDeviceName, options.tuningDriver, why);
    tuningDeviceName = device.name;
    tuningDriver = device.driver;
    if (device.name.empty())
      log(LogLevel::Info, "no tuned schedules for " + options.target + ": " + why);
  });
  if (tuningDeviceName.empty())
    return mlir;
  VariantModule variant(mlir, MLIRContext::Threading::DISABLED);
  if (!variant.module)
    return rt::Error{variant.diagnostics};
  // Remarks (the pass names what it attached) and warnings (unusable cache
  // entries) go to the log; errors reach the variant's handler, with their
  // locations.
  bool attached = false;
  ScopedDiagnosticHandler toLog(&variant.context, [&](Diagnostic &diagnostic) {
    if (diagnostic.getSeverity() == DiagnosticSeverity::Error)
      return failure();
    attached |= diagnostic.getSeverity() == DiagnosticSeverity::Remark;
    log(diagnostic.getSeverity() == DiagnosticSeverity::Warning ? LogLevel::Warning
                                                                 : LogLevel::Info,
        diagnostic.str());
    return success();
  });
  ::skim::tune::SkimAttachSchedulePassOptions attach;
  attach.tuningDir = options.tuningDir;
  attach.deviceName = tuningDeviceName;
  attach.arch = options.target;
  attach.driver = tuningDriver;
  attach.batch = sizes.batch;
  attach.tokens = sizes.tokens;
  attach.keyTokens = sizes.keyTokens;
  PassManager pm(&variant.context);
  pm.addPass(::skim::tune::createSkimAttachSchedulePass(attach));
  if (failed(pm.run(*variant.module)))
    return rt::Error{variant.diagnostics.empty() ? "skim-attach-schedule failed"
                                                 : variant.diagnostics};
  if (!attached)
    return mlir;
  std::string text;
  llvm::raw_string_ostream out(text);
  variant.module->print(out);
  return text;
}

rt::Expected<std::string> Jit::getArtifact(const std::string &mlir,
                                           const ::skim::tune::ProblemSizes &sizes) {
  rt::Expected<std::string> tuned = withTunedSchedules(mlir, sizes);
  if (!tuned)
    return rt::Error{tuned.message()};
  return getArtifact(*tuned);
}

rt::Expected<std::shared_ptr<rt::CpuExecutable>>
Jit::getCpuExecutable(const std::string &mlir, const ::skim::tune::ProblemSizes &sizes) {
  rt::Expected<std::string> tuned = withTunedSchedules(mlir, sizes);
  if (!tuned)
    return rt::Error{tuned.message()};
  return getCpuExecutable(*tuned);
}

rt::Expected<std::shared_ptr<rt::CpuExecutable>>
Jit::getCpuExecutable(const std::string &mlir) {
  rt::Expected<std::string> key = cacheKey(mlir);
  if (!key)
    return rt::Error{key.message()};
  rt::Expected<std::string> bytes = getArtifact(mlir);
  if (!bytes)
    return rt::Error{bytes.message()};
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mutex);
    entry = entries[*key];
  }
  std::lock_guard<std::mutex> lock(entry->loadMutex);
  if (entry->executable)
    return entry->executable;
  rt::Expected<rt::Artifact> artifact = rt::Artifact::deserialize(*bytes);
  if (!artifact)
    return rt::Error{artifact.message()};
  auto exe = rt::CpuExecutable::load(*artifact);
  if (!exe)
    return rt::Error{exe.message()};
  entry->executable = std::move(*exe);
  return entry->executable;
}
