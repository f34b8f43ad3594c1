//===- skim.cpp - the skim driver: compile, run, info ---------------------===//
//
//   skim compile (FILE.mlir | --variant ...) --target host -o out.skim
//   skim run     (FILE.mlir | --variant ... | --artifact F) [--check]
//   skim tune    (FILE.mlir | --variant ...) --target T [--budget N|Ns] [--dry-run]
//   skim info
//
// IR errors print as file:line:col: error: ...; everything else as one line
// "skim: error: <reason>" and a non-zero exit code.
//
//===----------------------------------------------------------------------===//

#include "Check.h"
#include "Presets.h"
#include "ParsedVariant.h"
#include "Tune.h"

#include "Jit/Jit.h"
#include "Pipelines/Pipeline.h"
#include "Registration/RegisterSkim.h"
#include "skim/runtime/CpuExecutable.h"
#include "skim/runtime/Device.h"
#include "skim/runtime/Npy.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <immintrin.h>

using namespace llvm;
namespace rt = skim::rt;
using skim::tool::Preset;

static cl::SubCommand compileCmd("compile", "Compile a variant into an artifact");
static cl::SubCommand runCmd("run", "Compile (or load) a variant and run it on the host");
static cl::SubCommand infoCmd("info", "Show the host target skim compiles for");
static cl::SubCommand tuneCmd("tune", "Search schedules for a variant on this device and cache the best");

static cl::OptionCategory variantCat("Variant (a .mlir file or a preset)");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("[variant.mlir]"),
                                      cl::init(""), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<std::string> presetName("variant", cl::desc("Preset: nsa, moba, window or causal"),
                                       cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> batchOpt("batch", cl::desc("Batch size B"), cl::init(1),
                                 cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> seqOpt("seq", cl::desc("Query tokens T"), cl::init(1024),
                               cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> kvSeqOpt("kv-seq", cl::desc("Key tokens S (default T; S > T is decode / chunked prefill)"),
                                 cl::init(0), cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<std::string> headsOpt("heads", cl::desc("Query/KV heads, e.g. 64/4"), cl::init("8/1"),
                                     cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> dimOpt("dim", cl::desc("Head dim D of Q and K"), cl::init(64),
                               cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> dvOpt("dv", cl::desc("Head dim of V (default D)"), cl::init(0),
                              cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<std::string> dtypeOpt("dtype", cl::desc("Input type: f32, bf16 or f16"), cl::init("f32"),
                                     cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> windowOpt("window", cl::desc("Window w (window, nsa)"), cl::init(512),
                                  cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> sinkOpt("sink", cl::desc("Sink tokens (window, causal)"), cl::init(0),
                                cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> blockOpt("block", cl::desc("MoBA block size"), cl::init(512),
                                 cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> topKOpt("top-k", cl::desc("MoBA blocks per query, the current one included"),
                                cl::init(3), cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> cmpBlockOpt("cmp-block", cl::desc("NSA compression block l"), cl::init(32),
                                    cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> cmpStrideOpt("cmp-stride", cl::desc("NSA compression stride d"), cl::init(16),
                                     cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> selBlockOpt("sel-block", cl::desc("NSA selection block l'"), cl::init(64),
                                    cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int64_t> selectedOpt("selected", cl::desc("NSA selected blocks n"), cl::init(16),
                                    cl::cat(variantCat), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<std::string> targetOpt("target", cl::desc("Target to compile for: host, sm_80/sm_90/sm_90a (NVIDIA), or gfx90a/gfx942/gfx1100 (AMD, compile only here)"),
                                      cl::init("host"), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<bool> tmaOpt("tma", cl::desc("sm_90a: load K and V with TMA (default); --tma=false keeps cp.async"),
                            cl::init(true), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<bool> overlapOpt("overlap-softmax", cl::desc("sm_90a: software-pipeline key loops so the softmax overlaps the matmuls (off by default)"),
                                cl::init(false), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<bool> warpSpecializeOpt("warp-specialize", cl::desc("sm_90a with TMA: a producer warpgroup issues the copies, setmaxnreg gives its registers to the consumers (off by default)"),
                                        cl::init(false), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<std::string> amdMatrixOpt("amd-matrix", cl::desc("AMD: the matrix instruction of 16-bit attention: mfma_32x32x8 (gfx90a/gfx942 default), mfma_16x16x16, wmma_16x16x16 (gfx1100 default), or simt"),
                                         cl::init(""), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<int> amdWaveSizeOpt("amd-wave-size", cl::desc("AMD: lanes a wave: 64 on gfx90a/gfx942; 32 (default) or 64 (wave64 mode, WMMA included) on gfx1100"),
                                   cl::init(0), cl::sub(compileCmd), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::OptionCategory tuningCat("Tuning (skim tune; the cache compile and run consult)");
static cl::opt<std::string> budgetOpt("budget", cl::desc("tune: stop after N trials (e.g. 40) or N seconds (e.g. 20s); default: every candidate"),
                                      cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<bool> dryRunOpt("dry-run", cl::desc("tune: list each stage's pruned search space with predicted times, measure nothing"),
                               cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<bool> noStoreOpt("no-store", cl::desc("tune: do not write the result to the tuning cache"),
                                cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<std::string> jsonOpt("json", cl::desc("tune: write every trial and the search space (with --dry-run: the space) to this JSON file"),
                                    cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<std::string> exportOpt("export", cl::desc("tune: compile the pruned space into this folder for skim-tune-measure on a machine without the compiler; measure nothing"),
                                      cl::value_desc("dir"), cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<std::string> importOpt("import", cl::desc("tune: store skim-tune-measure's results (its --out JSON) for this variant, target and sizes in the tuning cache; measure nothing"),
                                      cl::value_desc("file"), cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<unsigned> compileThreadsOpt("compile-threads", cl::desc("tune: threads compiling ahead of the measurement (default 2)"),
                                           cl::init(2), cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<bool> noProgressOpt("no-progress", cl::desc("tune: no progress bar"),
                                   cl::cat(tuningCat), cl::sub(tuneCmd));
static cl::opt<std::string> tuningDirOpt("tuning-dir", cl::desc("Tuning cache folder (default $SKIM_TUNING_DIR, else $SKIM_CACHE_DIR/tuning, else ~/.cache/skim/tuning)"),
                                         cl::cat(tuningCat), cl::sub(tuneCmd), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<bool> noTuningOpt("no-tuning", cl::desc("compile/run: ignore the tuning cache (use the schedules in the variant and the defaults)"),
                                 cl::cat(tuningCat), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> deviceNameOpt("device-name", cl::desc("Device the tuning cache entry is for, when it is not this machine's (with --driver), e.g. \"NVIDIA H200\""),
                                          cl::cat(tuningCat), cl::sub(tuneCmd), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> driverOpt("driver", cl::desc("Driver of --device-name, e.g. \"CUDA 13.0\""),
                                      cl::cat(tuningCat), cl::sub(tuneCmd), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> outputFile("o", cl::desc("Artifact to write"), cl::value_desc("file"),
                                       cl::sub(compileCmd));

static cl::OptionCategory runCat("Running");
static cl::opt<std::string> artifactOpt("artifact", cl::desc("Run this artifact instead of compiling (with --variant for shapes)"),
                                        cl::cat(runCat), cl::sub(runCmd));
static cl::list<std::string> inputOpts("input", cl::desc("name=file.npy (f32), one per argument: q, k, v (and g_cmp, g_slc, g_win for nsa) for presets, arg0, arg1, ... for a .mlir file; default: seeded random"),
                                       cl::cat(runCat), cl::sub(runCmd));
static cl::opt<unsigned> seedOpt("seed", cl::desc("Seed of the random inputs"), cl::init(1),
                                 cl::cat(runCat), cl::sub(runCmd));
static cl::opt<std::string> outDirOpt("out-dir", cl::desc("Write outputs here as <name>.npy (f32)"),
                                      cl::cat(runCat), cl::sub(runCmd));
static cl::opt<bool> checkOpt("check", cl::desc("Compare sampled rows with the reference"),
                              cl::cat(runCat), cl::sub(runCmd));
static cl::opt<int64_t> checkRowsOpt("check-rows", cl::desc("Evenly spaced rows --check samples"),
                                     cl::init(8), cl::cat(runCat), cl::sub(runCmd));
static cl::opt<unsigned> repeatOpt("repeat", cl::desc("Timed runs (the median counts), after two untimed ones for tune"), cl::init(3),
                                   cl::cat(runCat), cl::sub(runCmd), cl::sub(tuneCmd));
static cl::opt<bool> noCacheOpt("no-cache",
                                cl::desc("Compile even if $SKIM_CACHE_DIR (default ~/.cache/skim) has the variant, and do not store it"),
                                cl::cat(runCat), cl::sub(runCmd));
static cl::opt<bool> validateOpt("validate-indices",
                                 cl::desc("Reject selection entries that are neither -1 nor a KV block (default: skip them as padding)"),
                                 cl::cat(runCat), cl::sub(runCmd));
static cl::opt<unsigned> threadsOpt("threads", cl::desc("Worker threads (default: all cores)"),
                                    cl::init(0), cl::cat(runCat), cl::sub(runCmd));

namespace {

int fail(const std::string &message) {
  errs() << "skim: error: " << message << "\n";
  return 1;
}

bool presetFromFlags(Preset &p, std::string &error) {
  p.variant = presetName;
  p.batch = batchOpt;
  p.seq = seqOpt;
  p.kvSeq = kvSeqOpt;
  size_t slash = headsOpt.find('/');
  char *end = nullptr;
  p.hq = std::strtoll(headsOpt.c_str(), &end, 10);
  p.hkv = slash == std::string::npos ? p.hq : std::strtoll(headsOpt.c_str() + slash + 1, nullptr, 10);
  p.dim = dimOpt;
  p.dv = dvOpt;
  p.dtype = dtypeOpt;
  p.window = windowOpt;
  p.sink = sinkOpt;
  p.block = blockOpt;
  p.topK = topKOpt;
  p.cmpBlock = cmpBlockOpt;
  p.cmpStride = cmpStrideOpt;
  p.selBlock = selBlockOpt;
  p.selected = selectedOpt;
  std::string ignored;
  return p.toMlir(ignored, error);
}

/// The variant's MLIR text: a file, or a preset.
bool variantSource(std::string &source, std::string &bufferName, Preset &preset,
                   bool &isPreset, std::string &error) {
  isPreset = !presetName.empty();
  if (isPreset && !inputFile.empty()) {
    error = "give a .mlir file or --variant, not both";
    return false;
  }
  if (isPreset) {
    if (!presetFromFlags(preset, error))
      return false;
    bufferName = "<preset " + preset.variant + ">";
    return preset.toMlir(source, error);
  }
  if (inputFile.empty()) {
    error = "give a variant: a .mlir file or --variant nsa|moba|window|causal";
    return false;
  }
  auto file = MemoryBuffer::getFile(inputFile);
  if (!file) {
    error = "cannot read '" + inputFile + "': " + file.getError().message();
    return false;
  }
  source = (*file)->getBuffer().str();
  bufferName = inputFile;
  return true;
}

/// The sizes a tuning cache entry is looked up (or tuned) for.
skim::tune::ProblemSizes sizesFromFlags() {
  skim::tune::ProblemSizes sizes;
  sizes.batch = batchOpt;
  sizes.tokens = seqOpt;
  sizes.keyTokens = kvSeqOpt;
  return sizes;
}

/// Puts the tuning cache's schedules for this device and size bucket onto
/// the variant's stages that have none, saying which; a cache entry that
/// cannot be used is a warning, never an error. `attached` (when given)
/// says whether any stage got one.
bool attachTunedSchedules(mlir::ModuleOp module, bool *attached = nullptr) {
  std::string why;
  skim::tune::DeviceIdentity id =
      skim::tune::deviceIdentityFor(targetOpt, deviceNameOpt, driverOpt, why);
  if (id.name.empty())
    return true;
  mlir::skim::PipelineOptions wave;
  wave.target = targetOpt;
  wave.amdWaveSize = amdWaveSizeOpt;
  id.arch = mlir::skim::tuningTarget(wave);
  skim::tune::TuningCache cache(tuningDirOpt);
  skim::tune::TuningKey key = skim::tune::tuningKey(module, id, sizesFromFlags());
  std::vector<std::string> warnings;
  auto stages = skim::tune::attachCachedSchedules(module, key, cache, warnings);
  for (const std::string &w : warnings)
    errs() << "skim: warning: " << w << "\n";
  if (failed(stages))
    return false;
  if (attached)
    *attached = !stages->empty();
  if (!stages->empty()) {
    errs() << "skim: using tuned schedules from " << cache.pathOf(key)
           << " for stage(s):";
    for (const std::string &s : *stages)
      errs() << " " << s;
    errs() << "\n";
  }
  return true;
}

/// `source` with the tuning cache's schedules on it, as text for the JIT
/// (whose key then sees them); `source` itself when none apply.
bool withTunedSchedules(const std::string &source, const std::string &bufferName,
                        std::string &tuned) {
  tuned = source;
  skim::tool::ParsedVariant variant(source, bufferName);
  if (!variant.module)
    return false;
  bool attached = false;
  if (!attachTunedSchedules(*variant.module, &attached))
    return false;
  if (attached) {
    tuned.clear();
    raw_string_ostream os(tuned);
    variant.module->print(os);
  }
  return true;
}

/// Compiles source to an artifact; IR diagnostics go to stderr with locations.
bool compileSource(const std::string &source, const std::string &bufferName,
                   std::string &artifact) {
  skim::tool::ParsedVariant variant(source, bufferName);
  mlir::OwningOpRef<mlir::ModuleOp> &module = variant.module;
  if (!module)
    return false;
  if (!noTuningOpt && !attachTunedSchedules(*module))
    return false;
  mlir::skim::PipelineOptions options;
  options.target = targetOpt;
  options.tma = tmaOpt;
  options.overlapSoftmax = overlapOpt;
  options.amdMatrix = amdMatrixOpt;
  options.amdWaveSize = amdWaveSizeOpt;
  options.warpSpecialize = warpSpecializeOpt;
  mlir::FailureOr<std::string> result = mlir::skim::compileToArtifact(*module, options);
  if (failed(result))
    return false;
  artifact = std::move(*result);
  return true;
}

uint16_t toBf16(float f) { return rt::floatToBf16(f); }
float fromBf16(uint16_t h) { return rt::bf16ToFloat(h); }
uint16_t toF16(float f) { return _cvtss_sh(f, 0); }
float fromF16(uint16_t h) { return _cvtsh_ss(h); }

/// Caller-side storage of one tensor in the plan's element type.
struct HostTensor {
  rt::DType dtype;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  rt::TensorView view() {
    return rt::TensorView::contiguous(bytes.data(), dtype, shape);
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  /// Stores f32 values (rounded to the element type) and returns what was stored.
  std::vector<float> assign(const std::vector<float> &values) {
    bytes.assign(size_t(numel()) * rt::dtypeSize(dtype), 0);
    std::vector<float> stored(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if (dtype == rt::DType::F32) {
        std::memcpy(bytes.data() + i * 4, &values[i], 4);
        stored[i] = values[i];
      } else if (dtype == rt::DType::BF16) {
        uint16_t h = toBf16(values[i]);
        std::memcpy(bytes.data() + i * 2, &h, 2);
        stored[i] = fromBf16(h);
      } else {
        uint16_t h = toF16(values[i]);
        std::memcpy(bytes.data() + i * 2, &h, 2);
        stored[i] = fromF16(h);
      }
    }
    return stored;
  }
  std::vector<float> floats() const {
    std::vector<float> out(static_cast<size_t>(numel()));
    for (size_t i = 0; i < out.size(); ++i) {
      if (dtype == rt::DType::F32)
        std::memcpy(&out[i], bytes.data() + i * 4, 4);
      else if (dtype == rt::DType::I32) {
        int32_t x;
        std::memcpy(&x, bytes.data() + i * 4, 4);
        out[i] = float(x);
      } else {
        uint16_t h;
        std::memcpy(&h, bytes.data() + i * 2, 2);
        out[i] = dtype == rt::DType::BF16 ? fromBf16(h) : fromF16(h);
      }
    }
    return out;
  }
};

int runCommand() {
  std::string source, bufferName, error;
  Preset preset;
  bool isPreset = false;
  std::string artifactBytes;
  if (!artifactOpt.empty()) {
    isPreset = !presetName.empty();
    if (isPreset && !presetFromFlags(preset, error))
      return fail(error);
    auto a = rt::Artifact::readFile(artifactOpt);
    if (!a)
      return fail(a.message());
    artifactBytes = a->serialize();
  } else {
    if (!variantSource(source, bufferName, preset, isPreset, error))
      return error.empty() ? 1 : fail(error);
    if (targetOpt != "host") {
      // GPU targets compile (skim compile) but skim run launches only CPU
      // artifacts; without a device of the target's kind, say what
      // discovery found.
      bool amd = skim::tune::deviceKindFor(targetOpt) == rt::DeviceKind::Hip;
      rt::DeviceKind kind = amd ? rt::DeviceKind::Hip : rt::DeviceKind::Cuda;
      std::vector<std::string> notes;
      auto devices = rt::discoverDevices(&notes);
      bool found = false;
      if (devices)
        for (const auto &d : *devices)
          found = found || d->kind() == kind;
      if (!found) {
        std::string why;
        for (const std::string &note : notes)
          why += (why.empty() ? "" : "; ") + note;
        return fail(std::string(amd ? "no HIP device: " : "no CUDA device: ") +
                    (why.empty() ? std::string("none found") : why));
      }
      return fail("skim run does not launch GPU artifacts yet: compile with skim "
                  "compile --target " + targetOpt + " and run it with skim::rt::GpuExecutable");
    }
    auto start = std::chrono::steady_clock::now();
    if (noCacheOpt || targetOpt != "host") {
      if (!compileSource(source, bufferName, artifactBytes))
        return 1;
    } else {
      // The JIT: compile once, then every later run loads the cached artifact.
      mlir::skim::Jit jit;
      std::string tuned = source;
      if (!noTuningOpt && !withTunedSchedules(source, bufferName, tuned))
        return 1;
      auto bytes = jit.getArtifact(tuned);
      if (!bytes) {
        errs() << bytes.message();
        return 1;
      }
      artifactBytes = *bytes;
      if (jit.compiles() == 0) {
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        outs() << format("loaded %s from the cache in %.1f ms\n", bufferName.c_str(), ms);
        start = {};
      }
    }
    if (start != std::chrono::steady_clock::time_point{}) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      outs() << format("compiled %s for host in %.0f ms\n", bufferName.c_str(), ms);
    }
  }
  auto artifact = rt::Artifact::deserialize(artifactBytes);
  if (!artifact)
    return fail(artifact.message());
  auto exe = rt::CpuExecutable::load(*artifact);
  if (!exe)
    return fail(exe.message());
  const rt::Plan &plan = (*exe)->plan();

  // Inputs: files given by name, else seeded random values (gates in [0, 1]).
  std::map<std::string, std::string> files;
  for (const std::string &spec : inputOpts) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos)
      return fail("--input takes name=file.npy, got '" + spec + "'");
    files[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>> names;
  if (isPreset)
    names = preset.inputs();
  else
    for (int i = 0; i < plan.numInputs(); ++i)
      names.push_back({"arg" + std::to_string(i), {}});
  if (int(names.size()) != plan.numInputs())
    return fail("the artifact takes " + std::to_string(plan.numInputs()) +
                " inputs but the preset has " + std::to_string(names.size()));
  for (const auto &file : files) {
    const std::string &name = file.first;
    if (std::none_of(names.begin(), names.end(),
                     [&](const auto &n) { return n.first == name; }))
      return fail("--input names unknown argument '" + name + "'");
  }
  std::vector<HostTensor> inputs(names.size());
  std::vector<std::vector<float>> stored(names.size());
  std::mt19937 rng(seedOpt);
  for (size_t i = 0; i < names.size(); ++i) {
    const rt::BufferDecl *decl = nullptr;
    for (const rt::BufferDecl &b : plan.buffers)
      if (b.kind == rt::BufferDecl::Kind::Input && b.index == int(i))
        decl = &b;
    inputs[i].dtype = decl->dtype;
    auto file = files.find(names[i].first);
    std::vector<float> values;
    if (file != files.end()) {
      auto npy = rt::NpyArray::read(file->second);
      if (!npy)
        return fail(npy.message());
      if (npy->descr != "<f4")
        return fail(file->second + ": input '" + names[i].first + "' must be floating point");
      if (isPreset && npy->shape != names[i].second)
        return fail(file->second + ": input '" + names[i].first + "' has the wrong shape for the preset");
      inputs[i].shape = npy->shape;
      values.resize(size_t(npy->numel()));
      std::memcpy(values.data(), npy->bytes.data(), npy->bytes.size());
    } else {
      if (!isPreset)
        return fail("input '" + names[i].first + "' needs --input " + names[i].first +
                    "=file.npy (random inputs need a preset for their shapes)");
      inputs[i].shape = names[i].second;
      bool gate = names[i].first.rfind("g_", 0) == 0;
      std::uniform_real_distribution<float> dist(gate ? 0.f : -1.f, 1.f);
      values.resize(size_t(inputs[i].numel()));
      for (float &x : values)
        x = dist(rng);
    }
    stored[i] = inputs[i].assign(values);
  }

  std::vector<rt::TensorView> inViews;
  for (HostTensor &t : inputs)
    inViews.push_back(t.view());
  auto shapes = (*exe)->outputShapes(inViews);
  if (!shapes)
    return fail(shapes.message());
  std::vector<HostTensor> outputs(shapes->size());
  std::vector<rt::TensorView> outViews;
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (const rt::BufferDecl &b : plan.buffers)
      if (b.kind == rt::BufferDecl::Kind::Output && b.index == int(i))
        outputs[i].dtype = b.dtype;
    outputs[i].shape = (*shapes)[i];
    // Poison: an element the kernels fail to write shows up as NaN.
    outputs[i].assign(std::vector<float>(size_t(outputs[i].numel()), NAN));
    outViews.push_back(outputs[i].view());
  }

  rt::ThreadPool pool(threadsOpt);
  std::vector<double> times;
  for (unsigned r = 0; r < std::max(1u, unsigned(repeatOpt)); ++r) {
    auto start = std::chrono::steady_clock::now();
    rt::RunOptions runOptions;
    runOptions.validateIndices = validateOpt;
    if (rt::Status s = (*exe)->run(inViews, outViews, pool, runOptions); !s)
      return fail(s.message());
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  outs() << format("ran on host (%u threads): median %.3f ms over %zu runs\n",
                   pool.size(), times[times.size() / 2], times.size());

  std::vector<std::string> outNames = isPreset ? preset.outputs() : std::vector<std::string>();
  for (size_t i = outNames.size(); i < outputs.size(); ++i)
    outNames.push_back("out" + std::to_string(i));
  if (!outDirOpt.empty()) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::vector<float> f = outputs[i].floats();
      std::string path = outDirOpt + "/" + outNames[i] + ".npy";
      if (rt::Status s = rt::NpyArray::fromFloats(outputs[i].shape, f.data()).write(path); !s)
        return fail(s.message());
      outs() << "wrote " << path << "\n";
    }
  }
  if (checkOpt) {
    if (!isPreset)
      return fail("--check needs a preset (--variant): the reference is per preset");
    std::vector<std::vector<float>> outFloats;
    for (HostTensor &t : outputs)
      outFloats.push_back(t.floats());
    auto rows = skim::tool::sampleRows(preset.seq, checkRowsOpt);
    skim::tool::CheckResult check = skim::tool::checkPreset(preset, stored, outFloats, rows);
    outs() << format("check: %lld rows x %lld heads against the reference, max |error| %.3g: %s\n",
                     (long long)check.rowsChecked, (long long)preset.hq, check.maxError,
                     check.passed ? "PASSED" : "FAILED");
    if (!check.passed) {
      errs() << check.report;
      return 1;
    }
  }
  return 0;
}

int compileCommand() {
  std::string source, bufferName, error;
  Preset preset;
  bool isPreset;
  if (!variantSource(source, bufferName, preset, isPreset, error))
    return fail(error);
  if (outputFile.empty())
    return fail("compile needs -o <artifact>");
  std::string artifact;
  if (!compileSource(source, bufferName, artifact))
    return 1;
  auto parsed = rt::Artifact::deserialize(artifact);
  if (!parsed)
    return fail(parsed.message());
  if (rt::Status s = parsed->writeFile(outputFile); !s)
    return fail(s.message());
  outs() << "wrote " << outputFile << " (" << artifact.size() << " bytes, "
         << *parsed->section("target") << ")\n";
  return 0;
}

int tuneCommand() {
  skim::tool::TuneArgs args;
  Preset preset;
  bool isPreset;
  std::string error;
  if (!variantSource(args.source, args.bufferName, preset, isPreset, error))
    return fail(error);
  args.sizes = sizesFromFlags();
  args.pipeline.target = targetOpt;
  args.pipeline.tma = tmaOpt;
  args.pipeline.overlapSoftmax = overlapOpt;
  args.pipeline.amdMatrix = amdMatrixOpt;
  args.pipeline.amdWaveSize = amdWaveSizeOpt;
  args.pipeline.warpSpecialize = warpSpecializeOpt;
  args.budget = budgetOpt;
  args.dryRun = dryRunOpt;
  args.noStore = noStoreOpt;
  args.cacheDir = tuningDirOpt;
  args.deviceName = deviceNameOpt;
  args.driver = driverOpt;
  args.jsonOut = jsonOpt;
  args.exportDir = exportOpt;
  args.importFile = importOpt;
  args.compileThreads = compileThreadsOpt;
  args.measure.repeats = std::max(1u, unsigned(repeatOpt));
  args.progress = !noProgressOpt;
  return skim::tool::tuneCommand(args);
}

int infoCommand() {
  mlir::skim::HostCpu host = mlir::skim::HostCpu::detect();
  outs() << mlir::skim::compilerVersion() << "\n"
         << "host target: " << host.triple << ", cpu " << host.cpu
         << ", f32 vector width " << host.vectorWidth << "\n"
         << "targets: host (CPU); sm_80, sm_90, sm_90a (NVIDIA: wgmma on sm_90a, mma.sync, SIMT for f32; compile only, run through skim.load); gfx90a, gfx942, gfx1100 (AMD: SIMT kernels only, compile only; never run on an AMD GPU).\n";

  // A backend that is missing is not an error here: saying what was tried
  // is the point of `skim info` on a machine whose GPU is not found.
  std::vector<std::string> notes;
  auto devices = rt::discoverDevices(&notes);
  if (!devices)
    return fail(devices.message());
  outs() << "devices:\n";
  for (size_t i = 0; i < devices->size(); ++i) {
    const rt::Device &d = *(*devices)[i];
    double gib = double(d.totalMemoryBytes()) / double(1ull << 30);
    outs() << "  #" << i << " " << rt::deviceKindName(d.kind()) << ": "
           << d.name() << ", arch " << d.arch() << ", "
           << format("%.1f", gib) << " GiB";
    if (!d.driver().empty())
      outs() << ", " << d.driver();
    outs() << "\n";
  }
  for (const std::string &note : notes)
    outs() << note << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&variantCat, &runCat, &tuningCat});
  if (!cl::ParseCommandLineOptions(argc, argv, "skim: block-sparse attention compiler\n",
                                   &errs()))
    return 1;
  if (compileCmd)
    return compileCommand();
  if (runCmd)
    return runCommand();
  if (infoCmd)
    return infoCommand();
  if (tuneCmd)
    return tuneCommand();
  return fail("give a subcommand: compile, run, tune or info (see skim --help)");
}
