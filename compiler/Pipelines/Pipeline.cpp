//===- Pipeline.cpp - the skim compiler pipeline --------------------------===//

#include "Pipelines/Pipeline.h"

#include "Conversion/Passes.h"
#include "Skim/Transforms/Passes.h"
#include "skim/runtime/Artifact.h"

#include "Registration/RegisterSkim.h"
#include "Target/AmdTarget.h"
#include "Target/CudaTarget.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"

#include <dlfcn.h>
#include <sstream>
#include <sys/stat.h>

using namespace mlir;
using namespace mlir::skim;

const char *mlir::skim::compilerVersion() { return "skim " SKIM_VERSION_STRING; }

const std::string &mlir::skim::compilerBuildId() {
  // The binary that holds this function changes whenever the compiler does:
  // its path, size and modification time tell builds of one version apart,
  // so caches never serve an artifact from an older build.
  static const std::string id = [] {
    Dl_info info;
    struct stat st;
    if (!dladdr(reinterpret_cast<void *>(&compilerVersion), &info) ||
        !info.dli_fname || stat(info.dli_fname, &st) != 0)
      return std::string(compilerVersion());
    return std::string(compilerVersion()) + "@" + info.dli_fname + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
  }();
  return id;
}

/// Pipelines are parsed from text, so their passes must be registered;
/// tools that already registered them are unaffected.
static void registerPassesOnce() {
  static bool registered = [] {
    registerAllPasses();
    registerSkimPassesOnce();
    return true;
  }();
  (void)registered;
}

/// From the LLVM-bound dialects to the LLVM dialect on the host: the end of
/// the CPU pipeline, for CPU kernels and emulated lanes alike.
static const char *const kHostLlvmTail =
    "lower-affine,convert-scf-to-cf,expand-strided-metadata,"
    "convert-vector-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,"
    "finalize-memref-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,"
    "convert-index-to-llvm,reconcile-unrealized-casts";

/// The AMD chip of `options.target` with the wave size asked for; false
/// when the target is not an AMD chip. A wave size the chip lacks is an
/// error in `error` (with true returned: it is an AMD target).
static bool amdTargetFor(const PipelineOptions &options, AmdTarget &amd,
                         std::string &error) {
  if (!AmdTarget::parse(options.target, amd))
    return false;
  if (options.amdWaveSize == 0)
    return true;
  if (!amd.hasWaveSize(options.amdWaveSize))
    error =
        "amd-wave-size " + std::to_string(options.amdWaveSize) +
        " does not run on " + amd.chip +
        (amd.chip == "gfx1100" ? " (32 or 64)" : " (waves of 64 lanes only)");
  else
    amd.wave = options.amdWaveSize;
  return true;
}

/// AMD workgroups have at least four wave64 (eight wave32) waves: with the
/// SIMT tiles in half the LDS, two workgroups a CU give two waves a SIMD.
static constexpr int64_t kAmdMinBlockThreads = 256;

std::string mlir::skim::tuningTarget(const PipelineOptions &options) {
  AmdTarget amd;
  std::string error;
  if (amdTargetFor(options, amd, error) && error.empty() &&
      amd.waveSize() != amd.chipWaveSize())
    return options.target + ":wave" + std::to_string(amd.waveSize());
  return options.target;
}

/// gpu.module kernels → CPU functions of one lane and one block → LLVM.
static std::string laneEmulatorTail() {
  return std::string("skim-emulate-lanes,canonicalize,cse,") + kHostLlvmTail;
}

ScheduleDefaults
mlir::skim::scheduleDefaultsFor(const PipelineOptions &options) {
  ScheduleDefaults defaults;
  AmdTarget amd;
  std::string waveError;
  if (amdTargetFor(options, amd, waveError)) {
    // SIMT kernels keep every tile in LDS: NSA's fused stage at 32 needs
    // 72 KB (measured on the NVIDIA lowering), over the 64 KB a workgroup
    // has. Their tiles shrink to half of it (defaultSchedule, MoBA's
    // scores): with workgroups of at least four wave64 waves (block-size
    // 256 below), two a CU make two waves a SIMD.
    defaults.nsaScoresBlock = 16;
    defaults.simtSharedBudget = amd.ldsBytes() / 2;
    defaults.tensorCoreAttention = options.amdMatrix != "simt";
    // Matrix-core attention: 128 rows over 4 wave64 (8 wave32) waves and
    // 32-key chunks. K and V in 16-bit LDS then take 17 KB at D = 128,
    // three workgroups a CU, 3 waves a SIMD by LDS; a wave's registers are
    // those of 32 rows, 2 waves a SIMD or more (lit: amd-code-object).
    // gfx1100's WMMA operands hold 16 k a lane: 32-key chunks took 256 VGPRs
    // and spilled 95 at D = 128 in wave32, 16-key chunks take 249 and none.
    // In wave64 the same 128 rows are two row blocks a wave and spilled 73
    // VGPRs; 64 rows (one block a wave) take 200 and spill none.
    bool rdna = amd.chip == "gfx1100";
    defaults.tensorCoreBlockM = rdna && amd.waveSize() == 64 ? 64 : 128;
    defaults.tensorCoreBlockN = rdna ? 16 : 32;
    defaults.tensorCoreWarps = 8;
    defaults.minWarps = kAmdMinBlockThreads / 32;
    return defaults;
  }
  CudaTarget cuda;
  if (!CudaTarget::parse(options.target, cuda))
    return defaults;
  // NSA's fused compressed stage is SIMT over shared-memory tiles: 32 × 32
  // tiles fit three CTAs per SM where 64 × 64 fit one.
  defaults.nsaScoresBlock = 32;
  if (cuda.chip == "sm_90a") {
    defaults.wgmmaRows = 64;
    // The default tile is 64 query rows with TMA, 128 (two wgmma slices per
    // warpgroup) with cp.async: each measured fastest (bench/NOTES.md).
    defaults.tensorCoreBlockM = options.tma ? 64 : 128;
  }
  return defaults;
}

LogicalResult mlir::skim::buildSkimPipeline(OpPassManager &pm,
                                            const PipelineOptions &options,
                                            std::string *error) {
  CudaTarget cuda;
  bool isCuda = CudaTarget::parse(options.target, cuda);
  AmdTarget amd;
  std::string waveError;
  bool isAmd = amdTargetFor(options, amd, waveError);
  if (options.target != "host" && !isCuda && !isAmd) {
    if (error)
      *error = "target '" + options.target + "' has no lowering yet (supported: " +
               kSupportedTargets + ")";
    return failure();
  }
  if (!waveError.empty() || (!isAmd && options.amdWaveSize != 0)) {
    if (error)
      *error = !waveError.empty()
                   ? waveError
                   : "amd-wave-size is for AMD targets (gfx90a, gfx942, "
                     "gfx1100), not '" +
                         options.target + "'";
    return failure();
  }
  registerPassesOnce();
  std::string pipeline;
  if (isAmd) {
    // Fragments on MFMA (CDNA) or WMMA (RDNA3), the other kernels SIMT with
    // tiles sized to the 64 KB of LDS a workgroup has; upstream's ROCDL
    // lowering and an HSA code object linked by LLVM 22's lld.
    std::string matrix =
        options.amdMatrix.empty() ? amd.defaultMatrix() : options.amdMatrix;
    if (!amd.hasMatrix(matrix)) {
      if (error)
        *error = "amd-matrix '" + matrix + "' does not run on " + amd.chip +
                 " (" + amd.defaultMatrix() + " does; or simt)";
      return failure();
    }
    ScheduleDefaults defaults = scheduleDefaultsFor(options);
    pipeline =
        "skim-expand-variants,skim-tile{nsa-scores-block=" +
        std::to_string(defaults.nsaScoresBlock) +
        " simt-shared-budget=" + std::to_string(defaults.simtSharedBudget) +
        " tensor-core-block-m=" + std::to_string(defaults.tensorCoreBlockM) +
        " tensor-core-block-n=" + std::to_string(defaults.tensorCoreBlockN) +
        " tensor-core-warps=" + std::to_string(defaults.tensorCoreWarps) +
        " tensor-core-attention=" +
        (defaults.tensorCoreAttention ? "true" : "false") +
        " min-warps=" + std::to_string(defaults.minWarps) +
        "},skim-lower-tile-to-gpu{vendor=amd amd-matrix=" + matrix +
        " wave-size=" + std::to_string(amd.waveSize()) +
        " block-size=" + std::to_string(kAmdMinBlockThreads) +
        "},canonicalize,cse,";
    pipeline += options.emulateLanes
                    ? laneEmulatorTail()
                    : "lower-affine,convert-scf-to-cf," + amdPipelineTail(amd);
  } else if (isCuda) {
    // Tiles to mma.sync (or wgmma on sm_90a) or SIMT loops, then upstream's
    // NVVM lowering to PTX or a cubin, or the lane emulator.
    bool wgmma = cuda.chip == "sm_90a";
    // On sm_90a K and V arrive by TMA (the lane emulator models it too).
    bool tma = wgmma && options.tma;
    ScheduleDefaults defaults = scheduleDefaultsFor(options);
    pipeline = "skim-expand-variants,skim-tile{nsa-scores-block=" +
               std::to_string(defaults.nsaScoresBlock) +
               " tensor-core-block-m=" +
               std::to_string(defaults.tensorCoreBlockM);
    if (wgmma)
      pipeline += " wgmma-rows=" + std::to_string(defaults.wgmmaRows) +
                  " prefetch-selections=true" +
                  (options.overlapSoftmax ? " overlap-softmax=true" : "");
    pipeline += "},skim-lower-tile-to-gpu";
    if (wgmma)
      pipeline = pipeline + "{wgmma=true" + (tma ? " tma=true" : "") +
                 (options.overlapSoftmax ? " overlap-wgmma=true" : "") +
                 (tma && options.warpSpecialize ? " warp-specialize=true" : "") +
                 "}";
    pipeline += ",canonicalize,cse,";
    pipeline += options.emulateLanes
                    ? laneEmulatorTail()
                    : "lower-affine,convert-scf-to-cf," + cudaPipelineTail(cuda);
  } else {
    pipeline =
        "skim-expand-variants,skim-tile,"
        "skim-lower-tile-to-cpu{vector-width=" +
        std::to_string(options.host.vectorWidth) +
        "},canonicalize,cse,loop-invariant-code-motion,skim-cpu-math-approx," +
        kHostLlvmTail;
  }
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (failed(parsePassPipeline(pipeline, pm, os))) {
    if (error)
      *error = "bad pipeline: " + errors;
    return failure();
  }
  return success();
}

/// The words of a plan line.
static std::vector<std::string> words(const std::string &line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

/// A kernel line with `args` appended to its arguments (after those it has),
/// the count updated.
static std::string appendArguments(const std::string &kernelLine,
                                   const std::vector<std::string> &args) {
  std::vector<std::string> tokens = words(kernelLine);
  // kernel <name> grid <x> <y> <z> args <n> <arg>...
  size_t n = std::stoul(tokens[7]);
  tokens[7] = std::to_string(n + args.size());
  tokens.insert(tokens.begin() + 8 + n, args.begin(), args.end());
  std::string out;
  for (const std::string &t : tokens)
    out += (out.empty() ? "" : " ") + t;
  return out;
}

/// A kernel line with the four scratch-pool arguments the GPU lowering
/// appended (ScalarCode.h): lock words (a zeroed i32 buffer, one per slot),
/// the slots (f32, `words` each), the slot count and `words`. The slot count
/// is the grid's size, capped: more CTAs than that share slots in turn.
static std::string addScratchPool(const std::string &kernelLine,
                                  const std::string &words, int64_t cap,
                                  int firstBuffer, std::string &buffers) {
  std::vector<std::string> tokens = ::words(kernelLine);
  // kernel <name> grid <x> <y> <z> ...
  std::string slots = tokens[3];
  for (int d : {4, 5})
    if (tokens[d] != "1")
      slots += "," + tokens[d] + ",*";
  slots += "," + std::to_string(cap) + ",min";
  std::string locks = std::to_string(firstBuffer);
  std::string pool = std::to_string(firstBuffer + 1);
  buffers += "buffer " + locks + " workspace -1 i32 1 " + slots + " zero\n";
  buffers += "buffer " + pool + " workspace -1 f32 2 " + slots + " " + words + "\n";
  return appendArguments(kernelLine,
                         {"t" + locks, "t" + pool, "e" + slots, "e" + words});
}

/// Adds the GPU launch fields to every kernel line of a plan, the scratch
/// pools of kernels that have one, and names the image's section.
static FailureOr<std::string> gpuPlan(ModuleOp module, const std::string &plan,
                                      const std::string &section) {
  auto shared = module->getAttrOfType<DictionaryAttr>("skim.gpu_shared_bytes");
  auto block = module->getAttrOfType<IntegerAttr>("skim.gpu_block");
  auto scratch = module->getAttrOfType<DictionaryAttr>("skim.gpu_scratch");
  auto slots = module->getAttrOfType<IntegerAttr>("skim.gpu_scratch_slots");
  auto maps = module->getAttrOfType<DictionaryAttr>("skim.gpu_tensor_maps");
  // Warp-specialised kernels have a producer warpgroup more than the rest.
  auto blocks = module->getAttrOfType<DictionaryAttr>("skim.gpu_blocks");
  if (!shared || !block || (scratch && !slots))
    return module.emitError("the GPU lowering recorded no launch shape");
  std::vector<std::string> lines;
  std::istringstream in(plan);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  // Pool buffers come after the plan's own, which precede every kernel.
  int numBuffers = llvm::count_if(
      lines, [](const std::string &l) { return l.rfind("buffer ", 0) == 0; });
  std::string head, pools, rest;
  for (std::string &line : lines) {
    if (line.rfind("kernel ", 0) != 0) {
      bool early = line.rfind("skim-plan", 0) == 0 || line.rfind("buffer ", 0) == 0;
      (early ? head : rest) += line + "\n";
      continue;
    }
    std::string name = line.substr(7, line.find(' ', 7) - 7);
    auto bytes = shared.getAs<IntegerAttr>(name);
    if (!bytes)
      return module.emitError("no shared-memory size for kernel '") << name << "'";
    if (auto words = scratch ? scratch.getAs<StringAttr>(name) : StringAttr()) {
      line = addScratchPool(line, words.str(), slots.getInt(), numBuffers, pools);
      numBuffers += 2;
    }
    // After the pool's: the lowering appended the tensor maps last.
    if (auto tokens = maps ? maps.getAs<StringAttr>(name) : StringAttr())
      line = appendArguments(line, words(tokens.str()));
    int64_t threads = block.getInt();
    if (auto own = blocks ? blocks.getAs<IntegerAttr>(name) : IntegerAttr())
      threads = own.getInt();
    rest += line + " block " + std::to_string(threads) + " 1 1 smem " +
            std::to_string(bytes.getInt()) + " cluster 1 1 1\n";
  }
  return head + pools + rest + "binary " + section + "\n";
}

/// A host artifact: the module (in the LLVM dialect) as the plan's kernels
/// in a shared object. `emulates` names the GPU whose kernels run through
/// the lane emulator, if they do.
static FailureOr<std::string> hostArtifact(ModuleOp module, const std::string &plan,
                                           const HostCpu &host,
                                           const std::string &emulates) {
  std::vector<std::string> kernels;
  std::istringstream lines(plan);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("kernel ", 0) == 0)
      kernels.push_back(line.substr(7, line.find(' ', 7) - 7));
  FailureOr<std::string> object = buildCpuSharedObject(module, kernels, host);
  if (failed(object))
    return failure();
  ::skim::rt::Artifact artifact;
  artifact.sections["compiler"] = compilerVersion();
  artifact.sections["target"] = "host:" + host.describe();
  if (!emulates.empty())
    artifact.sections["emulates"] = emulates;
  artifact.sections["plan"] = plan;
  artifact.sections["cpu.so"] = std::move(*object);
  return artifact.serialize();
}

FailureOr<std::string> mlir::skim::compileToArtifact(ModuleOp module,
                                                     const PipelineOptions &options) {
  CudaTarget cuda;
  bool isCuda = CudaTarget::parse(options.target, cuda);
  AmdTarget amd;
  bool isAmd = AmdTarget::parse(options.target, amd);
  if (isCuda || isAmd) {
    DialectRegistry registry;
    registerCudaTargetInterfaces(registry);
    registerAmdTargetInterfaces(registry);
    module.getContext()->appendDialectRegistry(registry);
  }
  if (isAmd && !options.emulateLanes && !amd.missingLinker().empty())
    return module.emitError() << "no LLVM 22 ld.lld at " << amd.missingLinker()
                              << " to link the " << amd.chip
                              << " code object: set SKIM_ROCM_TOOLKIT to a folder "
                                 "with llvm/bin/ld.lld";
  PassManager pm(module.getContext());
  std::string error;
  if (failed(buildSkimPipeline(pm, options, &error)))
    return module.emitError(error);
  if (failed(pm.run(module)))
    return failure();
  auto planAttr = module->getAttrOfType<StringAttr>("skim.plan");
  if (!planAttr)
    return module.emitError("the pipeline produced no launch plan");
  if ((isCuda || isAmd) && options.emulateLanes) {
    // The GPU kernels' plan (with their launch shape and extra arguments),
    // as a CPU plan: the kernels live in the artifact's cpu.so.
    FailureOr<std::string> plan = gpuPlan(module, planAttr.getValue().str(), "");
    if (failed(plan))
      return failure();
    std::string cpuPlan;
    std::istringstream lines(*plan);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("binary", 0) != 0)
        cpuPlan += line + "\n";
    return hostArtifact(module, cpuPlan, options.host,
                        isAmd ? amd.describe() : cuda.describe());
  }
  if (!isCuda && !isAmd)
    return hostArtifact(module, planAttr.getValue().str(), options.host, "");
  if (isAmd) {
    // Launching more LDS than a workgroup has fails on the device; say so
    // here, naming the kernel.
    if (auto shared = module->getAttrOfType<DictionaryAttr>("skim.gpu_shared_bytes"))
      for (NamedAttribute kernel : shared)
        if (auto bytes = dyn_cast<IntegerAttr>(kernel.getValue());
            bytes && bytes.getInt() > amd.ldsBytes())
          return emitError(module.getLoc())
                 << "kernel " << kernel.getName() << " needs " << bytes.getInt()
                 << " bytes of LDS; " << amd.chip << " has " << amd.ldsBytes()
                 << " a workgroup: give its stage a smaller block_m or block_n";
  }
  FailureOr<std::string> image = isAmd ? extractAmdImage(module) : extractCudaImage(module);
  if (failed(image))
    return failure();
  std::string section = isAmd ? amd.section() : cuda.section();
  FailureOr<std::string> plan = gpuPlan(module, planAttr.getValue().str(), section);
  if (failed(plan))
    return failure();
  ::skim::rt::Artifact artifact;
  artifact.sections["compiler"] = compilerVersion();
  artifact.sections["target"] = isAmd ? amd.describe() : cuda.describe();
  artifact.sections["plan"] = std::move(*plan);
  artifact.sections[section] = std::move(*image);
  return artifact.serialize();
}

FailureOr<std::string> mlir::skim::compileForLaneEmulator(ModuleOp module,
                                                          const std::string &plan,
                                                          const HostCpu &host) {
  registerPassesOnce();
  PassManager pm(module.getContext());
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (failed(parsePassPipeline(laneEmulatorTail(), pm, os)))
    return module.emitError("bad pipeline: ") << errors;
  if (failed(pm.run(module)))
    return failure();
  return hostArtifact(module, plan, host, "emulated");
}
