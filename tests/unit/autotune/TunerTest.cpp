//===- TunerTest.cpp - the search loop on a fake clock --------------------===//
//
// The compiler and the device are stand-ins here: "compiling" a config
// gives its text, "measuring" looks its time up in a table and advances a
// fake clock, so order, budget and failure handling are checked exactly.
//
//===----------------------------------------------------------------------===//

#include "autotune/Tuner.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

using namespace skim::tune;
using skim::rt::Error;
using skim::rt::Expected;

namespace {

class FakeClock : public Clock {
public:
  double now = 100;
  double seconds() override { return now; }
};

std::string text(const Config &c) {
  std::string s;
  for (const auto &e : c)
    s += e.first + "=" + (e.second.empty() ? "default" : e.second) + ";";
  return s;
}

/// Two stages: "a" with candidates default, a1..a3; "b" with default, b1.
std::vector<StageCandidates> twoStages() {
  return {{"a", {"", "a1", "a2", "a3"}, {4, 1, 2, 3}},
          {"b", {"", "b1"}, {1, 0.5}}};
}

/// Time of a config: a's part plus b's part.
double timeOf(const std::string &artifact) {
  static const std::map<std::string, double> a = {
      {"a=default", 10}, {"a=a1", 7}, {"a=a2", 5}, {"a=a3", 12}};
  static const std::map<std::string, double> b = {{"b=default", 3},
                                                  {"b=b1", 1}};
  double t = 0;
  for (const auto &e : a)
    if (artifact.find(e.first + ";") != std::string::npos)
      t += e.second;
  for (const auto &e : b)
    if (artifact.find(e.first + ";") != std::string::npos)
      t += e.second;
  return t;
}

} // namespace

TEST_CASE(
    "the search tries each stage's candidates in order and keeps the best",
    "[tuner]") {
  FakeClock clock;
  std::vector<std::string> measuredOrder;
  SearchResult r = search(
      twoStages(),
      [](const Config &c) -> Expected<std::string> { return text(c); },
      [&](const std::string &a) -> Expected<double> {
        measuredOrder.push_back(a);
        return timeOf(a);
      },
      clock, {});
  // Stage a: four candidates with b at its default; stage b: its default
  // with a's best is the best so far (not measured again), then b1.
  REQUIRE(measuredOrder ==
          std::vector<std::string>{"a=default;b=default;", "a=a1;b=default;",
                                   "a=a2;b=default;", "a=a3;b=default;",
                                   "a=a2;b=b1;"});
  CHECK(r.trials.size() == 5);
  CHECK(r.defaultMs == 13);
  CHECK(r.bestMs == 6);
  CHECK(r.worstMs == 15);
  CHECK(r.best == Config{{"a", "a2"}, {"b", "b1"}});
  CHECK_FALSE(r.budgetExhausted);
  CHECK(r.trials[1].predictedMs == 1);
}

TEST_CASE(
    "a config that fails to compile or run scores +inf and the search goes on",
    "[tuner]") {
  FakeClock clock;
  SearchResult r = search(
      twoStages(),
      [](const Config &c) -> Expected<std::string> {
        if (c.at("a") == "a2")
          return Error{"shared memory: 300 KB"};
        return text(c);
      },
      [](const std::string &a) -> Expected<double> {
        if (a.find("a=a1;") != std::string::npos)
          return Error{"launch failed: too many resources"};
        return timeOf(a);
      },
      clock, {});
  REQUIRE(r.trials.size() == 5);
  CHECK(std::isinf(r.trials[1].ms));
  CHECK(r.trials[1].error == "run: launch failed: too many resources");
  CHECK(std::isinf(r.trials[2].ms));
  CHECK(r.trials[2].error == "compile: shared memory: 300 KB");
  // a3 (12) loses to the default (10): the best keeps a's default.
  CHECK(r.best == Config{{"a", ""}, {"b", "b1"}});
  CHECK(r.bestMs == 11);
  CHECK(r.worstMs == 15);
}

TEST_CASE("a trial budget is shared over the stages by their sizes",
          "[tuner]") {
  FakeClock clock;
  SearchOptions options;
  options.maxTrials = 3;
  int measured = 0;
  SearchResult r = search(
      twoStages(),
      [](const Config &c) -> Expected<std::string> { return text(c); },
      [&](const std::string &a) -> Expected<double> {
        ++measured;
        return timeOf(a);
      },
      clock, options);
  // a gets round(3 · 4/6) = 2 trials (default, a1), b what is left: 1.
  CHECK(measured == 3);
  CHECK(r.budgetExhausted);
  CHECK(r.best == Config{{"a", "a1"}, {"b", "b1"}});
  CHECK(r.bestMs == 8);
}

TEST_CASE("a seconds budget stops the search on the clock", "[tuner]") {
  FakeClock clock;
  SearchOptions options;
  options.maxSeconds = 25;
  int measured = 0;
  SearchResult r = search(
      twoStages(),
      [](const Config &c) -> Expected<std::string> { return text(c); },
      [&](const std::string &a) -> Expected<double> {
        ++measured;
        clock.now += 10; // each measurement takes 10 fake seconds
        return timeOf(a);
      },
      clock, options);
  // A trial starts only if one as long as the last (10 s) still ends in
  // time. a's share ends at 25 · 4/6 ≈ 16.7 s: its first trial runs 0-10,
  // a second would end at 20. b's share ends at 25 s: one trial, 10-20.
  CHECK(measured == 2);
  CHECK(r.budgetExhausted);
  CHECK(r.seconds == 20);
  CHECK(r.seconds <= options.maxSeconds);
}

TEST_CASE("compiles run ahead on worker threads with the same results",
          "[tuner]") {
  FakeClock clock;
  SearchOptions options;
  options.compileThreads = 3;
  std::atomic<int> running{0}, most{0};
  auto measuringThread = std::this_thread::get_id();
  bool measuredElsewhere = false;
  SearchResult r = search(
      twoStages(),
      [&](const Config &c) -> Expected<std::string> {
        int now = ++running;
        int prev = most.load();
        while (now > prev && !most.compare_exchange_weak(prev, now))
          ;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        --running;
        return text(c);
      },
      [&](const std::string &a) -> Expected<double> {
        measuredElsewhere |= std::this_thread::get_id() != measuringThread;
        return timeOf(a);
      },
      clock, options);
  CHECK(most.load() >= 2);
  CHECK_FALSE(measuredElsewhere);
  CHECK(r.best == Config{{"a", "a2"}, {"b", "b1"}});
  CHECK(r.trials.size() == 5);
}
