//===- SchedulerTest.cpp - the lane emulator's CTA scheduler --------------===//
//
// Lane functions written in C++ against the runtime's C interface, the way
// compiled kernels call it: barriers order shared memory (and a missing one
// shows), warp-wide instructions wait for their warp, a CTA that cannot go on
// is an error rather than a hang, cp.async lands at wait_group, and CTAs run
// on several threads at once.
//
//===----------------------------------------------------------------------===//

#include "skim/emulator/LaneEmulator.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

using namespace skim;

namespace {

/// Runs `fn` as one CTA of `threads` x 1 x 1 with the given argument words.
std::string runCta(SkimEmuLaneFn fn, std::vector<int64_t> args, int64_t threads,
                   int64_t sharedBytes = 1024) {
  (void)emu::takeError();
  skim_emu_run_cta(fn, args.data(), 0, 0, 0, threads, 1, 1, sharedBytes);
  return emu::takeError();
}

template <typename T> T *arg(const int64_t *args, int i) {
  return reinterpret_cast<T *>(args[i]);
}

int64_t word(const void *p) { return reinterpret_cast<int64_t>(p); }

/// Thread t writes t to shared[t], optionally waits at a barrier, and reads
/// shared[t + 1].
void exchange(const int64_t *args, void *lane) {
  auto *out = arg<float>(args, 0);
  int64_t n = args[1];
  bool barrier = args[2] != 0;
  int64_t t = skim_emu_thread_id(lane, 0);
  auto *shared = static_cast<float *>(skim_emu_shared(lane));
  shared[t] = float(t);
  if (barrier)
    skim_emu_barrier(lane);
  out[t] = shared[(t + 1) % n];
}

} // namespace

TEST_CASE("a barrier orders shared memory, and without it the poison shows",
          "[emulator][scheduler]") {
  std::vector<float> out(64);
  REQUIRE(runCta(exchange, {word(out.data()), 64, 1}, 64) == "");
  for (int t = 0; t < 64; ++t)
    CHECK(out[size_t(t)] == float((t + 1) % 64));
  // Threads run in order, each as far as it can: thread t reads slot t + 1
  // before thread t + 1 has written it, and gets the 0xff poison (NaN).
  REQUIRE(runCta(exchange, {word(out.data()), 64, 0}, 64) == "");
  CHECK(std::isnan(out[0]));
  CHECK(std::isnan(out[62]));
  CHECK(out[63] == 0.f);
}

TEST_CASE("thread and block ids over three dimensions", "[emulator][scheduler]") {
  std::vector<int64_t> ids(4 * 2 * 3 * 6, -1);
  auto fn = [](const int64_t *args, void *lane) {
    int64_t *out = arg<int64_t>(args, 0);
    int64_t x = skim_emu_thread_id(lane, 0), y = skim_emu_thread_id(lane, 1),
            z = skim_emu_thread_id(lane, 2);
    int64_t linear = x + 4 * (y + 2 * z);
    for (int d = 0; d < 3; ++d) {
      out[6 * linear + d] = d == 0 ? x : d == 1 ? y : z;
      out[6 * linear + 3 + d] = skim_emu_block_id(lane, d);
    }
  };
  int64_t args[] = {word(ids.data())};
  skim_emu_run_cta(fn, args, 7, 8, 9, 4, 2, 3, 0);
  REQUIRE(emu::takeError() == "");
  // Thread 13 = (1, 1, 1) of a 4 x 2 x 3 block.
  CHECK(ids[6 * 13 + 0] == 1);
  CHECK(ids[6 * 13 + 1] == 1);
  CHECK(ids[6 * 13 + 2] == 1);
  CHECK(ids[6 * 23 + 2] == 2);
  CHECK(ids[6 * 23 + 3] == 7);
  CHECK(ids[6 * 23 + 5] == 9);
}

TEST_CASE("shfl.sync waits for the whole warp", "[emulator][scheduler]") {
  // A butterfly sum over 32 lanes gives every lane the total; two warps.
  std::vector<float> out(64);
  auto fn = [](const int64_t *args, void *lane) {
    float *out = arg<float>(args, 0);
    int64_t t = skim_emu_thread_id(lane, 0);
    float v = float(t);
    for (int offset = 16; offset > 0; offset /= 2) {
      int32_t bits;
      std::memcpy(&bits, &v, 4);
      int64_t r = skim_emu_shfl(lane, /*bfly*/ 2, -1, bits, offset, 0x1f);
      auto got = int32_t(r);
      float other;
      std::memcpy(&other, &got, 4);
      v += other;
    }
    out[t] = v;
  };
  REQUIRE(runCta(fn, {word(out.data())}, 64) == "");
  CHECK(out[0] == 496.f);   // 0 + ... + 31
  CHECK(out[31] == 496.f);
  CHECK(out[32] == 1520.f); // 32 + ... + 63
  CHECK(emu::takeCounters().shfl >= 10);
}

TEST_CASE("threads that exited no longer count at a barrier",
          "[emulator][scheduler]") {
  auto fn = [](const int64_t *, void *lane) {
    if (skim_emu_thread_id(lane, 0) >= 40)
      return;
    skim_emu_barrier(lane);
    skim_emu_barrier(lane);
  };
  CHECK(runCta(fn, {}, 96) == "");
}

TEST_CASE("a CTA that cannot go on is an error naming where threads are",
          "[emulator][scheduler]") {
  SECTION("half a warp at a shuffle, the rest at a barrier") {
    auto fn = [](const int64_t *, void *lane) {
      if (skim_emu_thread_id(lane, 0) < 16)
        skim_emu_shfl(lane, 2, -1, 0, 1, 0x1f);
      else
        skim_emu_barrier(lane);
    };
    std::string error = runCta(fn, {}, 32);
    CHECK(error.find("stuck") != std::string::npos);
    CHECK(error.find("0=shfl.sync") != std::string::npos);
    CHECK(error.find("16=barrier") != std::string::npos);
  }
  SECTION("one warp at two different warp-wide instructions") {
    auto fn = [](const int64_t *, void *lane) {
      alignas(16) static uint16_t row[8];
      int32_t out[4];
      if (skim_emu_thread_id(lane, 0) % 2)
        skim_emu_shfl(lane, 2, -1, 0, 1, 0x1f);
      else
        skim_emu_ldmatrix(lane, row, 1, 0, out);
    };
    std::string error = runCta(fn, {}, 32);
    CHECK(error.find("different instructions") != std::string::npos);
  }
  SECTION("a misaligned ldmatrix row") {
    auto fn = [](const int64_t *, void *lane) {
      alignas(16) static uint16_t rows[8 * 8 + 1];
      int32_t out[4];
      skim_emu_ldmatrix(lane, rows + 1, 1, 0, out);
    };
    CHECK(runCta(fn, {}, 32).find("not 16-byte aligned") != std::string::npos);
  }
  SECTION("mma.sync in a warp of fewer than 32 threads") {
    auto fn = [](const int64_t *, void *lane) {
      float d[4];
      skim_emu_mma_m16n8k16(lane, 1, 0, 0, 0, 0, 0, 0, 0.f, 0.f, 0.f, 0.f, d);
    };
    CHECK(runCta(fn, {}, 48).find("not a multiple of 32") != std::string::npos);
  }
}

TEST_CASE("cp.async lands at wait_group, zero-filling past src-size",
          "[emulator][scheduler]") {
  alignas(16) static float src[4] = {1.f, 2.f, 3.f, 4.f};
  std::vector<float> out(12);
  auto fn = [](const int64_t *args, void *lane) {
    float *out = arg<float>(args, 0);
    if (skim_emu_thread_id(lane, 0) != 0)
      return;
    auto *shared = static_cast<float *>(skim_emu_shared(lane));
    skim_emu_cp_async(lane, shared, src, 16, 16);
    skim_emu_cp_async(lane, shared + 4, src, 16, 4); // one float, then zeros
    skim_emu_cp_async_commit(lane);
    out[0] = shared[0]; // before the wait: still the poison
    skim_emu_cp_async_wait(lane, 0);
    for (int i = 0; i < 8; ++i)
      out[1 + i] = shared[i];
    // A group still pending under wait_group 1 has not landed.
    skim_emu_cp_async(lane, shared + 8, src, 16, 16);
    skim_emu_cp_async_commit(lane);
    skim_emu_cp_async_wait(lane, 1);
    out[9] = shared[8];
    skim_emu_cp_async_wait(lane, 0);
    out[10] = shared[8];
  };
  REQUIRE(runCta(fn, {word(out.data())}, 32) == "");
  CHECK(std::isnan(out[0]));
  CHECK(out[1] == 1.f);
  CHECK(out[4] == 4.f);
  CHECK(out[5] == 1.f);
  CHECK(out[6] == 0.f);
  CHECK(out[8] == 0.f);
  CHECK(std::isnan(out[9]));
  CHECK(out[10] == 1.f);
}

TEST_CASE("CTAs run on several threads at once", "[emulator][scheduler]") {
  std::vector<std::vector<float>> outs(4, std::vector<float>(128));
  std::vector<std::thread> threads;
  for (auto &out : outs)
    threads.emplace_back([&out] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        int64_t args[] = {word(out.data()), 128, 1};
        skim_emu_run_cta(exchange, args, 0, 0, 0, 128, 1, 1, 512);
      }
    });
  for (std::thread &t : threads)
    t.join();
  CHECK(emu::takeError() == "");
  for (auto &out : outs)
    for (int t = 0; t < 128; ++t)
      CHECK(out[size_t(t)] == float((t + 1) % 128));
}
