//===- VariantsTest.cpp - NVIDIA kernels of the variants, emulated --------===//
//
// Each variant is compiled with the NVIDIA lowering (sm_80, the path the
// cubins take) and its kernels run in the lane emulator on seeded random
// inputs, with outputs poisoned first; the results are compared with the
// plain reference as the CPU pipeline tests compare theirs (tests/pipeline,
// same harness). 16-bit attention goes through the tensor-core path, which
// rounds P to the element type before P·V: the tolerance counts that
// (AttentionIR::pRoundoff). The cases are the ones the first NVIDIA path was
// checked with on an H200 (tests/gpu/make_cases.py), made small: odd T and S
// (100, 77, 1), GQA groups of 1 and 4, head dims 64 and 128.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include "Registration/RegisterSkim.h"
#include "skim/emulator/LaneEmulator.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

AttentionIR emulated(int64_t hq, int64_t hkv, int64_t d, ElementType type) {
  AttentionIR ir;
  ir.hq = hq;
  ir.hkv = hkv;
  ir.d = ir.dv = d;
  ir.type = type;
  ir.target = Target::LaneEmulator;
  ir.pRoundoff = type == ElementType::BF16  ? std::ldexp(1.0, -8)
                 : type == ElementType::F16 ? std::ldexp(1.0, -11)
                                            : 0.0;
  return ir;
}

AttentionInputs inputs(const AttentionIR &ir, int64_t batch, int64_t rows,
                       int64_t keys, unsigned seed) {
  AttentionInputs in;
  in.q = input({batch, rows, ir.hq, ir.d}, seed, ir.type, -2.f, 2.f);
  in.k = input({batch, keys, ir.hkv, ir.d}, seed + 1, ir.type);
  in.v = input({batch, keys, ir.hkv, ir.dv}, seed + 2, ir.type);
  return in;
}

/// Random selection lists [B, ceil(T / qBlock), H', N] over the KV blocks,
/// -1 ending some lists early.
ref::IndexTensor selection(const AttentionIR &ir, int64_t batch, int64_t rows,
                           int64_t keys, unsigned seed) {
  int64_t entryRows = (rows + ir.qBlock - 1) / ir.qBlock;
  int64_t blocks = (keys + ir.kvBlock - 1) / ir.kvBlock;
  auto idx = ref::IndexTensor::filled({batch, entryRows, ir.selHeads, ir.entries}, -1);
  std::mt19937 rng(seed);
  for (int32_t &x : idx.data)
    x = int32_t(rng() % uint64_t(blocks + 1)) - 1; // -1 .. blocks - 1
  return idx;
}

/// A comparison that must pass, with no error from the emulator.
void expectClean(const std::string &result) {
  CHECK(result == "");
  CHECK(emu::takeError() == "");
}

/// The variant after skim-lower-tile-to-gpu, as text: what the emulator is
/// about to run.
std::string lowerForNvidia(const std::string &variant, bool sm90a = false) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::skim::registerSkimDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(variant, &context);
  if (!module)
    return "";
  mlir::skim::registerSkimPassesOnce();
  mlir::PassManager pm(&context);
  const char *pipeline =
      sm90a ? "skim-expand-variants,skim-tile{tensor-core-block-m=64 "
              "wgmma-rows=64},skim-lower-tile-to-gpu{wgmma=true tma=true}"
            : "skim-expand-variants,skim-tile,skim-lower-tile-to-gpu";
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm)) ||
      mlir::failed(pm.run(*module)))
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return text;
}

/// NSA's selected branch for one KV head (a group of 16, causal): each
/// token's own list of `entries` 64-key blocks.
AttentionIR perTokenSelection(Target target, int64_t entries) {
  AttentionIR ir = emulated(16, 1, 64, ElementType::BF16);
  ir.target = target;
  ir.causal = true;
  ir.selHeads = 1;
  ir.entries = entries;
  ir.kvBlock = 64;
  ir.qBlock = 1;
  return ir;
}

} // namespace

TEST_CASE("emulated attention: causal, GQA, odd lengths", "[emulator][variants]") {
  for (ElementType type : {ElementType::F32, ElementType::BF16, ElementType::F16}) {
    AttentionIR ir = emulated(8, 2, 64, type);
    ir.causal = true;
    INFO(ir.describe());
    // T > S: the first rows see no key (O = 0, LSE = -inf).
    expectClean(checkAttention(ir, inputs(ir, 1, 100, 77, 10)));
    expectClean(checkAttention(ir, inputs(ir, 2, 77, 100, 20)));
  }
  AttentionIR wide = emulated(2, 2, 128, ElementType::BF16);
  wide.causal = true;
  INFO(wide.describe());
  expectClean(checkAttention(wide, inputs(wide, 1, 100, 100, 30)));
}

TEST_CASE("emulated attention: window + sink", "[emulator][variants]") {
  for (auto [hq, hkv, d, type] :
       {std::tuple{4, 1, 64, ElementType::F32}, std::tuple{2, 2, 128, ElementType::BF16},
        std::tuple{4, 1, 64, ElementType::F16}}) {
    AttentionIR ir = emulated(hq, hkv, d, type);
    ir.causal = true;
    ir.window = 64;
    ir.sink = 4;
    INFO(ir.describe());
    expectClean(checkAttention(ir, inputs(ir, 1, 100, 100, 40)));
  }
}

TEST_CASE("emulated attention: dense GQA and decode", "[emulator][variants]") {
  for (ElementType type : {ElementType::F32, ElementType::BF16, ElementType::F16}) {
    AttentionIR ir = emulated(4, 1, 64, type);
    INFO(ir.describe());
    expectClean(checkAttention(ir, inputs(ir, 2, 100, 77, 50)));
    AttentionIR decode = emulated(2, 2, 128, type);
    INFO(decode.describe());
    expectClean(checkAttention(decode, inputs(decode, 1, 1, 77, 60)));
  }
}

TEST_CASE("emulated attention: given selections", "[emulator][variants]") {
  struct Case {
    int64_t qBlock, rows, keys;
    ElementType type;
  };
  for (Case c : {Case{1, 100, 200, ElementType::F32}, Case{64, 100, 200, ElementType::BF16},
                 Case{1, 1, 300, ElementType::F16}}) {
    AttentionIR ir = emulated(8, 2, 64, c.type);
    ir.causal = true;
    ir.selHeads = 2;
    ir.entries = 4;
    ir.kvBlock = 64;
    ir.qBlock = c.qBlock;
    INFO(ir.describe() << " q_block " << c.qBlock);
    AttentionInputs in = inputs(ir, 1, c.rows, c.keys, 70);
    in.indices = selection(ir, 1, c.rows, c.keys, 71);
    expectClean(checkAttention(ir, in));
  }
}

TEST_CASE("emulated attention: given selections in the KV-major order",
          "[emulator][variants][kv-major]") {
  // NSA's group of 16 (64-row tiles: wgmma on sm_90a) and a group of 4 with
  // per-head lists (16 tokens a tile); counting, listing and the atomic sum
  // of pass 2 run on many emulated CTAs at once.
  struct Case {
    int64_t hq, hkv, selHeads, rows, keys;
    ElementType type;
    Target target;
  };
  for (Case c : {Case{16, 1, 1, 100, 300, ElementType::BF16, Target::LaneEmulatorSm90a},
                 Case{16, 1, 1, 77, 200, ElementType::BF16, Target::LaneEmulator},
                 Case{8, 2, 8, 100, 200, ElementType::F32, Target::LaneEmulator},
                 Case{8, 2, 2, 1, 300, ElementType::F16, Target::LaneEmulatorSm90a}}) {
    AttentionIR ir = emulated(c.hq, c.hkv, 64, c.type);
    ir.target = c.target;
    ir.causal = true;
    ir.selHeads = c.selHeads;
    ir.entries = 6;
    ir.kvBlock = 64;
    ir.qBlock = 1;
    ir.schedule = "order = kv_major";
    INFO(ir.describe() << " target " << int(c.target));
    AttentionInputs in = inputs(ir, 1, c.rows, c.keys, 90);
    in.indices = selection(ir, 1, c.rows, c.keys, 91);
    expectClean(checkAttention(ir, in));
  }
}

TEST_CASE("emulated split-KV decode and its merge", "[emulator][variants][split]") {
  // The parts of every key loop, then the merge: one head a program, every
  // part's O row in one load and their LSEs in one transposed load. More
  // parts than selected blocks leave parts empty (LSE −inf, O 0).
  struct Case {
    ElementType type;
    Target target;
    const char *schedule;
    int64_t batch, rows;
  };
  for (Case c : {Case{ElementType::BF16, Target::LaneEmulatorSm90a,
                      "tokens_per_tile = 1, split_kv = 4", 3, 1},
                 Case{ElementType::BF16, Target::LaneEmulator, "split_kv = 16", 2, 1},
                 Case{ElementType::F32, Target::LaneEmulator, "split_kv = 3", 1, 20}}) {
    AttentionIR ir = emulated(16, 1, 64, c.type);
    ir.target = c.target;
    ir.causal = true;
    ir.selHeads = 1;
    ir.entries = 6;
    ir.kvBlock = 64;
    ir.qBlock = 1;
    ir.schedule = c.schedule;
    INFO(ir.describe() << " " << c.schedule);
    AttentionInputs in = inputs(ir, c.batch, c.rows, 700, 95);
    in.indices = selection(ir, c.batch, c.rows, 700, 96);
    expectClean(checkAttention(ir, in));
  }
}

TEST_CASE("emulated selection tiles in CTAs of fewer than four warps",
          "[emulator][variants][warps]") {
  // A schedule's `warps` sets the CTA exactly on NVIDIA: one warp for a
  // token's 16 rows, two for two tokens' 32; split-KV's merge kernel runs
  // in the same small CTA. A 64-row tile in one warp cannot be wgmma's (a
  // warpgroup) and must still compute the same thing.
  struct Case {
    const char *schedule;
    int64_t rows;
  };
  for (Case c : {Case{"tokens_per_tile = 1, warps = 1", 9},
                 Case{"tokens_per_tile = 1, warps = 1, block_n = 32", 9},
                 Case{"tokens_per_tile = 2, warps = 2", 7},
                 Case{"tokens_per_tile = 1, warps = 1, split_kv = 4", 1},
                 Case{"tokens_per_tile = 4, warps = 1", 5}}) {
    AttentionIR ir = perTokenSelection(Target::LaneEmulatorSm90a, 6);
    ir.schedule = c.schedule;
    INFO(ir.describe() << " " << c.schedule);
    std::string gpu = lowerForNvidia(ir.mlir(), /*sm90a=*/true);
    int64_t warps =
        c.schedule[std::string(c.schedule).find("warps = ") + 8] - '0';
    CHECK(gpu.find("known_block_size = array<i32: " +
                   std::to_string(32 * warps)) != std::string::npos);
    AttentionInputs in = inputs(ir, 1, c.rows, 500, 97);
    in.indices = selection(ir, 1, c.rows, 500, 98);
    expectClean(checkAttention(ir, in));
  }
}

TEST_CASE("emulated 16-bit attention runs the instructions its kernels hold",
          "[emulator][variants]") {
  // Whichever path the lowering takes for a 16-bit gemm (mma.sync, or SIMT
  // loops where it cannot), the emulator must execute exactly that: a kernel
  // with mma.sync and ldmatrix in its IR runs them, one without does not.
  for (ElementType type : {ElementType::BF16, ElementType::F16}) {
    AttentionIR ir = emulated(4, 1, 64, type);
    ir.causal = true;
    INFO(ir.describe());
    std::string gpu = lowerForNvidia(ir.mlir());
    REQUIRE(gpu.find("gpu.func") != std::string::npos);
    bool hasMma = gpu.find("nvvm.mma.sync") != std::string::npos;
    bool hasLdmatrix = gpu.find("nvvm.ldmatrix") != std::string::npos;
    (void)emu::takeCounters();
    CHECK(checkAttention(ir, inputs(ir, 1, 64, 64, 80)) == "");
    CHECK(emu::takeError() == "");
    emu::Counters c = emu::takeCounters();
    CHECK((c.mma > 0) == hasMma);
    CHECK((c.ldmatrix > 0) == hasLdmatrix);
  }
}

TEST_CASE("emulated pool, combine and merge", "[emulator][variants]") {
  for (ElementType type : {ElementType::F32, ElementType::BF16}) {
    std::string t = mlirName(type);
    INFO(t);
    unsigned seed = 90;
    {
      std::string x = tensorType({"?", "?", "2", "64"}, t);
      // 32-key blocks in one chunk, 192-key blocks (MoBA's size class) in
      // three 64-row chunks.
      for (auto [block, stride] : {std::pair{32, 16}, std::pair{192, 96}}) {
        std::string mlir = "func.func @pool(%x: " + x + ") -> " + x +
                           " {\n  %r = skim.pool mean %x {block = " + std::to_string(block) +
                           ", stride = " + std::to_string(stride) + "} : " + x +
                           "\n  return %r : " + x + "\n}\n";
        for (Target target : {Target::LaneEmulator, Target::LaneEmulatorGfx942}) {
          const rt::CpuExecutable &exe = compile(mlir, target);
          ref::Tensor xs = input({2, 500, 2, 64}, seed++, type);
          auto got = run(exe, {xs}, type);
          REQUIRE(got);
          auto want = ref::pool(xs, ref::PoolKind::Mean, block, stride, nullptr, nullptr);
          REQUIRE(want);
          INFO("block " << block << " target " << int(target));
          expectClean(compare("pool", (*got)[0], *want, Tolerance::of(type)));
        }
      }
    }
    {
      std::string o = tensorType({"?", "?", "8", "48"}, t),
                  g = tensorType({"?", "?", "8"}, t);
      std::string mlir = "func.func @combine(%o0: " + o + ", %o1: " + o + ", %g0: " + g +
                         ", %g1: " + g + ") -> " + o +
                         " {\n  %r = skim.combine(%o0, %o1) gates(%g0, %g1) : (" + o +
                         ", " + o + "), (" + g + ", " + g + ")\n  return %r : " + o +
                         "\n}\n";
      const rt::CpuExecutable &exe = compile(mlir, Target::LaneEmulator);
      std::vector<ref::Tensor> outs = {input({2, 77, 8, 48}, seed++, type, -3.f, 3.f),
                                       input({2, 77, 8, 48}, seed++, type, -3.f, 3.f)};
      std::vector<ref::Tensor> gates = {input({2, 77, 8}, seed++, type),
                                        input({2, 77, 8}, seed++, type)};
      auto got = run(exe, {outs[0], outs[1], gates[0], gates[1]}, type);
      REQUIRE(got);
      auto want = ref::combine(outs, gates);
      REQUIRE(want);
      expectClean(compare("combine", (*got)[0], *want, Tolerance::of(type)));
    }
  }
  {
    // The harness gives every float argument the variant's element type, so
    // merge alone runs in f32 (its LSEs are f32 whatever O is); bf16 merges
    // the attention of two key halves inside one variant, below.
    std::string o = tensorType({"?", "?", "4", "64"}, "f32"),
                l = tensorType({"?", "4", "?"}, "f32");
    std::string mlir = "func.func @merge(%o0: " + o + ", %o1: " + o + ", %l0: " + l +
                       ", %l1: " + l + ") -> (" + o + ", " + l +
                       ") {\n  %o, %l = skim.merge(%o0, %o1) lse(%l0, %l1) : (" + o +
                       ", " + o + "), (" + l + ", " + l + ")\n  return %o, %l : " + o +
                       ", " + l + "\n}\n";
    const rt::CpuExecutable &exe = compile(mlir, Target::LaneEmulator);
    std::vector<ref::Tensor> outs = {random({2, 100, 4, 64}, 95, -3.f, 3.f),
                                     random({2, 100, 4, 64}, 96, -3.f, 3.f)};
    std::vector<ref::Tensor> lses = {random({2, 4, 100}, 97, -2.f, 3.f),
                                     random({2, 4, 100}, 98, -2.f, 3.f)};
    // Rows where both partial LSEs are -inf merge to O = 0, LSE = -inf.
    for (size_t i = 0; i < lses[0].data.size(); i += 7)
      lses[0].data[i] = lses[1].data[i] = -INFINITY;
    auto got = run(exe, {outs[0], outs[1], lses[0], lses[1]}, ElementType::F32);
    REQUIRE(got);
    auto want = ref::merge(outs, lses);
    REQUIRE(want);
    expectClean(compare("O", (*got)[0], want->out, Tolerance::f32()));
    CHECK(compare("LSE", (*got)[1], want->lse, Tolerance::f32()) == "");
  }
}

TEST_CASE("emulated split attention merged by LSE", "[emulator][variants]") {
  for (ElementType type : {ElementType::F32, ElementType::BF16}) {
    AttentionIR ir = emulated(4, 2, 64, type);
    std::string q = ir.qType(), k = ir.kType(), v = ir.vType(), o = ir.oType(),
                lse = ir.lseType();
    std::string mlir =
        "func.func @split(%q: " + q + ", %k1: " + k + ", %v1: " + v + ", %k2: " + k +
        ", %v2: " + v + ") -> (" + o + ", " + lse + ") {\n" +
        "  %o1, %l1 = skim.attention %q, %k1, %v1 : " + q + ", " + k + ", " + v + "\n" +
        "  %o2, %l2 = skim.attention %q, %k2, %v2 : " + q + ", " + k + ", " + v + "\n" +
        "  %o, %l = skim.merge(%o1, %o2) lse(%l1, %l2) : (" + o + ", " + o + "), (" +
        lse + ", " + lse + ")\n  return %o, %l : " + o + ", " + lse + "\n}\n";
    const rt::CpuExecutable &exe = compile(mlir, Target::LaneEmulator);
    INFO(mlirName(type));
    ref::Tensor tq = input({1, 77, 4, 64}, 100, type, -2.f, 2.f);
    ref::Tensor k1 = input({1, 60, 2, 64}, 101, type), v1 = input({1, 60, 2, 64}, 102, type);
    ref::Tensor k2 = input({1, 41, 2, 64}, 103, type), v2 = input({1, 41, 2, 64}, 104, type);
    auto got = run(exe, {tq, k1, v1, k2, v2}, type);
    REQUIRE(got);
    // Both halves' keys in order (B = 1: appending along S).
    ref::Tensor kAll = k1, vAll = v1;
    kAll.shape[1] = vAll.shape[1] = 101;
    kAll.data.insert(kAll.data.end(), k2.data.begin(), k2.data.end());
    vAll.data.insert(vAll.data.end(), v2.data.begin(), v2.data.end());
    auto want = ref::attention(tq, kAll, vAll, nullptr, nullptr, {});
    REQUIRE(want);
    // bf16: P rounded in each half (2^-8 of |v| <= 1), each half's O stored
    // in bf16 (2^-8 relative), then merged: within 2^-6 all told.
    Tolerance tol = type == ElementType::F32 ? Tolerance::f32()
                                             : Tolerance{std::ldexp(1.0, -6), 0.0, false};
    expectClean(compare("O", (*got)[0], want->out, tol));
    CHECK(compare("LSE", (*got)[1], want->lse, Tolerance::lse(type)) == "");
  }
}

TEST_CASE("emulated sm_90a attention: wgmma against the reference",
          "[emulator][variants][wgmma]") {
  // The sm_90a kernels: gemms that fill warpgroups run wgmma (register A,
  // B through 128-byte swizzled descriptors, K-major K and N-major V), the
  // rest mma.sync; the emulator reads B from the descriptors as the PTX ISA
  // lays them out. Head dims 64, 128 and 192 (Q in shared memory, A through
  // ldmatrix), 128-row tiles (two slices per warpgroup), eight warps, f16,
  // a window with sinks (two key loops), shared and per-token selections;
  // K and V arrive by TMA boxes completing on mbarriers, as on the GPU.
  // Each also software-pipelined (overlap-softmax: a second score tile,
  // range and selection walks reordered), and warp-specialised (a producer
  // warpgroup issues the TMA copies; the consumers arrive on each tile's
  // empty barrier, which only the split kernels do).
  Target target = GENERATE(Target::LaneEmulatorSm90a,
                           Target::LaneEmulatorSm90aOverlap,
                           Target::LaneEmulatorSm90aWarpSpecialized);
  bool split = target == Target::LaneEmulatorSm90aWarpSpecialized;
  auto hopper = [&](int64_t hq, int64_t hkv, int64_t d, ElementType type) {
    AttentionIR ir = emulated(hq, hkv, d, type);
    ir.target = target;
    ir.causal = true;
    return ir;
  };
  unsigned seed = 300;
  for (auto [hq, hkv, d, type, schedule] :
       {std::tuple{16, 1, 64, ElementType::BF16, ""},
        std::tuple{8, 2, 128, ElementType::BF16, ""},
        std::tuple{4, 1, 192, ElementType::BF16, "block_m = 64"},
        std::tuple{8, 1, 64, ElementType::F16, "block_m = 128, warps = 8"},
        std::tuple{16, 1, 128, ElementType::F16, "block_m = 64, block_n = 128"}}) {
    AttentionIR ir = hopper(hq, hkv, d, type);
    ir.schedule = schedule;
    INFO(ir.describe());
    (void)emu::takeCounters();
    expectClean(checkAttention(ir, inputs(ir, 1, 100, 130, seed += 3)));
    emu::Counters counters = emu::takeCounters();
    CHECK(counters.wgmma > 0);
    CHECK(counters.tma > 0); // K and V by TMA boxes on mbarriers
    CHECK((counters.arrivals > 0) == split);
  }
  AttentionIR window = hopper(8, 2, 64, ElementType::BF16);
  window.window = 50;
  window.sink = 4;
  INFO(window.describe());
  // Two key loops: the sink's last one-ahead K is still in flight when the
  // window's loop asks for its first (the wait-then-reissue path).
  (void)emu::takeCounters();
  expectClean(checkAttention(window, inputs(window, 1, 150, 150, seed += 3)));
  emu::Counters windowCounters = emu::takeCounters();
  CHECK(windowCounters.tma > 0);
  CHECK((windowCounters.arrivals > 0) == split);

  if (target == Target::LaneEmulatorSm90a) {
    // The producer asked for by the schedule (#skim.sm90), FA3's tile: two
    // consumer warpgroups at 240 registers, the producer at 24.
    AttentionIR fa3 = hopper(16, 1, 128, ElementType::BF16);
    fa3.schedule = "block_m = 128, block_n = 128, warps = 8, target = "
                   "#skim.sm90<producer_regs = 24, consumer_regs = 240>";
    INFO(fa3.describe());
    (void)emu::takeCounters();
    expectClean(checkAttention(fa3, inputs(fa3, 2, 200, 260, seed += 3)));
    CHECK(emu::takeCounters().arrivals > 0);
  }

  for (int64_t qBlock : {64, 1}) {
    AttentionIR sel = hopper(16, 1, 64, ElementType::BF16);
    sel.selHeads = 1;
    sel.entries = 3;
    sel.kvBlock = 64;
    sel.qBlock = qBlock;
    INFO(sel.describe() << " q_block " << qBlock);
    AttentionInputs in = inputs(sel, 1, 100, 300, seed += 3);
    in.indices = selection(sel, 1, 100, 300, seed + 1);
    (void)emu::takeCounters();
    expectClean(checkAttention(sel, in));
    emu::Counters counters = emu::takeCounters();
    CHECK(counters.wgmma > 0);
    CHECK(counters.tma > 0);
    UNSCOPED_INFO("split: " << counters.arrivals);
  }
}

TEST_CASE("emulated AMD kernels against the reference", "[emulator][variants][amd]") {
  // The AMD lowering: 16-bit attention on the matrix cores (gfx942's MFMA
  // 32x32x8 and 16x16x16, gfx1100's WMMA on wave32), f32 and selection
  // kernels SIMT, AMD's exp2 and log2, SIMT tiles sized to 64 KB of LDS. The
  // emulator runs the per-lane IR skim-lower-tile-to-gpu{vendor=amd} leaves,
  // with MFMA/WMMA semantics from the ISA (AmdWave.h); only the ROCDL
  // conversion and the code object are left to the assembly checks (lit).
  unsigned seed = 110;
  for (Target target :
       {Target::LaneEmulatorGfx942, Target::LaneEmulatorGfx942Mfma16,
        Target::LaneEmulatorGfx1100, Target::LaneEmulatorGfx1100Wave64}) {
    INFO("target " << int(target));
    for (ElementType type : {ElementType::F32, ElementType::BF16, ElementType::F16}) {
      if (type == ElementType::F16 && target != Target::LaneEmulatorGfx942Mfma16)
        continue;
      bool matrix = type != ElementType::F32;
      AttentionIR ir = emulated(8, 2, 64, type);
      ir.target = target;
      ir.causal = true;
      INFO(ir.describe());
      (void)emu::takeCounters();
      expectClean(checkAttention(ir, inputs(ir, 1, 100, 77, seed += 3)));
      CHECK((emu::takeCounters().amdMatrix > 0) == matrix);
      AttentionIR window = emulated(4, 1, 128, type);
      window.target = target;
      window.causal = true;
      window.window = 64;
      window.sink = 4;
      INFO(window.describe());
      expectClean(checkAttention(window, inputs(window, 2, 90, 90, seed += 3)));
      CHECK((emu::takeCounters().amdMatrix > 0) == matrix);
    }
    // A 16-row tile: one row block for two waves (the second wave skips
    // its matrix instructions) and 16-column key chunks.
    AttentionIR small = emulated(2, 1, 64, ElementType::BF16);
    small.target = target;
    small.schedule = "block_m = 16, block_n = 32";
    INFO(small.describe() << " " << small.schedule);
    expectClean(checkAttention(small, inputs(small, 1, 40, 50, seed += 3)));
  }
  AttentionIR sel = perTokenSelection(Target::LaneEmulatorGfx942, 4);
  INFO(sel.describe());
  AttentionInputs in = inputs(sel, 1, 70, 300, 130);
  in.indices = selection(sel, 1, 70, 300, 131);
  expectClean(checkAttention(sel, in));
  sel.schedule = "block_n = 32, tokens_per_tile = 1, split_kv = 4";
  INFO(sel.schedule);
  AttentionInputs decode = inputs(sel, 3, 1, 700, 140);
  decode.indices = selection(sel, 3, 1, 700, 141);
  expectClean(checkAttention(sel, decode));
}

TEST_CASE("emulated bf16 NSA: the fused compressed stage on tensor cores",
          "[emulator][variants][wgmma]") {
  // The compressed attention's scores stay in mma.sync or wgmma fragments;
  // their probabilities go to a shared tile (a map from a fragment into
  // shared memory), where two SIMT gemms fold them into block scores that
  // every thread adds to the tile's score rows. Against the host on the
  // same inputs: O, and through it the blocks the top-n picked.
  const char *mlir = R"mlir(
    func.func @nsa(%q: tensor<?x?x16x64xbf16>, %k: tensor<?x?x1x64xbf16>, %v: tensor<?x?x1x64xbf16>,
                   %gc: tensor<?x?x16xbf16>, %gs: tensor<?x?x16xbf16>, %gw: tensor<?x?x16xbf16>)
        -> tensor<?x?x16x64xbf16> {
      %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw)
          {cmp_block = 32, cmp_stride = 16, sel_block = 32, num_selected = 5, window = 32}
          : tensor<?x?x16x64xbf16>, keys(tensor<?x?x1x64xbf16>), values(tensor<?x?x1x64xbf16>),
            gates tensor<?x?x16xbf16>
      return %o : tensor<?x?x16x64xbf16>
    })mlir";
  // 45 queries at the end of 330 tokens: 11 selection blocks, 5 kept (three
  // forced), so two are picked by score.
  ElementType bf16 = ElementType::BF16;
  std::vector<Argument> args = {input({1, 45, 16, 64}, 150, bf16, -2.f, 2.f),
                                input({1, 330, 1, 64}, 151, bf16),
                                input({1, 330, 1, 64}, 152, bf16),
                                input({1, 45, 16}, 153, bf16, 0.f, 1.f),
                                input({1, 45, 16}, 154, bf16, 0.f, 1.f),
                                input({1, 45, 16}, 155, bf16, 0.f, 1.f)};
  auto host = run(compile(mlir, Target::Host), args, bf16);
  REQUIRE(host);
  for (bool sm90a : {false, true}) {
    INFO((sm90a ? "sm_90a" : "sm_80"));
    // 64-row tiles (four tokens): mma.sync on sm_80, wgmma on sm_90a.
    std::string gpu = lowerForNvidia(mlir, sm90a);
    size_t stage = gpu.find("gpu.func @skim_k2_nsa_compressed");
    REQUIRE(stage != std::string::npos);
    size_t distribution = gpu.find("skim.distribution = ", stage);
    REQUIRE(distribution != std::string::npos);
    std::string want = sm90a ? "wgmma" : "mma.sync";
    CHECK(gpu.substr(distribution, 22 + want.size()) ==
          "skim.distribution = \"" + want + "\"");
    (void)emu::takeCounters();
    auto got = run(
        compile(mlir, sm90a ? Target::LaneEmulatorSm90a : Target::LaneEmulator),
        args, bf16);
    REQUIRE(got);
    // Each branch's P·V rounds P to bf16 on the tensor cores, not on the
    // host: at most u · max|V| = 2^-8 a branch (ARCHITECTURE.md §7), times
    // a gate below 1, on top of the output's own rounding.
    Tolerance pRounding{3.0 / 256, 0.0, true};
    expectClean(compare("O", (*got)[0], (*host)[0], pRounding));
    emu::Counters c = emu::takeCounters();
    CHECK((sm90a ? c.wgmma : c.mma) > 0);
  }
}
