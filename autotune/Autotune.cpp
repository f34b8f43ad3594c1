//===- Autotune.cpp - tuning a variant end to end -------------------------===//

#include "autotune/Autotune.h"

#include "Registration/RegisterSkim.h"
#include "Skim/IR/SkimOps.h"
#include "Target/AmdTarget.h"
#include "Target/CudaTarget.h"

#include "skim/runtime/Artifact.h"
#include "skim/runtime/Device.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::skim;

namespace skim::tune {

namespace {

int64_t pow2Ceil(int64_t x) {
  int64_t p = 1;
  while (p < x)
    p *= 2;
  return p;
}

std::string hex64(uint64_t v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format_hex_no_prefix(v, 16);
  return s;
}

/// The one variant function of the module.
func::FuncOp variantFunction(ModuleOp module) {
  func::FuncOp found;
  module.walk([&](func::FuncOp f) {
    if (!f.isExternal() && !found)
      found = f;
  });
  return found;
}

} // namespace

std::optional<::skim::rt::DeviceKind> deviceKindFor(const std::string &target) {
  CudaTarget cuda;
  AmdTarget amd;
  if (target == "host")
    return ::skim::rt::DeviceKind::Cpu;
  if (CudaTarget::parse(target, cuda))
    return ::skim::rt::DeviceKind::Cuda;
  if (AmdTarget::parse(target, amd))
    return ::skim::rt::DeviceKind::Hip;
  return std::nullopt;
}

std::string scheduleText(ScheduleAttr schedule) {
  std::string text;
  if (schedule) {
    llvm::raw_string_ostream os(text);
    os << schedule;
  }
  return text;
}

DeviceIdentity deviceIdentityFor(const std::string &target,
                                 const std::string &name,
                                 const std::string &driver, std::string &why) {
  DeviceIdentity id;
  id.arch = target;
  if (!name.empty() || !driver.empty()) {
    if (name.empty() || driver.empty()) {
      why = "a device name and a driver go together (--device-name, --driver)";
      return id;
    }
    id.name = name;
    id.driver = driver;
    return id;
  }
  std::vector<std::string> notes;
  auto devices = ::skim::rt::discoverDevices(&notes);
  if (!devices) {
    why = devices.message();
    return id;
  }
  std::optional<::skim::rt::DeviceKind> kind = deviceKindFor(target);
  for (const auto &d : *devices) {
    if (kind && d->kind() == *kind) {
      id.name = d->name();
      id.driver = d->driver();
      return id;
    }
  }
  why = "no device for target " + target + " here";
  for (const std::string &note : notes)
    why += "; " + note;
  return id;
}

std::string variantSignature(ModuleOp module) {
  OwningOpRef<ModuleOp> clone(cast<ModuleOp>(module->clone()));
  clone->walk([](Operation *op) {
    op->removeAttr("schedule");
    op->removeAttr("schedules");
  });
  std::string text;
  llvm::raw_string_ostream os(text);
  clone->print(os, OpPrintingFlags().elideLargeElementsAttrs());
  return hex64(::skim::rt::fnv1a64(text.data(), text.size()));
}

std::optional<TargetModel>
targetModelFor(const mlir::skim::PipelineOptions &options) {
  std::optional<TargetModel> model = TargetModel::forTarget(options.target);
  if (model && options.amdWaveSize != 0 && model->unit == MatmulUnit::Mfma)
    model->warpSize = options.amdWaveSize;
  return model;
}

std::string shapeBucket(const ProblemSizes &sizes) {
  return "B" + std::to_string(sizes.batch) + "-T" +
         std::to_string(pow2Ceil(sizes.tokens)) + "-S" +
         std::to_string(pow2Ceil(sizes.keys()));
}

TuningKey tuningKey(ModuleOp module, const DeviceIdentity &device,
                    const ProblemSizes &sizes) {
  TuningKey key;
  key.deviceName = device.name;
  key.arch = device.arch;
  key.driver = device.driver;
  key.skimVersion = compilerVersion();
  key.variantSignature = variantSignature(module);
  key.shapeBucket = shapeBucket(sizes);
  return key;
}

FailureOr<std::vector<InputSpec>> inputsFor(ModuleOp module,
                                            const ProblemSizes &sizes) {
  func::FuncOp func = variantFunction(module);
  if (!func)
    return module.emitError("no variant function to tune");
  std::vector<InputSpec> specs;
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return func.emitError()
             << "argument #" << arg.getArgNumber() << " is not a ranked tensor";
    InputSpec spec;
    spec.name = "arg" + std::to_string(arg.getArgNumber());
    Type element = type.getElementType();
    spec.dtype = element.isBF16()        ? ::skim::rt::DType::BF16
                 : element.isF16()       ? ::skim::rt::DType::F16
                 : element.isF32()       ? ::skim::rt::DType::F32
                 : element.isInteger(32) ? ::skim::rt::DType::I32
                                         : ::skim::rt::DType::F32;
    // Its role, from its first use: query rows count tokens, keys and
    // values count keys, selections count rows of q_block tokens.
    bool tokenRows = false, selection = false, counts = false, gate = false;
    int64_t kvBlock = 64, qBlock = 1;
    for (Operation *user : arg.getUsers()) {
      if (auto a = dyn_cast<AttentionOp>(user)) {
        tokenRows = a.getQuery() == arg;
        selection = a.getIndices() == arg;
        counts = a.getCounts() == arg;
        kvBlock = a.getKvBlock().value_or(64);
        qBlock = a.getQBlock();
      } else if (auto n = dyn_cast<NsaOp>(user)) {
        tokenRows = n.getQuery() == arg || n.getGateCmp() == arg ||
                    n.getGateSlc() == arg || n.getGateWin() == arg;
        gate = tokenRows && n.getQuery() != arg;
      } else if (auto m = dyn_cast<MobaOp>(user)) {
        tokenRows = m.getQuery() == arg;
      } else {
        continue;
      }
      break;
    }
    int64_t rows = selection || counts
                       ? (sizes.tokens + qBlock - 1) / qBlock
                       : (tokenRows ? sizes.tokens : sizes.keys());
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t d = type.getDimSize(i);
      if (!ShapedType::isDynamic(d))
        spec.shape.push_back(d);
      else if (i == 0)
        spec.shape.push_back(sizes.batch);
      else if (i == 1)
        spec.shape.push_back(rows);
      else
        return func.emitError() << "argument #" << arg.getArgNumber()
                                << " has a dynamic dimension " << i
                                << "; only batch (0) and tokens (1) may be";
    }
    spec.fill = selection ? InputSpec::Fill::Selection
                : counts  ? InputSpec::Fill::Counts
                : gate    ? InputSpec::Fill::Unit
                          : InputSpec::Fill::Signed;
    spec.kvBlock = kvBlock;
    spec.qBlock = qBlock;
    spec.tokens = sizes.tokens;
    spec.keys = sizes.keys();
    specs.push_back(std::move(spec));
  }
  return specs;
}

FailureOr<std::vector<SearchSpace>>
buildSearchSpaces(ModuleOp module, const ProblemSizes &sizes,
                  const PipelineOptions &options, const TargetModel &target) {
  FailureOr<std::vector<StageProblem>> stages =
      collectStages(module, sizes, scheduleDefaultsFor(options));
  if (failed(stages))
    return failure();
  std::vector<SearchSpace> spaces;
  for (const StageProblem &stage : *stages)
    spaces.push_back(buildSearchSpace(module.getContext(), stage,
                                      stage.defaultSchedule, target));
  return spaces;
}

std::vector<StageCandidates>
candidatesOf(const std::vector<SearchSpace> &spaces, size_t limit) {
  std::vector<StageCandidates> result;
  for (const SearchSpace &space : spaces) {
    StageCandidates c;
    c.stage = space.stage;
    for (const Candidate &candidate : space.candidates) {
      if (limit && c.schedules.size() >= limit)
        break;
      c.schedules.push_back(scheduleText(candidate.schedule));
      c.predictedMs.push_back(candidate.predictedMs);
    }
    result.push_back(std::move(c));
  }
  return result;
}

::skim::rt::Expected<std::string>
compileConfig(const std::string &source, const Config &config,
              const PipelineOptions &options) {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerSkimDialects(registry);
  MLIRContext context(registry);
  context.disableMultithreading();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error) {
      if (!diagnostics.empty())
        diagnostics += "; ";
      diagnostics += d.str();
    }
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  if (!module)
    return ::skim::rt::Error{"the variant does not parse: " + diagnostics};
  std::map<std::string, ScheduleAttr> schedules;
  for (const auto &entry : config) {
    if (entry.second.empty())
      continue;
    auto attr =
        dyn_cast_or_null<ScheduleAttr>(parseAttribute(entry.second, &context));
    if (!attr)
      return ::skim::rt::Error{"'" + entry.second +
                               "' is not a #skim.schedule: " + diagnostics};
    schedules[entry.first] = attr;
  }
  if (failed(applySchedules(*module, schedules)))
    return ::skim::rt::Error{diagnostics};
  FailureOr<std::string> artifact = compileToArtifact(*module, options);
  if (failed(artifact))
    return ::skim::rt::Error{diagnostics.empty() ? "the compile failed"
                                                 : diagnostics};
  return *artifact;
}

FailureOr<std::vector<std::string>>
attachCachedSchedules(ModuleOp module, const TuningKey &key,
                      const TuningCache &cache,
                      std::vector<std::string> &warnings) {
  std::vector<std::string> attached;
  std::optional<TuningEntry> entry = cache.lookup(key, &warnings);
  if (!entry)
    return attached;
  std::map<std::string, ScheduleAttr> existing = currentSchedules(module);
  std::map<std::string, ScheduleAttr> schedules;
  for (const TunedStage &stage : entry->stages) {
    if (stage.schedule.empty() || existing.count(stage.stage))
      continue;
    auto attr = dyn_cast_or_null<ScheduleAttr>(
        parseAttribute(stage.schedule, module.getContext()));
    if (!attr) {
      warnings.push_back("tuning cache: ignoring " + cache.pathOf(key) +
                         ": stage '" + stage.stage +
                         "' has no valid schedule ('" + stage.schedule + "')");
      return std::vector<std::string>();
    }
    schedules[stage.stage] = attr;
  }
  // A stage the variant does not have means the entry is not this
  // variant's after all: use none of it.
  OwningOpRef<ModuleOp> probe(cast<ModuleOp>(module->clone()));
  {
    ScopedDiagnosticHandler quiet(module.getContext(),
                                  [](Diagnostic &) { return success(); });
    if (failed(applySchedules(*probe, schedules))) {
      warnings.push_back("tuning cache: ignoring " + cache.pathOf(key) +
                         ": it names a stage this variant does not have");
      return std::vector<std::string>();
    }
  }
  if (failed(applySchedules(module, schedules)))
    return failure();
  for (const auto &s : schedules)
    attached.push_back(s.first);
  return attached;
}

} // namespace skim::tune
