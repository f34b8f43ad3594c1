//===- Import.cpp - measured results into the tuning cache ----------------===//

#include "autotune/Import.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/JSON.h"

#include <map>

using namespace mlir;

namespace skim::tune {

namespace {

llvm::Error problem(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "measured results: " + message);
}

/// `field` of `object` as a string, or an error naming it.
llvm::Expected<std::string> text(const llvm::json::Object &object,
                                 llvm::StringRef field) {
  std::optional<llvm::StringRef> value = object.getString(field);
  if (!value)
    return problem("no string field '" + field + "'");
  return value->str();
}

/// Checks that the results' `field` is `expected`.
llvm::Error same(const llvm::json::Object &root, llvm::StringRef field,
                 const std::string &expected, llvm::StringRef what) {
  llvm::Expected<std::string> got = text(root, field);
  if (!got)
    return got.takeError();
  if (*got != expected)
    return problem("they are for " + what + " '" + *got + "', not '" +
                   expected + "'");
  return llvm::Error::success();
}

} // namespace

llvm::Expected<TuningEntry> entryFromMeasurement(ModuleOp module,
                                                 const std::string &target,
                                                 const ProblemSizes &sizes,
                                                 llvm::StringRef json) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return problem("not JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return problem("not a JSON object");

  if (llvm::Error e = same(*root, "signature", variantSignature(module),
                           "the variant with signature"))
    return std::move(e);
  if (llvm::Error e = same(*root, "skim_version", mlir::skim::compilerVersion(),
                           "skim version"))
    return std::move(e);
  if (llvm::Error e = same(*root, "target", target, "target"))
    return std::move(e);
  if (llvm::Error e = same(*root, "bucket", shapeBucket(sizes), "shape bucket"))
    return std::move(e);
  DeviceIdentity device;
  device.arch = target;
  for (auto [field, slot] : {std::pair{"device", &device.name},
                             std::pair{"driver", &device.driver}}) {
    llvm::Expected<std::string> value = text(*root, field);
    if (!value)
      return value.takeError();
    if (value->empty())
      return problem(llvm::Twine("an empty '") + field + "'");
    *slot = *value;
  }

  const llvm::json::Array *stages = root->getArray("stages");
  if (!stages || stages->empty())
    return problem("no 'stages'");
  TuningEntry entry;
  entry.key = tuningKey(module, device, sizes);
  std::map<std::string, mlir::skim::ScheduleAttr> schedules;
  double bestMs = 0, defaultMs = 0;
  for (const llvm::json::Value &value : *stages) {
    const llvm::json::Object *stage = value.getAsObject();
    if (!stage)
      return problem("a stage that is not an object");
    llvm::Expected<std::string> name = text(*stage, "stage");
    if (!name)
      return name.takeError();
    llvm::Expected<std::string> best = text(*stage, "best");
    if (!best)
      return best.takeError();
    mlir::skim::ScheduleAttr attr;
    if (!best->empty()) {
      attr = dyn_cast_or_null<mlir::skim::ScheduleAttr>(
          parseAttribute(*best, module.getContext()));
      if (!attr)
        return problem("stage '" + *name + "': '" + *best +
                       "' is not a #skim.schedule");
    }
    schedules[*name] = attr;
    entry.stages.push_back({*name, *best});
    if (const llvm::json::Array *trials = stage->getArray("trials"))
      entry.trials += int64_t(trials->size());
    // Each stage was searched with the others at their defaults: the
    // variant's tuned time is known only for one stage.
    bestMs = stage->getNumber("best_ms").value_or(0);
    defaultMs = stage->getNumber("default_ms").value_or(0);
  }
  OwningOpRef<ModuleOp> probe(cast<ModuleOp>(module->clone()));
  {
    ScopedDiagnosticHandler quiet(module.getContext(),
                                  [](Diagnostic &) { return success(); });
    if (failed(applySchedules(*probe, schedules)))
      return problem("they name a stage this variant does not have");
  }
  if (stages->size() == 1) {
    entry.bestMs = bestMs;
    entry.defaultMs = defaultMs;
  }
  return entry;
}

} // namespace skim::tune
