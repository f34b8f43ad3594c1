//===- Tuner.h - the search: compile, measure, keep the best ----*- C++ -*-===//
//
// Stages are tuned one after another (a variant's stages run one after
// another, so their times add): each stage's candidates are tried in the
// cost model's order, the default first, with the other stages at their
// best so far, and the whole variant is timed. Compiles run on worker
// threads ahead of the measurement, which stays on the calling thread (one
// kernel on the device at a time). A configuration that fails to compile or
// run scores +inf with its reason and the search goes on. The budget, in
// trials or seconds, is shared out over the stages by their sizes; time
// comes from a Clock so tests can run the search on a fake one.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_TUNER_H
#define SKIM_AUTOTUNE_TUNER_H

#include "skim/runtime/Status.h"

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace skim::tune {

/// A schedule for every tuned stage, as `#skim.schedule<...>` text ("" for
/// the compiler's default).
using Config = std::map<std::string, std::string>;

/// One stage's candidates in the order to try them (the default first).
struct StageCandidates {
  std::string stage;
  std::vector<std::string> schedules;
  std::vector<double> predictedMs;
};

struct Trial {
  Config config;
  /// The stage this trial varied and its candidate's position there.
  std::string stage;
  size_t candidate = 0;
  double predictedMs = 0;
  /// Median time, +inf when it failed.
  double ms = std::numeric_limits<double>::infinity();
  std::string error;
};

class Clock {
public:
  virtual ~Clock();
  virtual double seconds() = 0;
};

/// std::chrono::steady_clock.
class SteadyClock : public Clock {
public:
  double seconds() override;
};

struct SearchOptions {
  /// At most this many measurements (0: no limit).
  int64_t maxTrials = 0;
  /// Stop starting measurements after this long (0: no limit).
  double maxSeconds = 0;
  /// Compile threads working ahead of the measurement (0: compile on the
  /// measuring thread, in order: what deterministic tests use).
  unsigned compileThreads = 0;
  /// Called after every trial with the trial and how many are planned.
  std::function<void(const Trial &, size_t done, size_t planned)> progress;
};

struct SearchResult {
  std::vector<Trial> trials;
  /// The best configuration found and its time; the defaults' time.
  Config best;
  double bestMs = std::numeric_limits<double>::infinity();
  double defaultMs = std::numeric_limits<double>::infinity();
  double worstMs = 0;
  double seconds = 0;
  /// The budget ran out before every candidate was tried.
  bool budgetExhausted = false;
};

using CompileFn =
    std::function<skim::rt::Expected<std::string>(const Config &)>;
using MeasureFn =
    std::function<skim::rt::Expected<double>(const std::string &artifact)>;

SearchResult search(const std::vector<StageCandidates> &stages,
                    const CompileFn &compile, const MeasureFn &measure,
                    Clock &clock, const SearchOptions &options);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_TUNER_H
