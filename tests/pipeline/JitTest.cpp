//===- JitTest.cpp - compile once per key, across threads and processes ---===//

#include "Harness.h"

#include "Jit/Jit.h"
#include "Registration/RegisterSkim.h"
#include "autotune/Autotune.h"

#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

using namespace skim;
using namespace skim::testing;

namespace {

const char *kVariant = R"mlir(
  func.func @f(%q: tensor<?x?x2x16xf32>, %k: tensor<?x?x1x16xf32>, %v: tensor<?x?x1x16xf32>)
      -> (tensor<?x?x2x16xf32>, tensor<?x2x?xf32>) {
    %o, %lse = skim.attention %q, %k, %v {mask = #skim.mask<causal, window = 9>}
        : tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>
    return %o, %lse : tensor<?x?x2x16xf32>, tensor<?x2x?xf32>
  })mlir";

/// A fresh cache folder per test.
std::string freshDir(const char *name) {
  char pattern[128];
  std::snprintf(pattern, sizeof(pattern), "/tmp/skim-jit-%s-XXXXXX", name);
  const char *dir = mkdtemp(pattern);
  REQUIRE(dir);
  return dir;
}

/// O and LSE of the variant against the reference for one random problem.
void expectCorrect(const rt::CpuExecutable &exe, unsigned seed) {
  ref::Tensor q = random({1, 33, 2, 16}, seed), k = random({1, 33, 1, 16}, seed + 1),
              v = random({1, 33, 1, 16}, seed + 2);
  auto out = run(exe, {q, k, v}, ElementType::F32, 1);
  REQUIRE(out);
  ref::AttentionParams params;
  params.causal = true;
  params.window = 9;
  auto want = ref::attention(q, k, v, nullptr, nullptr, params);
  REQUIRE(want);
  for (size_t i = 0; i < want->out.data.size(); ++i)
    REQUIRE((*out)[0].data[i] == Approx(want->out.data[i]).margin(1e-5));
}

} // namespace

TEST_CASE("eight threads asking for one variant cause one compile", "[jit]") {
  mlir::skim::JitOptions options;
  options.cacheDir = freshDir("threads");
  mlir::skim::Jit jit(options);
  std::vector<std::shared_ptr<rt::CpuExecutable>> got(8);
  std::vector<std::string> errors(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto exe = jit.getCpuExecutable(kVariant);
      if (exe)
        got[i] = *exe;
      else
        errors[i] = exe.message();
    });
  for (std::thread &t : threads)
    t.join();
  CHECK(jit.compiles() == 1);
  for (int i = 0; i < 8; ++i) {
    INFO("thread " << i << ": " << errors[i]);
    REQUIRE(got[i]);
    CHECK(got[i] == got[0]); // one loaded executable, shared
  }
  expectCorrect(*got[3], 7);

  // A second JIT (a later process, in effect) finds it on disk.
  mlir::skim::Jit later(options);
  auto exe = later.getCpuExecutable(kVariant);
  REQUIRE(exe);
  CHECK(later.compiles() == 0);
  expectCorrect(**exe, 11);
}

TEST_CASE("two processes asking at once cause one compile", "[jit]") {
  std::string dir = freshDir("processes");
  std::string env0 = "SKIM_CACHE_DIR=" + dir, env1 = "SKIM_LOG=info";
  std::vector<char *> env;
  for (char **e = environ; *e; ++e)
    if (std::strncmp(*e, "SKIM_CACHE_DIR=", 15) && std::strncmp(*e, "SKIM_LOG=", 9))
      env.push_back(*e);
  env.push_back(env0.data());
  env.push_back(env1.data());
  env.push_back(nullptr);
  std::vector<pid_t> pids;
  std::vector<std::string> logs;
  for (int p = 0; p < 2; ++p) {
    logs.push_back(dir + "/log" + std::to_string(p));
    std::string redirect = "exec " SKIM_TOOL_PATH
                           " run --variant nsa --seq 300 --heads 4/1 --dim 32 "
                           "--window 64 --check > " + logs.back() + " 2>&1";
    const char *argv[] = {"/bin/sh", "-c", redirect.c_str(), nullptr};
    pid_t pid;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr,
                        const_cast<char *const *>(argv), env.data()) == 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  int compiled = 0, passed = 0;
  for (const std::string &path : logs) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      compiled += line.find("skim: info: compiled variant") != std::string::npos;
      passed += line.find(": PASSED") != std::string::npos;
    }
  }
  CHECK(compiled == 1);
  CHECK(passed == 2);
}

TEST_CASE("a corrupt or truncated cache entry is dropped and rebuilt", "[jit]") {
  mlir::skim::JitOptions options;
  options.cacheDir = freshDir("corrupt");
  std::string path;
  {
    mlir::skim::Jit jit(options);
    REQUIRE(jit.getArtifact(kVariant));
    auto key = jit.cacheKey(kVariant);
    REQUIRE(key);
    path = options.cacheDir + "/" + *key + ".skim";
  }
  for (const char *damage : {"flip", "truncate"}) {
    INFO(damage);
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    REQUIRE(bytes.size() > 100);
    if (std::string(damage) == "flip")
      bytes[bytes.size() / 2] ^= 0x40;
    else
      bytes.resize(bytes.size() / 3);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    mlir::skim::Jit jit(options);
    auto exe = jit.getCpuExecutable(kVariant);
    REQUIRE(exe);
    CHECK(jit.compiles() == 1);
    expectCorrect(**exe, 3);
    CHECK(rt::Artifact::readFile(path)); // rewritten whole
  }
}

TEST_CASE("cache keys see the variant, not its spelling", "[jit]") {
  mlir::skim::JitOptions options;
  options.cacheDir = freshDir("keys");
  mlir::skim::Jit jit(options);
  auto key = jit.cacheKey(kVariant);
  REQUIRE(key);
  CHECK(key->size() == 32);
  // A comment, other indentation and other SSA names: the same variant.
  std::string respelled = std::string("// a comment\n") + kVariant;
  for (size_t at; (at = respelled.find("%lse")) != std::string::npos;)
    respelled.replace(at, 4, "%logsumexp");
  respelled.replace(respelled.find("  func.func"), 11, "func.func");
  auto same = jit.cacheKey(respelled);
  REQUIRE(same);
  CHECK(*same == *key);
  std::string scheduled = kVariant;
  scheduled.replace(scheduled.find("window = 9>}"), 12,
                    "window = 9>, schedule = #skim.schedule<block_m = 16>}");
  auto other = jit.cacheKey(scheduled);
  REQUIRE(other);
  CHECK(*other != *key);
  std::string window = kVariant;
  window.replace(window.find("window = 9"), 10, "window = 8");
  CHECK(*jit.cacheKey(window) != *key);
  // Bad IR is an error with its location, and nothing is cached.
  auto bad = jit.getArtifact("func.func @f() { skim.flash }");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.message(), Catch::Contains("variant.mlir:1:"));
}

TEST_CASE("a compile that gives its sizes uses the tuned schedule", "[jit][tuning]") {
  mlir::skim::JitOptions options;
  options.cacheDir = freshDir("tuned");
  options.tuningDir = options.cacheDir + "/tuning";
  options.tuningDeviceName = "Test CPU";
  options.tuningDriver = "test 1";
  mlir::skim::Jit jit(options);

  // The entry `skim tune` would store for this device and 33 tokens.
  tune::ProblemSizes sizes;
  sizes.tokens = 33;
  tune::TuningCache cache(options.tuningDir);
  tune::TuningKey key;
  {
    mlir::DialectRegistry registry;
    mlir::registerAllDialects(registry);
    mlir::skim::registerSkimDialects(registry);
    mlir::MLIRContext context(registry);
    auto module = mlir::parseSourceString<mlir::ModuleOp>(kVariant, &context);
    REQUIRE(module);
    key = tune::tuningKey(*module, {"Test CPU", "host", "test 1"}, sizes);
  }
  tune::TuningEntry entry;
  entry.key = key;
  entry.stages = {{"attention", "#skim.schedule<block_m = 16, block_n = 32>"}};
  entry.date = "2026-12-02T00:00:00Z";
  REQUIRE_FALSE(llvm::errorToBool(cache.store(entry)));

  auto tuned = jit.withTunedSchedules(kVariant, sizes);
  REQUIRE(tuned);
  CHECK_THAT(*tuned, Catch::Contains("schedule = #skim.schedule<block_m = 16, block_n = 32>"));

  // The same bucket (33 and 64 tokens round to 64) finds it; another does not.
  sizes.tokens = 64;
  CHECK_THAT(*jit.withTunedSchedules(kVariant, sizes), Catch::Contains("block_m = 16"));
  sizes.tokens = 65;
  CHECK_THAT(*jit.withTunedSchedules(kVariant, sizes),
             !Catch::Contains("#skim.schedule"));
  // A schedule written in the variant wins over the cache's.
  sizes.tokens = 33;
  std::string scheduled = kVariant;
  scheduled.replace(scheduled.find("window = 9>}"), 12,
                    "window = 9>, schedule = #skim.schedule<block_m = 32>}");
  auto own = jit.withTunedSchedules(scheduled, sizes);
  REQUIRE(own);
  CHECK_THAT(*own, Catch::Contains("#skim.schedule<block_m = 32>"));
  CHECK_THAT(*own, !Catch::Contains("block_n = 32"));

  // The tuned variant compiles to its own cache entry and computes the same.
  auto exe = jit.getCpuExecutable(kVariant, sizes);
  REQUIRE(exe);
  expectCorrect(**exe, 11);
  CHECK(jit.compiles() == 1);
  auto plain = jit.getCpuExecutable(kVariant);
  REQUIRE(plain);
  CHECK(jit.compiles() == 2);
  CHECK(*jit.cacheKey(*tuned) != *jit.cacheKey(kVariant));

  // A corrupt entry is skipped (a warning in the log): the defaults compile.
  {
    std::ofstream(cache.pathOf(key)) << "{ not json";
  }
  auto skipped = jit.withTunedSchedules(kVariant, sizes);
  REQUIRE(skipped);
  CHECK(*skipped == kVariant);
  auto fallback = jit.getCpuExecutable(kVariant, sizes);
  REQUIRE(fallback);
  CHECK(jit.compiles() == 2); // the plain variant's artifact
}
