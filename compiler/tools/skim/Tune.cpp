//===- Tune.cpp - skim tune and the compile path's cache lookup -----------===//
//
//   skim tune (FILE.mlir | --variant ...) --target T [--budget N|Ns]
//             [--dry-run] [--json F] [--no-store]
//
// Builds the pruned search space of every stage, measures candidates on the
// target's device in the cost model's order within the budget, prints a
// summary (best / default / worst) and stores the best in the tuning cache,
// where every later `skim compile`, `skim run` and skim-attach-schedule
// finds it. With no device of the target's kind here, the cost model
// chooses alone.
//
//===----------------------------------------------------------------------===//

#include "Tune.h"

#include "ParsedVariant.h"

#include "autotune/CostModel.h"
#include "autotune/Import.h"
#include "autotune/Manifest.h"
#include "skim/runtime/Device.h"

#include "Registration/RegisterSkim.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <thread>

using namespace llvm;
namespace rt = skim::rt;

namespace skim::tool {

namespace {

int fail(const std::string &message) {
  errs() << "skim: error: " << message << "\n";
  return 1;
}

/// Writes `value` to `path` as indented JSON; 1 (with the reason) on failure.
int writeJson(const std::string &path, json::Value value) {
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write '" + path + "': " + ec.message());
  os << formatv("{0:2}", value) << "\n";
  return 0;
}

/// Every candidate of every stage with the model's time.
json::Array spaceJson(const std::vector<tune::StageCandidates> &stages) {
  json::Array space;
  for (const tune::StageCandidates &s : stages)
    for (size_t i = 0; i < s.schedules.size(); ++i)
      space.push_back(json::Object{{"stage", s.stage},
                                   {"schedule", s.schedules[i]},
                                   {"predicted_ms", s.predictedMs[i]}});
  return space;
}

/// Parses --budget: "" none, "N" trials, "Ns" seconds.
bool parseBudget(const std::string &text, tune::SearchOptions &options,
                 std::string &error) {
  if (text.empty())
    return true;
  bool seconds = text.back() == 's';
  std::string number = seconds ? text.substr(0, text.size() - 1) : text;
  char *end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || !(value > 0) ||
      (!seconds && value != std::floor(value))) {
    error = "--budget takes a number of trials (e.g. 40) or seconds (e.g. "
            "20s), got '" +
            text + "'";
    return false;
  }
  if (seconds)
    options.maxSeconds = value;
  else
    options.maxTrials = int64_t(value);
  return true;
}

std::string isoDate() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

std::string msText(double ms) {
  if (!std::isfinite(ms))
    return "failed";
  return std::string(formatv("{0:f3} ms", ms));
}

std::string describeConfig(const tune::Config &config) {
  std::string s;
  for (const auto &entry : config)
    s += (s.empty() ? "" : ", ") + entry.first + ": " +
         (entry.second.empty() ? std::string("default") : entry.second);
  return s;
}

void printProgressBar(const tune::Trial &trial, size_t done, size_t planned,
                      double bestMs) {
  constexpr int width = 30;
  int filled = planned ? int(width * done / planned) : width;
  errs() << "\r[" << std::string(filled, '#')
         << std::string(width - filled, ' ') << "] " << done << "/" << planned
         << "  " << trial.stage << "  best " << msText(bestMs) << "    ";
}

/// `--export DIR`: every candidate of every stage (the others at their
/// defaults) compiled into DIR, with the manifest skim-tune-measure reads.
int exportSpace(const TuneArgs &args, mlir::ModuleOp module,
                const std::vector<tune::SearchSpace> &spaces) {
  if (std::error_code ec = sys::fs::create_directories(args.exportDir))
    return fail("cannot create '" + args.exportDir + "': " + ec.message());
  auto inputs = tune::inputsFor(module, args.sizes);
  if (failed(inputs))
    return 1;
  tune::Manifest manifest;
  manifest.variant = args.bufferName;
  manifest.target = mlir::skim::tuningTarget(args.pipeline);
  manifest.bucket = tune::shapeBucket(args.sizes);
  manifest.signature = tune::variantSignature(module);
  manifest.skimVersion = mlir::skim::compilerVersion();
  manifest.inputs = *inputs;
  std::vector<tune::StageCandidates> stages = tune::candidatesOf(spaces);
  for (const tune::StageCandidates &s : stages)
    for (size_t i = 0; i < s.schedules.size(); ++i) {
      tune::ManifestCandidate c;
      c.stage = s.stage;
      c.index = i;
      c.predictedMs = s.predictedMs[i];
      c.schedule = s.schedules[i];
      manifest.candidates.push_back(c);
    }
  std::atomic<size_t> next{0}, done{0};
  auto work = [&] {
    for (size_t i; (i = next++) < manifest.candidates.size();) {
      tune::ManifestCandidate &c = manifest.candidates[i];
      tune::Config config;
      for (const tune::StageCandidates &s : stages)
        config[s.stage] = "";
      config[c.stage] = c.schedule;
      auto artifact = tune::compileConfig(args.source, config, args.pipeline);
      if (!artifact) {
        c.error = artifact.message();
      } else {
        std::string name = c.stage + "-" + std::to_string(c.index) + ".skim";
        std::error_code ec;
        raw_fd_ostream os(args.exportDir + "/" + name, ec, sys::fs::OF_None);
        if (ec)
          c.error = "cannot write " + name + ": " + ec.message();
        else {
          os << *artifact;
          c.artifact = name;
        }
      }
      ++done;
    }
  };
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < std::max(1u, args.compileThreads); ++t)
    workers.emplace_back(work);
  for (std::thread &w : workers)
    w.join();
  size_t failedCompiles = 0;
  for (const tune::ManifestCandidate &c : manifest.candidates)
    failedCompiles += !c.error.empty();
  std::error_code ec;
  raw_fd_ostream os(args.exportDir + "/manifest.txt", ec, sys::fs::OF_None);
  if (ec)
    return fail("cannot write the manifest: " + ec.message());
  os << manifest.serialize();
  outs() << "exported " << manifest.candidates.size() << " candidates to "
         << args.exportDir << " (" << failedCompiles
         << " failed to compile; listed with their reasons)\n";
  return 0;
}

} // namespace

/// `--import FILE`: skim-tune-measure's results stored as the cache entry.
int importResults(const TuneArgs &args, mlir::ModuleOp module) {
  auto file = MemoryBuffer::getFile(args.importFile);
  if (!file)
    return fail("cannot read '" + args.importFile +
                "': " + file.getError().message());
  Expected<tune::TuningEntry> entry = tune::entryFromMeasurement(
      module, mlir::skim::tuningTarget(args.pipeline), args.sizes,
      (*file)->getBuffer());
  if (!entry)
    return fail(args.importFile + ": " + toString(entry.takeError()));
  entry->date = isoDate();
  outs() << "measured on " << entry->key.deviceName << " (" << entry->key.driver
         << "), " << entry->trials << " trials\n";
  for (const tune::TunedStage &stage : entry->stages)
    outs() << "  " << stage.stage << ": "
           << (stage.schedule.empty() ? "default" : stage.schedule) << "\n";
  if (args.noStore)
    return 0;
  tune::TuningCache cache(args.cacheDir);
  if (Error e = cache.store(*entry))
    return fail(toString(std::move(e)));
  outs() << "stored in " << cache.pathOf(entry->key) << "\n";
  return 0;
}

int tuneCommand(const TuneArgs &args) {
  ParsedVariant variant(args.source, args.bufferName);
  mlir::OwningOpRef<mlir::ModuleOp> &module = variant.module;
  if (!module)
    return 1;

  if (!args.importFile.empty())
    return importResults(args, *module);

  const std::string &target = args.pipeline.target;
  std::optional<tune::TargetModel> model = tune::targetModelFor(args.pipeline);
  if (!model)
    return fail(
        "no tuning model for target '" + target +
        "' (known: host, sm_80, sm_90, sm_90a, gfx90a, gfx942, gfx1100)");
  tune::SearchOptions searchOptions;
  std::string error;
  if (!parseBudget(args.budget, searchOptions, error))
    return fail(error);
  searchOptions.compileThreads = args.compileThreads;

  auto spaces =
      tune::buildSearchSpaces(*module, args.sizes, args.pipeline, *model);
  if (failed(spaces))
    return 1;
  size_t candidates = 0;
  int64_t enumerated = 0;
  for (const tune::SearchSpace &s : *spaces) {
    candidates += s.candidates.size();
    enumerated += s.enumerated;
  }
  outs() << "tuning " << args.bufferName << " for " << target << " at "
         << tune::shapeBucket(args.sizes) << ": " << spaces->size()
         << " stage(s), " << candidates << " candidates of " << enumerated
         << " schedules after pruning\n"
         << "variant signature " << tune::variantSignature(*module) << ", "
         << mlir::skim::compilerVersion() << "\n";

  if (args.dryRun) {
    for (const tune::SearchSpace &s : *spaces) {
      outs() << "\nstage " << s.stage << ": " << s.candidates.size()
             << " candidates (" << s.enumerated << " enumerated)\n";
      for (const auto &reason : s.pruned)
        outs() << formatv("  pruned {0,6}  {1}\n", reason.second, reason.first);
      outs() << "  predicted   schedule\n";
      for (const tune::Candidate &c : s.candidates) {
        std::string text = tune::scheduleText(c.schedule);
        outs() << formatv("  {0,9:f3}   {1}\n", c.predictedMs,
                          text.empty() ? "default" : text);
      }
    }
    if (args.jsonOut.empty())
      return 0;
    // The space with the model's times at full precision (the table rounds
    // them), for scoring the model against measurements.
    json::Object picks;
    for (const tune::SearchSpace &s : *spaces)
      picks[s.stage] =
          tune::scheduleText(s.candidates[tune::modelPick(s)].schedule);
    return writeJson(
        args.jsonOut,
        json::Object{{"target", target},
                     {"bucket", tune::shapeBucket(args.sizes)},
                     {"model_pick", std::move(picks)},
                     {"space", spaceJson(tune::candidatesOf(*spaces))}});
  }

  if (!args.exportDir.empty())
    return exportSpace(args, *module, *spaces);

  // The device to measure on, and the cache key it gives.
  std::string why;
  tune::DeviceIdentity id =
      tune::deviceIdentityFor(target, args.deviceName, args.driver, why);
  id.arch = mlir::skim::tuningTarget(args.pipeline);
  std::vector<std::string> notes;
  auto devices = rt::discoverDevices(&notes);
  if (!devices)
    return fail(devices.message());
  rt::Device *device = nullptr;
  std::optional<rt::DeviceKind> kind = tune::deviceKindFor(target);
  if (args.deviceName.empty())
    for (const auto &d : *devices)
      if (kind && d->kind() == *kind) {
        device = d.get();
        break;
      }

  std::vector<tune::StageCandidates> stages = tune::candidatesOf(*spaces);
  tune::SearchResult result;
  tune::TuningEntry entry;
  if (!device) {
    // No device: the cost model chooses each stage alone.
    outs() << "no device for " << target << " here"
           << (why.empty() ? "" : " (" + why + ")")
           << ": choosing by the cost model alone\n";
    for (const tune::SearchSpace &s : *spaces) {
      size_t best = tune::modelPick(s);
      std::string text = tune::scheduleText(s.candidates[best].schedule);
      result.best[s.stage] = text;
      outs() << "  " << s.stage << ": "
             << (text.empty() ? std::string("default") : text)
             << formatv(" (predicted {0:f3} ms, default {1:f3} ms)\n",
                        s.candidates[best].predictedMs,
                        s.candidates[0].predictedMs);
    }
  } else {
    auto inputs = tune::inputsFor(*module, args.sizes);
    if (failed(inputs))
      return 1;
    auto measurer = tune::Measurer::create(*device, *inputs, args.measure);
    if (!measurer)
      return fail(measurer.message());
    outs() << "measuring on " << device->name() << " (" << (*measurer)->copies()
           << " input copies in rotation)\n";
    tune::SteadyClock clock;
    double liveBest = std::numeric_limits<double>::infinity();
    if (args.progress)
      searchOptions.progress = [&](const tune::Trial &t, size_t done,
                                   size_t planned) {
        liveBest = std::min(liveBest, t.ms);
        printProgressBar(t, done, planned, liveBest);
      };
    mlir::skim::PipelineOptions pipeline = args.pipeline;
    std::string source = args.source;
    result = tune::search(
        stages,
        [&](const tune::Config &c) {
          return tune::compileConfig(source, c, pipeline);
        },
        [&](const std::string &artifact) {
          return (*measurer)->measure(artifact);
        },
        clock, searchOptions);
    if (args.progress)
      errs() << "\n";
    std::vector<const tune::Trial *> failed;
    for (const tune::Trial &t : result.trials)
      if (!t.error.empty())
        failed.push_back(&t);
    outs() << formatv("\n{0} trials in {1:f1} s{2}\n", result.trials.size(),
                      result.seconds,
                      result.budgetExhausted ? " (budget reached)" : "");
    outs() << formatv("  {0,-8} {1,12}  {2}\n", "", "time", "schedules");
    outs() << formatv("  {0,-8} {1,12}  {2}\n", "best", msText(result.bestMs),
                      describeConfig(result.best));
    outs() << formatv("  {0,-8} {1,12}  {2}\n", "default",
                      msText(result.defaultMs), "the compiler's defaults");
    const tune::Trial *worst = nullptr;
    for (const tune::Trial &t : result.trials)
      if (t.error.empty() && (!worst || t.ms > worst->ms))
        worst = &t;
    outs() << formatv(
        "  {0,-8} {1,12}  {2}\n", "worst", msText(result.worstMs),
        worst ? describeConfig({{worst->stage, worst->config.at(worst->stage)}})
              : std::string());
    if (std::isfinite(result.bestMs) && std::isfinite(result.defaultMs))
      outs() << formatv("  speedup over the default: {0:f2}x\n",
                        result.defaultMs / result.bestMs);
    for (const tune::Trial *t : failed)
      outs() << "  failed: "
             << describeConfig({{t->stage, t->config.at(t->stage)}}) << ": "
             << t->error << "\n";
  }

  if (!args.jsonOut.empty()) {
    json::Array trials;
    for (const tune::Trial &t : result.trials) {
      json::Object o;
      o["stage"] = t.stage;
      o["schedule"] = t.config.at(t.stage);
      o["predicted_ms"] = t.predictedMs;
      if (std::isfinite(t.ms))
        o["ms"] = t.ms;
      else
        o["ms"] = nullptr;
      if (!t.error.empty())
        o["error"] = t.error;
      trials.push_back(std::move(o));
    }
    json::Object root{{"target", target},
                      {"device", device ? device->name() : std::string()},
                      {"bucket", tune::shapeBucket(args.sizes)},
                      {"best_ms", std::isfinite(result.bestMs)
                                      ? json::Value(result.bestMs)
                                      : json::Value(nullptr)},
                      {"default_ms", std::isfinite(result.defaultMs)
                                         ? json::Value(result.defaultMs)
                                         : json::Value(nullptr)},
                      {"seconds", result.seconds},
                      {"trials", std::move(trials)},
                      {"space", spaceJson(stages)}};
    if (int rc = writeJson(args.jsonOut, std::move(root)))
      return rc;
  }

  if (args.noStore)
    return 0;
  if (id.name.empty()) {
    outs() << "not stored: " << why
           << " (give --device-name and --driver to store a model pick)\n";
    return 0;
  }
  if (device && !std::isfinite(result.bestMs))
    return fail("every candidate failed; nothing stored");
  entry.key = tune::tuningKey(*module, id, args.sizes);
  for (const tune::StageCandidates &s : stages)
    entry.stages.push_back({s.stage, result.best[s.stage]});
  entry.bestMs = device && std::isfinite(result.bestMs) ? result.bestMs : 0;
  entry.defaultMs =
      device && std::isfinite(result.defaultMs) ? result.defaultMs : 0;
  entry.trials = int64_t(result.trials.size());
  entry.date = isoDate();
  tune::TuningCache cache(args.cacheDir);
  if (Error e = cache.store(entry))
    return fail(toString(std::move(e)));
  outs() << "stored in " << cache.pathOf(entry.key) << "\n";
  return 0;
}

} // namespace skim::tool
