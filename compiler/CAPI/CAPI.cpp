//===- CAPI.cpp - skim's C API: the compiler's half -----------------------===//
//
// skim_preset and skim_compile, over the JIT: a process compiles each
// variant at most once per target, and later processes load it from the
// disk cache. Loading and running (DLPack checks, CPU and GPU launches) is
// the runtime's half, runtime/capi/Kernel.cpp, which libskim_runtime.so
// shares.
//
//===----------------------------------------------------------------------===//

#include "skim/skim.h"

#include "Kernel.h"

#include "Jit/Jit.h"
#include "Pipelines/Pipeline.h"
#include "Target/AmdTarget.h"
#include "Target/CudaTarget.h"
#include "../tools/skim/Presets.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

using namespace skim::capi;

namespace {

/// One JIT per target: each compiles for one, and keys its cache by it.
mlir::skim::Jit &jit(const std::string &target) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<mlir::skim::Jit>> jits;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<mlir::skim::Jit> &slot = jits[target];
  if (!slot) {
    mlir::skim::JitOptions options;
    options.target = target;
    slot = std::make_unique<mlir::skim::Jit>(options);
  }
  return *slot;
}

} // namespace

extern "C" {

const char *skim_version(void) { return mlir::skim::compilerVersion(); }

char *skim_preset(const char *spec, char **error) {
  skim::tool::Preset p;
  std::istringstream words(spec ? spec : "");
  std::string word;
  while (words >> word) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      setError(error, "preset words are key=value, got '" + word + "'");
      return nullptr;
    }
    std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    auto number = [&](int64_t &field) {
      char *end = nullptr;
      field = std::strtoll(value.c_str(), &end, 10);
      return end && *end == '\0' && !value.empty();
    };
    bool ok = true;
    if (key == "variant") p.variant = value;
    else if (key == "dtype") p.dtype = value;
    else if (key == "heads") {
      // "Hq/Hkv" or "H": whole integers only.
      char *end = nullptr;
      p.hq = std::strtoll(value.c_str(), &end, 10);
      p.hkv = p.hq;
      if (end && *end == '/')
        p.hkv = std::strtoll(end + 1, &end, 10);
      ok = end && *end == '\0' && end != value.c_str();
    } else if (key == "dim") ok = number(p.dim);
    else if (key == "dv") ok = number(p.dv);
    else if (key == "window") ok = number(p.window);
    else if (key == "sink") ok = number(p.sink);
    else if (key == "block") ok = number(p.block);
    else if (key == "top_k") ok = number(p.topK);
    else if (key == "cmp_block") ok = number(p.cmpBlock);
    else if (key == "cmp_stride") ok = number(p.cmpStride);
    else if (key == "sel_block") ok = number(p.selBlock);
    else if (key == "selected") ok = number(p.selected);
    else {
      setError(error, "unknown preset key '" + key + "'");
      return nullptr;
    }
    if (!ok) {
      setError(error, "preset key '" + key + "' needs an integer, got '" + value + "'");
      return nullptr;
    }
  }
  std::string mlir, message;
  if (!p.toMlir(mlir, message)) {
    // The preset's messages name command-line flags; name the keys here.
    for (auto [flag, name] : {std::pair<const char *, const char *>{"--heads", "heads"},
                              {"--dtype", "dtype"}, {"--kv-seq", "kv_seq"},
                              {"--dim", "dim"}, {"--batch", "batch"}})
      for (size_t at; (at = message.find(flag)) != std::string::npos;)
        message.replace(at, std::strlen(flag), name);
    setError(error, message);
    return nullptr;
  }
  return copyString(mlir);
}

} // extern "C"

namespace {

/// skim_compile and skim_compile_tuned: `sizes` null compiles the variant
/// as written.
skim_kernel *compileFor(const char *mlir, const char *target,
                        const skim::tune::ProblemSizes *sizes, const char *what,
                        char **error) {
  if (!mlir) {
    setError(error, std::string(what) + ": mlir is NULL");
    return nullptr;
  }
  std::string chip = target ? target : "host";
  if (chip == "host") {
    auto exe = sizes ? jit(chip).getCpuExecutable(mlir, *sizes)
                     : jit(chip).getCpuExecutable(mlir);
    if (!exe) {
      setError(error, exe.message());
      return nullptr;
    }
    // The JIT shares one loaded executable between the kernels of a variant.
    return wrapCpuExecutable(*exe, "host");
  }
  mlir::skim::CudaTarget cuda;
  mlir::skim::AmdTarget amd;
  if (!mlir::skim::CudaTarget::parse(chip, cuda) &&
      !mlir::skim::AmdTarget::parse(chip, amd)) {
    setError(error, "target '" + chip +
                        "' has no lowering yet (supported: " +
                        mlir::skim::kSupportedTargets + ")");
    return nullptr;
  }
  auto artifact = sizes ? jit(chip).getArtifact(mlir, *sizes) : jit(chip).getArtifact(mlir);
  if (!artifact) {
    setError(error, artifact.message());
    return nullptr;
  }
  return loadArtifact(*artifact, "the " + chip + " artifact", error);
}

} // namespace

extern "C" {

skim_kernel *skim_compile(const char *mlir, const char *target, char **error) {
  return compileFor(mlir, target, nullptr, "skim_compile", error);
}

skim_kernel *skim_compile_tuned(const char *mlir, const char *target, int64_t batch,
                                int64_t tokens, int64_t key_tokens, char **error) {
  if (batch < 1 || tokens < 1 || key_tokens < 0) {
    setError(error, "skim_compile_tuned: sizes must be batch >= 1, tokens >= 1, "
                    "key_tokens >= 0; got " +
                        std::to_string(batch) + ", " + std::to_string(tokens) + ", " +
                        std::to_string(key_tokens));
    return nullptr;
  }
  skim::tune::ProblemSizes sizes;
  sizes.batch = batch;
  sizes.tokens = tokens;
  sizes.keyTokens = key_tokens;
  return compileFor(mlir, target, &sizes, "skim_compile_tuned", error);
}

} // extern "C"
