//===- Tuner.cpp - the search: compile, measure, keep the best ------------===//

#include "autotune/Tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <future>
#include <numeric>

namespace skim::tune {

using skim::rt::Expected;

Clock::~Clock() = default;

double SteadyClock::seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string configKey(const Config &c) {
  std::string key;
  for (const auto &entry : c)
    key += entry.first + "=" + entry.second + ";";
  return key;
}

} // namespace

SearchResult search(const std::vector<StageCandidates> &stages,
                    const CompileFn &compile, const MeasureFn &measure,
                    Clock &clock, const SearchOptions &options) {
  SearchResult result;
  double start = clock.seconds();
  size_t total = 0;
  for (const StageCandidates &s : stages)
    total += s.schedules.size();
  // Stages later in the list see the earlier ones' best: the default
  // config is every stage at "".
  for (const StageCandidates &s : stages)
    result.best[s.stage] = "";

  std::map<std::string, double> measured; // by configKey
  size_t planned = options.maxTrials > 0
                       ? std::min<size_t>(total, size_t(options.maxTrials))
                       : total;
  size_t done = 0;
  // How long the last measured trial took, compile wait included.
  double lastTrialSeconds = 0;
  int64_t trialsLeft = options.maxTrials;

  for (size_t si = 0; si < stages.size(); ++si) {
    const StageCandidates &stage = stages[si];
    // This stage's share of what is left, by its share of the candidates
    // still to come; what it does not use passes on.
    size_t remainingCandidates = 0;
    for (size_t j = si; j < stages.size(); ++j)
      remainingCandidates += stages[j].schedules.size();
    int64_t trialCap = std::numeric_limits<int64_t>::max();
    if (options.maxTrials > 0)
      trialCap = std::max<int64_t>(
          1, int64_t(std::llround(
                 double(trialsLeft) * double(stage.schedules.size()) /
                 double(std::max<size_t>(1, remainingCandidates)))));
    double deadline = std::numeric_limits<double>::infinity();
    if (options.maxSeconds > 0) {
      size_t upTo = total - remainingCandidates + stage.schedules.size();
      deadline = start + options.maxSeconds * double(upTo) / double(total);
    }

    std::vector<Config> configs;
    for (const std::string &schedule : stage.schedules) {
      Config c = result.best;
      c[stage.stage] = schedule;
      configs.push_back(std::move(c));
    }
    // Compiles ahead of the measurement, `compileThreads` at a time.
    std::deque<std::future<Expected<std::string>>> ahead;
    size_t issued = 0;
    auto issue = [&] {
      while (options.compileThreads > 0 && issued < configs.size() &&
             ahead.size() < options.compileThreads) {
        Config c = configs[issued++];
        ahead.push_back(std::async(std::launch::async,
                                   [&compile, c] { return compile(c); }));
      }
    };
    int64_t stageTrials = 0;
    for (size_t ci = 0; ci < configs.size(); ++ci) {
      std::string key = configKey(configs[ci]);
      bool again = measured.count(key) != 0;
      // A trial starts only if one as long as the last still ends in time.
      bool overBudget = stageTrials >= trialCap ||
                        (options.maxTrials > 0 && trialsLeft <= 0) ||
                        clock.seconds() + lastTrialSeconds > deadline;
      if (overBudget && !again) {
        result.budgetExhausted = true;
        break;
      }
      issue();
      double trialStart = clock.seconds();
      Expected<std::string> artifact = std::string();
      if (!again) {
        if (options.compileThreads > 0) {
          artifact = ahead.front().get();
          ahead.pop_front();
        } else {
          artifact = compile(configs[ci]);
        }
      } else if (options.compileThreads > 0 && ci < issued) {
        ahead.pop_front();
      }
      Trial trial;
      trial.config = configs[ci];
      trial.stage = stage.stage;
      trial.candidate = ci;
      trial.predictedMs =
          ci < stage.predictedMs.size() ? stage.predictedMs[ci] : 0;
      if (again) {
        // The stage's default with the earlier stages' best: measured
        // already, as the best so far.
        trial.ms = measured[key];
      } else if (!artifact) {
        trial.error = "compile: " + artifact.message();
      } else {
        Expected<double> ms = measure(*artifact);
        if (ms && std::isfinite(*ms))
          trial.ms = *ms;
        else
          trial.error = ms ? "not a finite time" : "run: " + ms.message();
        measured[key] = trial.ms;
        ++stageTrials;
        --trialsLeft;
        lastTrialSeconds = clock.seconds() - trialStart;
      }
      if (si == 0 && ci == 0)
        result.defaultMs = trial.ms;
      if (trial.ms < result.bestMs) {
        result.bestMs = trial.ms;
        result.best = trial.config;
      }
      if (std::isfinite(trial.ms))
        result.worstMs = std::max(result.worstMs, trial.ms);
      if (!again)
        result.trials.push_back(trial);
      ++done;
      if (options.progress)
        options.progress(trial, done, planned);
    }
    // Compiles already started finish before the next stage (their
    // futures join here); their results are not needed.
    ahead.clear();
  }
  result.seconds = clock.seconds() - start;
  return result;
}

} // namespace skim::tune
