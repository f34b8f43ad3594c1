//===- Harness.cpp - compile and run variants in tests --------------------===//

#include "Harness.h"

#include "Pipelines/Pipeline.h"
#include "Registration/RegisterSkim.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <unistd.h>

using namespace skim;
using namespace skim::testing;

namespace {

std::string cacheDir() {
  if (const char *dir = std::getenv("SKIM_TEST_CACHE"))
    return dir;
  return SKIM_TEST_CACHE_DEFAULT;
}

struct Compiled {
  std::unique_ptr<rt::CpuExecutable> exe;
  std::string error;
};

std::mutex cacheMutex;
std::map<std::string, Compiled> &cache() {
  static std::map<std::string, Compiled> entries;
  return entries;
}

/// The pipeline options each target compiles with.
mlir::skim::PipelineOptions optionsFor(Target target) {
  mlir::skim::PipelineOptions options;
  if (target == Target::Host)
    return options;
  options.emulateLanes = true;
  switch (target) {
  case Target::Host:
    break;
  case Target::LaneEmulator:
    options.target = "sm_80";
    break;
  case Target::LaneEmulatorSm90a:
  case Target::LaneEmulatorSm90aOverlap:
  case Target::LaneEmulatorSm90aWarpSpecialized:
    options.target = "sm_90a";
    options.overlapSoftmax = target == Target::LaneEmulatorSm90aOverlap;
    options.warpSpecialize = target == Target::LaneEmulatorSm90aWarpSpecialized;
    break;
  case Target::LaneEmulatorGfx942:
  case Target::LaneEmulatorGfx942Mfma16:
    options.target = "gfx942";
    if (target == Target::LaneEmulatorGfx942Mfma16)
      options.amdMatrix = "mfma_16x16x16";
    break;
  case Target::LaneEmulatorGfx1100:
  case Target::LaneEmulatorGfx1100Wave64:
    options.target = "gfx1100";
    if (target == Target::LaneEmulatorGfx1100Wave64)
      options.amdWaveSize = 64;
    break;
  }
  return options;
}

Compiled &lookup(const std::string &mlir, Target target) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  // One text compiles to a different artifact per target: the options the
  // target sets tell them apart.
  mlir::skim::PipelineOptions options = optionsFor(target);
  std::string name = mlir;
  if (options.emulateLanes)
    name += "\n// lane emulator, " + options.target + ", matrix '" +
            options.amdMatrix + "', wave " +
            std::to_string(options.amdWaveSize) +
            (options.overlapSoftmax ? ", overlap" : "") +
            (options.warpSpecialize ? ", warp-specialized" : "") + "\n";
  auto it = cache().find(name);
  if (it != cache().end())
    return it->second;
  Compiled &entry = cache()[name];
  uint64_t key = rt::fnv1a64(name.data(), name.size());
  const std::string &build = mlir::skim::compilerBuildId();
  key = rt::fnv1a64(build.data(), build.size(), key);
  std::string path = cacheDir() + "/" + std::to_string(key) + ".skim";
  rt::Expected<rt::Artifact> cached = rt::Artifact::readFile(path);
  std::string bytes;
  if (cached) {
    bytes = cached->serialize();
  } else {
    mlir::DialectRegistry registry;
    mlir::registerAllDialects(registry);
    mlir::skim::registerSkimDialects(registry);
    mlir::MLIRContext context(registry);
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(mlir, "test.mlir"),
                                 llvm::SMLoc());
    mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, os);
    auto module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
    mlir::FailureOr<std::string> artifact =
        module ? mlir::skim::compileToArtifact(*module, options)
               : mlir::FailureOr<std::string>(mlir::failure());
    if (mlir::failed(artifact)) {
      entry.error = diagnostics.empty() ? "compilation failed" : diagnostics;
      return entry;
    }
    bytes = *artifact;
    llvm::sys::fs::create_directories(cacheDir());
    // Written under a temporary name and renamed: a concurrent reader never
    // sees half a file.
    if (auto parsed = rt::Artifact::deserialize(bytes)) {
      std::string tmp = path + ".tmp" + std::to_string(::getpid());
      if (parsed->writeFile(tmp))
        llvm::sys::fs::rename(tmp, path);
    }
  }
  auto artifact = rt::Artifact::deserialize(bytes);
  if (!artifact) {
    entry.error = artifact.message();
    return entry;
  }
  auto exe = rt::CpuExecutable::load(*artifact);
  if (!exe) {
    entry.error = exe.message();
    return entry;
  }
  entry.exe = std::move(*exe);
  return entry;
}

uint16_t toBf16(float f) { return rt::floatToBf16(f); }
float fromBf16(uint16_t h) { return rt::bf16ToFloat(h); }

uint16_t toF16(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}
float fromF16(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return float(h);
}

/// A 16-bit element type's bits and back.
uint16_t toHalf(float f, ElementType type) {
  return type == ElementType::BF16 ? toBf16(f) : toF16(f);
}
float fromHalf(uint16_t bits, rt::DType type) {
  return type == rt::DType::BF16 ? fromBf16(bits) : fromF16(bits);
}

} // namespace

const char *skim::testing::mlirName(ElementType type) {
  return type == ElementType::F32 ? "f32" : type == ElementType::BF16 ? "bf16" : "f16";
}

const rt::CpuExecutable &skim::testing::compile(const std::string &mlir,
                                                Target target) {
  Compiled &c = lookup(mlir, target);
  if (!c.exe) {
    fprintf(stderr, "compilation failed:\n%s\n--- source ---\n%s\n", c.error.c_str(),
            mlir.c_str());
    std::abort();
  }
  return *c.exe;
}

std::string skim::testing::compileError(const std::string &mlir, Target target) {
  return lookup(mlir, target).error;
}

ref::Tensor skim::testing::roundTo(ref::Tensor t, ElementType type) {
  if (type == ElementType::BF16)
    for (float &x : t.data)
      x = fromBf16(toBf16(x));
  if (type == ElementType::F16)
    for (float &x : t.data)
      x = fromF16(toF16(x));
  return t;
}

ref::Tensor skim::testing::random(std::vector<int64_t> shape, unsigned seed, float lo,
                                  float hi) {
  ref::Tensor t;
  t.shape = shape;
  t.data.resize(size_t(ref::numelOf(shape)));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float &x : t.data)
    x = dist(rng);
  return t;
}

rt::Expected<std::vector<ref::Tensor>>
skim::testing::run(const rt::CpuExecutable &exe, const std::vector<Argument> &args,
                   ElementType type, unsigned threads,
                   const rt::RunOptions &options) {
  std::vector<std::vector<char>> storage;
  std::vector<rt::TensorView> inputs;
  for (const Argument &arg : args) {
    std::vector<char> bytes;
    rt::TensorView view;
    if (const auto *f = std::get_if<ref::Tensor>(&arg)) {
      if (type == ElementType::F32) {
        bytes.resize(f->data.size() * 4);
        std::memcpy(bytes.data(), f->data.data(), bytes.size());
      } else {
        bytes.resize(f->data.size() * 2);
        for (size_t i = 0; i < f->data.size(); ++i) {
          uint16_t h = toHalf(f->data[i], type);
          std::memcpy(bytes.data() + i * 2, &h, 2);
        }
      }
      storage.push_back(std::move(bytes));
      rt::DType dtype = type == ElementType::F32    ? rt::DType::F32
                        : type == ElementType::BF16 ? rt::DType::BF16
                                                    : rt::DType::F16;
      view = rt::TensorView::contiguous(storage.back().data(), dtype, f->shape);
    } else {
      const auto &i = std::get<ref::IndexTensor>(arg);
      bytes.resize(i.data.size() * 4);
      std::memcpy(bytes.data(), i.data.data(), bytes.size());
      storage.push_back(std::move(bytes));
      view = rt::TensorView::contiguous(storage.back().data(), rt::DType::I32, i.shape);
    }
    inputs.push_back(view);
  }
  auto shapes = exe.outputShapes(inputs);
  if (!shapes)
    return rt::Error{shapes.message()};
  std::vector<std::vector<char>> outStorage;
  std::vector<rt::TensorView> outputs;
  std::vector<rt::DType> outTypes;
  for (size_t o = 0; o < shapes->size(); ++o) {
    rt::DType dtype = rt::DType::F32;
    for (const rt::BufferDecl &b : exe.plan().buffers)
      if (b.kind == rt::BufferDecl::Kind::Output && b.index == int(o))
        dtype = b.dtype;
    int64_t n = ref::numelOf((*shapes)[o]);
    std::vector<char> bytes(size_t(n) * rt::dtypeSize(dtype));
    // Poison with NaN (f32 and bf16) or a sentinel (i32).
    for (int64_t i = 0; i < n; ++i) {
      if (dtype == rt::DType::F32) {
        float nan = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(bytes.data() + i * 4, &nan, 4);
      } else if (dtype == rt::DType::I32) {
        int32_t poison = -7777;
        std::memcpy(bytes.data() + i * 4, &poison, 4);
      } else {
        uint16_t nan = dtype == rt::DType::BF16 ? 0x7fc0 : 0x7e00;
        std::memcpy(bytes.data() + i * 2, &nan, 2);
      }
    }
    outStorage.push_back(std::move(bytes));
    outputs.push_back(rt::TensorView::contiguous(outStorage.back().data(), dtype, (*shapes)[o]));
    outTypes.push_back(dtype);
  }
  rt::ThreadPool pool(threads);
  if (rt::Status s = exe.run(inputs, outputs, pool, options); !s)
    return rt::Error{s.message()};
  std::vector<ref::Tensor> result;
  for (size_t o = 0; o < outputs.size(); ++o) {
    ref::Tensor t;
    t.shape = outputs[o].shape;
    t.data.resize(size_t(outputs[o].numel()));
    for (size_t i = 0; i < t.data.size(); ++i) {
      const char *p = outStorage[o].data();
      if (outTypes[o] == rt::DType::F32)
        std::memcpy(&t.data[i], p + i * 4, 4);
      else if (outTypes[o] == rt::DType::I32) {
        int32_t x;
        std::memcpy(&x, p + i * 4, 4);
        t.data[i] = float(x);
      } else {
        uint16_t h;
        std::memcpy(&h, p + i * 2, 2);
        t.data[i] = fromHalf(h, outTypes[o]);
      }
    }
    result.push_back(std::move(t));
  }
  return result;
}
