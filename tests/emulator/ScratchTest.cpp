//===- ScratchTest.cpp - NSA, MoBA and top-k kernels, emulated ------------===//
//
// The kernels that keep a score row per tile (NSA's fused compressed
// attention + top-n, MoBA's fused scores + top-k, standalone top-k) run on
// the NVIDIA lowering as thread 0's statements over a global scratch slot
// taken from a pool (compiler/Conversion/TileToNVVM/ScalarCode.cpp). Here
// their threads run in the lane emulator: top-k against the reference
// exactly (ties, −inf, NaN and +inf in the scores), NSA and MoBA against
// the same variant compiled for the host, on the same inputs. Shapes are
// small (the emulator runs every thread) but give more blocks than the
// selection keeps, so blocks are chosen by score.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include "skim/emulator/LaneEmulator.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

/// Runs `mlir` on the host and in the lane emulator on the same inputs: ""
/// when every output agrees within f32 rounding and the emulator saw no
/// error.
std::string hostVersusEmulated(const std::string &mlir,
                               const std::vector<Argument> &args,
                               Target target = Target::LaneEmulator) {
  auto host = run(compile(mlir, Target::Host), args, ElementType::F32);
  auto emulated = run(compile(mlir, target), args, ElementType::F32);
  if (!host || !emulated)
    return "run failed: " + host.message() + emulated.message();
  std::string error = emu::takeError();
  if (!error.empty())
    return "emulator: " + error;
  for (size_t i = 0; i < host->size(); ++i)
    if (std::string msg = compare("output " + std::to_string(i), (*emulated)[i],
                                  (*host)[i], Tolerance::f32());
        !msg.empty())
      return msg;
  return "";
}

} // namespace

TEST_CASE("emulated top-k over global scratch rows", "[emulator][scratch]") {
  const char *mlir = R"mlir(
    func.func @topk(%s: tensor<?x?x3x?xf32>, %raw: tensor<?x?xf32>)
        -> (tensor<?x?x3x5xi32>, tensor<?x?x3xi32>) {
      %c1 = arith.constant 1 : index
      %L = tensor.dim %raw, %c1 : tensor<?x?xf32>
      %i, %c = skim.topk %s kv_tokens(%L) {n = 5, block = 16, force_first = 1, force_last = 2}
          : tensor<?x?x3x?xf32>
      return %i, %c : tensor<?x?x3x5xi32>, tensor<?x?x3xi32>
    })mlir";
  const rt::CpuExecutable &exe = compile(mlir, Target::LaneEmulator);
  // T = 40 rows over L = 200 tokens: 13 blocks of 16, up to 13 visible.
  ref::Tensor scores = random({2, 40, 3, 13}, 1);
  std::mt19937 rng(2);
  for (float &x : scores.data) {
    unsigned pick = rng() % 10;
    x = pick == 0   ? -INFINITY
        : pick == 1 ? NAN
        : pick == 2 ? INFINITY
        : pick < 5  ? 0.5f // exact ties
                    : x;
  }
  auto got = run(exe, {scores, random({1, 200}, 3)}, ElementType::F32);
  REQUIRE(got);
  CHECK(emu::takeError() == "");
  auto want = ref::topk(scores, 200, 16, 5, 1, 2);
  REQUIRE(want);
  CHECK(compareExact("indices", (*got)[0], want->indices) == "");
  CHECK(compareExact("counts", (*got)[1], want->counts) == "");
}

TEST_CASE("emulated MoBA: fused scores and top-k over global scratch rows",
          "[emulator][scratch]") {
  const char *mlir = R"mlir(
    func.func @moba(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>)
        -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>) {
      %o, %lse = skim.moba %q, %k, %v {block = 16, top_k = 3}
          : tensor<?x?x4x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>
      return %o, %lse : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>
    })mlir";
  // Chunked prefill: 40 queries at the end of 130 tokens, 8 complete blocks.
  CHECK(hostVersusEmulated(mlir, {random({1, 40, 4, 32}, 10, -2.f, 2.f),
                                  random({1, 130, 2, 32}, 11),
                                  random({1, 130, 2, 32}, 12)}) == "");
}

TEST_CASE("emulated NSA: fused compressed attention and top-n over global "
          "scratch rows",
          "[emulator][scratch]") {
  const char *mlir = R"mlir(
    func.func @nsa(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>,
                   %gc: tensor<?x?x4xf32>, %gs: tensor<?x?x4xf32>, %gw: tensor<?x?x4xf32>)
        -> tensor<?x?x4x32xf32> {
      %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw)
          {cmp_block = 16, cmp_stride = 16, sel_block = 16, num_selected = 3, window = 32}
          : tensor<?x?x4x32xf32>, keys(tensor<?x?x2x32xf32>), values(tensor<?x?x2x32xf32>),
            gates tensor<?x?x4xf32>
      return %o : tensor<?x?x4x32xf32>
    })mlir";
  // 30 queries at the end of 110 tokens: up to 7 selection blocks, 3 kept.
  CHECK(hostVersusEmulated(mlir, {random({1, 30, 4, 32}, 20, -2.f, 2.f),
                                  random({1, 110, 2, 32}, 21),
                                  random({1, 110, 2, 32}, 22),
                                  random({1, 30, 4}, 23, 0.f, 1.f),
                                  random({1, 30, 4}, 24, 0.f, 1.f),
                                  random({1, 30, 4}, 25, 0.f, 1.f)}) == "");
}

TEST_CASE("emulated NSA and MoBA on gfx942, tiles in half the LDS",
          "[emulator][scratch][amd]") {
  // At D = 128 in f32 the AMD defaults shrink the SIMT tiles to 32 KB of LDS
  // (two workgroups of four waves a CU): NSA's fused compressed stage to
  // 16 x 8, MoBA's scores to 32 rows and 16 keys a chunk, its mean pool to
  // 32-row chunks, the selection attention to 16 x 8.
  const char *nsa = R"mlir(
    func.func @nsa(%q: tensor<?x?x16x128xf32>, %k: tensor<?x?x1x128xf32>, %v: tensor<?x?x1x128xf32>,
                   %gc: tensor<?x?x16xf32>, %gs: tensor<?x?x16xf32>, %gw: tensor<?x?x16xf32>)
        -> tensor<?x?x16x128xf32> {
      %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw)
          {cmp_block = 16, cmp_stride = 16, sel_block = 32, num_selected = 4, window = 24}
          : tensor<?x?x16x128xf32>, keys(tensor<?x?x1x128xf32>), values(tensor<?x?x1x128xf32>),
            gates tensor<?x?x16xf32>
      return %o : tensor<?x?x16x128xf32>
    })mlir";
  CHECK(
      hostVersusEmulated(
          nsa,
          {random({1, 9, 16, 128}, 30, -1.f, 1.f), random({1, 100, 1, 128}, 31),
           random({1, 100, 1, 128}, 32), random({1, 9, 16}, 33, 0.f, 1.f),
           random({1, 9, 16}, 34, 0.f, 1.f), random({1, 9, 16}, 35, 0.f, 1.f)},
          Target::LaneEmulatorGfx942) == "");
  const char *moba = R"mlir(
    func.func @moba(%q: tensor<?x?x8x128xf32>, %k: tensor<?x?x2x128xf32>, %v: tensor<?x?x2x128xf32>)
        -> (tensor<?x?x8x128xf32>, tensor<?x8x?xf32>) {
      %o, %lse = skim.moba %q, %k, %v {block = 64, top_k = 2}
          : tensor<?x?x8x128xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>
      return %o, %lse : tensor<?x?x8x128xf32>, tensor<?x8x?xf32>
    })mlir";
  // 12 queries at the end of 300 tokens: 4 complete 64-token blocks.
  CHECK(hostVersusEmulated(moba,
                           {random({1, 12, 8, 128}, 40, -1.f, 1.f),
                            random({1, 300, 2, 128}, 41),
                            random({1, 300, 2, 128}, 42)},
                           Target::LaneEmulatorGfx942) == "");
}
