//===- TuneMeasure.cpp - measure an exported search space -----------------===//
//
//   skim-tune-measure DIR [--budget N|Ns] [--repeat R] [--out FILE]
//
// The measuring half of `skim tune`, for a GPU machine without the compiler
// (it links the runtime only): reads DIR/manifest.txt that `skim tune
// --export DIR` wrote, makes the inputs, and measures the candidates of each
// stage in the cost model's order, the default first, every one without
// --budget. Stages are searched one at a time with the others at their
// defaults (the exported artifacts vary one stage each). Writes every trial
// and each stage's best as JSON.
//
//===----------------------------------------------------------------------===//

#include "autotune/Manifest.h"
#include "autotune/Measure.h"
#include "autotune/Tuner.h"

#include "skim/runtime/Device.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace skim::tune;
namespace rt = skim::rt;

namespace {

int fail(const std::string &message) {
  std::cerr << "skim-tune-measure: error: " << message << "\n";
  return 1;
}

std::string readFile(const std::string &path, bool &ok) {
  std::ifstream in(path, std::ios::binary);
  ok = bool(in);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string quote(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

} // namespace

int main(int argc, char **argv) {
  std::string dir, budget, out;
  MeasureOptions measure;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &v) {
      if (i + 1 >= argc)
        return false;
      v = argv[++i];
      return true;
    };
    std::string repeat;
    if (a == "--budget") {
      if (!value(budget))
        return fail("--budget needs a value");
    } else if (a == "--out") {
      if (!value(out))
        return fail("--out needs a file");
    } else if (a == "--repeat") {
      if (!value(repeat) || std::atoi(repeat.c_str()) < 1)
        return fail("--repeat needs a positive count");
      measure.repeats = std::atoi(repeat.c_str());
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: skim-tune-measure DIR [--budget N|Ns] [--repeat R] "
                   "[--out FILE]\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option '" + a + "'");
    } else if (dir.empty()) {
      dir = a;
    } else {
      return fail("one folder only (got '" + dir + "' and '" + a + "')");
    }
  }
  if (dir.empty())
    return fail("give the folder `skim tune --export` wrote");

  SearchOptions options;
  if (!budget.empty()) {
    bool seconds = budget.back() == 's';
    double v = std::atof(budget.substr(0, budget.size() - seconds).c_str());
    if (!(v > 0))
      return fail("--budget takes trials (40) or seconds (20s), got '" +
                  budget + "'");
    if (seconds)
      options.maxSeconds = v;
    else
      options.maxTrials = int64_t(v);
  }

  bool ok = false;
  std::string text = readFile(dir + "/manifest.txt", ok);
  if (!ok)
    return fail("cannot read " + dir + "/manifest.txt");
  auto manifest = Manifest::parse(text);
  if (!manifest)
    return fail(dir + "/manifest.txt: " + manifest.message());

  std::vector<std::string> notes;
  auto devices = rt::discoverDevices(&notes);
  if (!devices)
    return fail(devices.message());
  bool host = manifest->target == "host";
  rt::Device *device = nullptr;
  for (const auto &d : *devices)
    if ((host && d->kind() == rt::DeviceKind::Cpu) ||
        (!host && d->kind() != rt::DeviceKind::Cpu)) {
      device = d.get();
      break;
    }
  if (!device) {
    std::string why;
    for (const std::string &n : notes)
      why += "; " + n;
    return fail("no device for target " + manifest->target + why);
  }
  auto measurer = Measurer::create(*device, manifest->inputs, measure);
  if (!measurer)
    return fail(measurer.message());
  std::cerr << "measuring " << manifest->variant << " (" << manifest->bucket
            << ") on " << device->name() << ", " << (*measurer)->copies()
            << " input copies\n";

  // Artifacts by (stage, schedule): a config varies one stage.
  std::vector<StageCandidates> stages = manifest->stages();
  auto artifactFor = [&](const Config &config) -> rt::Expected<std::string> {
    const ManifestCandidate *chosen = nullptr;
    for (const ManifestCandidate &c : manifest->candidates) {
      auto it = config.find(c.stage);
      if (it == config.end() || it->second != c.schedule)
        continue;
      // The varied stage's candidate, or any stage's default.
      if (!c.schedule.empty() || !chosen)
        chosen = &c;
    }
    if (!chosen)
      return rt::Error{"no exported artifact for this configuration"};
    if (!chosen->error.empty() || chosen->artifact.empty())
      return rt::Error{chosen->error.empty() ? "not compiled" : chosen->error};
    bool found = false;
    std::string bytes = readFile(dir + "/" + chosen->artifact, found);
    if (!found)
      return rt::Error{"cannot read " + dir + "/" + chosen->artifact};
    return bytes;
  };

  SteadyClock clock;
  double start = clock.seconds();
  size_t total = 0;
  for (const StageCandidates &s : stages)
    total += s.schedules.size();
  std::ostringstream json;
  json << "{\n  \"variant\": " << quote(manifest->variant)
       << ",\n  \"target\": " << quote(manifest->target)
       << ",\n  \"bucket\": " << quote(manifest->bucket)
       << ",\n  \"signature\": " << quote(manifest->signature)
       << ",\n  \"skim_version\": " << quote(manifest->skimVersion)
       << ",\n  \"device\": " << quote(device->name())
       << ",\n  \"driver\": " << quote(device->driver())
       << ",\n  \"budget\": " << quote(budget.empty() ? "all" : budget)
       << ",\n  \"repeat\": " << measure.repeats << ",\n  \"stages\": [";
  for (size_t si = 0; si < stages.size(); ++si) {
    SearchOptions stageOptions = options;
    double share = double(stages[si].schedules.size()) / double(total);
    if (options.maxSeconds > 0)
      stageOptions.maxSeconds = options.maxSeconds * share;
    if (options.maxTrials > 0)
      stageOptions.maxTrials = std::max<int64_t>(
          1, int64_t(std::llround(options.maxTrials * share)));
    stageOptions.progress = [&](const Trial &t, size_t done, size_t planned) {
      std::cerr << "\r" << stages[si].stage << " " << done << "/" << planned
                << "   ";
    };
    SearchResult r = search(
        {stages[si]}, artifactFor,
        [&](const std::string &a) { return (*measurer)->measure(a); }, clock,
        stageOptions);
    std::cerr << "\n";
    json << (si ? "," : "") << "\n    {\"stage\": " << quote(stages[si].stage)
         << ", \"best\": " << quote(r.best[stages[si].stage])
         << ", \"best_ms\": " << number(r.bestMs)
         << ", \"default_ms\": " << number(r.defaultMs)
         << ", \"seconds\": " << number(r.seconds)
         << ", \"budget_reached\": " << (r.budgetExhausted ? "true" : "false")
         << ",\n     \"trials\": [";
    for (size_t i = 0; i < r.trials.size(); ++i) {
      const Trial &t = r.trials[i];
      json << (i ? "," : "") << "\n      {\"index\": " << t.candidate
           << ", \"schedule\": " << quote(t.config.at(t.stage))
           << ", \"predicted_ms\": " << number(t.predictedMs)
           << ", \"ms\": " << number(t.ms);
      if (!t.error.empty())
        json << ", \"error\": " << quote(t.error);
      json << "}";
    }
    json << "]}";
  }
  json << "\n  ],\n  \"seconds\": " << number(clock.seconds() - start)
       << "\n}\n";
  if (out.empty()) {
    std::cout << json.str();
  } else {
    std::ofstream f(out);
    f << json.str();
    if (!f)
      return fail("cannot write " + out);
  }
  return 0;
}
