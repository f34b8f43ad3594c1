//===- BadInputTest.cpp - bad inputs and bad variants are clear errors ----===//
//
// Runtime: run() refuses inputs that do not fit the compiled variant (count,
// rank, element type, static dims, shapes that disagree with each other)
// with a message naming the input, before any kernel runs. Compiler:
// variants that break a rule fail to compile with a message naming it.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

using Catch::Matchers::Contains;

namespace {

/// Runs and expects an error whose message contains every one of `parts`.
void expectRunError(const rt::CpuExecutable &exe,
                    const std::vector<Argument> &args, ElementType type,
                    std::initializer_list<const char *> parts) {
  auto got = run(exe, args, type);
  REQUIRE_FALSE(got);
  INFO("message: " << got.message());
  for (const char *part : parts)
    CHECK_THAT(got.message(), Contains(part));
}

/// Expects a compile error whose diagnostics contain every one of `parts`.
void expectCompileError(const std::string &mlir,
                        std::initializer_list<const char *> parts) {
  std::string error = compileError(mlir);
  INFO("source:\n" << mlir);
  REQUIRE(error != "");
  for (const char *part : parts)
    CHECK_THAT(error, Contains(part));
}

AttentionIR causalIR() {
  AttentionIR ir;
  ir.hq = 4, ir.hkv = 2, ir.d = 32, ir.dv = 32;
  ir.causal = true;
  return ir;
}

} // namespace

TEST_CASE("run refuses inputs that do not fit the variant",
          "[pipeline][bad-input]") {
  AttentionIR ir = causalIR();
  const rt::CpuExecutable *exe = load(ir.mlir());
  REQUIRE(exe);
  ref::Tensor q = random({2, 10, 4, 32}, 1), k = random({2, 12, 2, 32}, 2),
              v = random({2, 12, 2, 32}, 3);
  // The good call works, so each failure below is the one change's fault.
  REQUIRE(run(*exe, {q, k, v}, ElementType::F32));

  SECTION("wrong number of inputs") {
    expectRunError(*exe, {q, k}, ElementType::F32,
                   {"expected 3 inputs, got 2"});
    expectRunError(*exe, {q, k, v, v}, ElementType::F32,
                   {"expected 3 inputs, got 4"});
  }
  SECTION("wrong rank") {
    ref::Tensor q3 = random({2, 10, 128}, 4);
    expectRunError(*exe, {q3, k, v}, ElementType::F32,
                   {"input #0", "rank 3", "expected 4"});
    ref::Tensor v5 = random({1, 2, 12, 2, 32}, 5);
    expectRunError(*exe, {q, k, v5}, ElementType::F32,
                   {"input #2", "rank 5", "expected 4"});
  }
  SECTION("wrong element type") {
    // bf16 data for an f32 variant, and i32 data where floats belong.
    expectRunError(*exe, {q, k, v}, ElementType::BF16,
                   {"input #0", "element type bf16", "expected f32"});
    ref::IndexTensor asInts = ref::IndexTensor::filled({2, 12, 2, 32}, 1);
    expectRunError(*exe, {q, asInts, v}, ElementType::F32,
                   {"input #1", "element type i32", "expected f32"});
  }
  SECTION("a static dim that differs") {
    ref::Tensor q3heads = random({2, 10, 3, 32}, 6);
    expectRunError(*exe, {q3heads, k, v}, ElementType::F32,
                   {"input #0", "dim 2 is 3", "expected 4"});
    ref::Tensor k64 = random({2, 12, 2, 64}, 7);
    expectRunError(*exe, {q, k64, v}, ElementType::F32,
                   {"input #1", "dim 3 is 64", "expected 32"});
    ref::Tensor v1head = random({2, 12, 1, 32}, 8);
    expectRunError(*exe, {q, k, v1head}, ElementType::F32,
                   {"input #2", "dim 2 is 1", "expected 2"});
  }
  SECTION("shapes that disagree with each other") {
    ref::Tensor vLonger = random({2, 13, 2, 32}, 9),
                vShorter = random({2, 11, 2, 32}, 10);
    expectRunError(*exe, {q, k, vLonger}, ElementType::F32,
                   {"value.S", "key.S", "13 vs 12"});
    expectRunError(*exe, {q, k, vShorter}, ElementType::F32,
                   {"value.S", "key.S", "11 vs 12"});
    ref::Tensor k1 = random({1, 12, 2, 32}, 11),
                v1 = random({1, 12, 2, 32}, 12);
    expectRunError(*exe, {q, k1, v1}, ElementType::F32,
                   {"key.B", "query.B", "1 vs 2"});
    ref::Tensor v1batch = random({1, 12, 2, 32}, 13);
    expectRunError(*exe, {q, k, v1batch}, ElementType::F32,
                   {"value.B", "query.B"});
  }
}

TEST_CASE("run refuses selections that do not fit the query",
          "[pipeline][bad-input]") {
  AttentionIR ir = causalIR();
  ir.selHeads = 2, ir.entries = 3, ir.kvBlock = 64, ir.qBlock = 64,
  ir.counts = true;
  const rt::CpuExecutable *exe = load(ir.mlir());
  REQUIRE(exe);
  ref::Tensor q = random({2, 100, 4, 32}, 1), k = random({2, 300, 2, 32}, 2),
              v = random({2, 300, 2, 32}, 3);
  // T = 100 rows in tiles of 64: 2 selection rows.
  ref::IndexTensor idx = ref::IndexTensor::filled({2, 2, 2, 3}, 0);
  ref::IndexTensor cnt = ref::IndexTensor::filled({2, 2, 2}, 1);
  REQUIRE(run(*exe, {q, k, v, idx, cnt}, ElementType::F32));

  ref::IndexTensor idxRows = ref::IndexTensor::filled({2, 3, 2, 3}, 0);
  ref::IndexTensor cntRows = ref::IndexTensor::filled({2, 3, 2}, 1);
  expectRunError(*exe, {q, k, v, idxRows, cntRows}, ElementType::F32,
                 {"indices"});
  ref::IndexTensor idxBatch = ref::IndexTensor::filled({1, 2, 2, 3}, 0);
  ref::IndexTensor cntBatch = ref::IndexTensor::filled({1, 2, 2}, 1);
  expectRunError(*exe, {q, k, v, idxBatch, cntBatch}, ElementType::F32,
                 {"indices"});
  ref::IndexTensor cntShort = ref::IndexTensor::filled({2, 1, 2}, 1);
  expectRunError(*exe, {q, k, v, idx, cntShort}, ElementType::F32, {"counts"});
  ref::IndexTensor idxHeads = ref::IndexTensor::filled({2, 2, 4, 3}, 0);
  expectRunError(*exe, {q, k, v, idxHeads, cnt}, ElementType::F32,
                 {"input #3", "dim 2 is 4", "expected 2"});
  // Floats where indices belong.
  ref::Tensor idxFloats = random({2, 2, 2, 3}, 4);
  expectRunError(*exe, {q, k, v, idxFloats, cnt}, ElementType::F32,
                 {"input #3", "element type f32", "expected i32"});
}

TEST_CASE("run refuses bad inputs of the other ops", "[pipeline][bad-input]") {
  SECTION("combine: a gate of another length") {
    std::string o = "tensor<?x?x4x32xf32>", g = "tensor<?x?x4xf32>";
    std::string mlir = "func.func @c(%a: " + o + ", %b: " + o + ", %ga: " + g +
                       ", %gb: " + g + ") -> " + o +
                       " {\n  %r = skim.combine(%a, %b) gates(%ga, %gb) : (" +
                       o + ", " + o + "), (" + g + ", " + g +
                       ")\n  return %r : " + o + "\n}\n";
    const rt::CpuExecutable *exe = load(mlir);
    REQUIRE(exe);
    ref::Tensor a = random({1, 9, 4, 32}, 1), b = random({1, 9, 4, 32}, 2);
    ref::Tensor ga = random({1, 9, 4}, 3), gb = random({1, 9, 4}, 4),
                gShort = random({1, 8, 4}, 5);
    REQUIRE(run(*exe, {a, b, ga, gb}, ElementType::F32));
    ref::Tensor bLong = random({1, 10, 4, 32}, 6);
    expectRunError(*exe, {a, bLong, ga, gb}, ElementType::F32,
                   {"inputs disagree"});
    expectRunError(*exe, {a, b, ga, gShort}, ElementType::F32,
                   {"inputs disagree"});
  }
  SECTION("merge: an LSE of another length") {
    std::string o = "tensor<?x?x4x32xf32>", l = "tensor<?x4x?xf32>";
    std::string mlir = "func.func @m(%a: " + o + ", %b: " + o + ", %la: " + l +
                       ", %lb: " + l + ") -> (" + o + ", " + l +
                       ") {\n  %o, %l = skim.merge(%a, %b) lse(%la, %lb) : (" +
                       o + ", " + o + "), (" + l + ", " + l +
                       ")\n  return %o, %l : " + o + ", " + l + "\n}\n";
    const rt::CpuExecutable *exe = load(mlir);
    REQUIRE(exe);
    ref::Tensor a = random({2, 9, 4, 32}, 1), b = random({2, 9, 4, 32}, 2);
    ref::Tensor la = random({2, 4, 9}, 3), lb = random({2, 4, 9}, 4),
                lShort = random({2, 4, 7}, 5);
    REQUIRE(run(*exe, {a, b, la, lb}, ElementType::F32));
    expectRunError(*exe, {a, b, la, lShort}, ElementType::F32,
                   {"inputs disagree"});
  }
}

TEST_CASE("run refuses topk scores whose block count does not match kv_tokens",
          "[pipeline][bad-input]") {
  // Scores are [B, T, H, ceil(L / block)]; with a dynamic block count the
  // runtime must compare it with kv_tokens (the verifier can only do so
  // for a constant kv_tokens). Regression: such scores used to run, with
  // blocks past the last score never selectable (fixed in b338f29).
  std::string s = "tensor<?x?x2x?xf32>";
  std::string mlir =
      "func.func @t(%s: " + s +
      ", %raw: tensor<?x?xf32>) -> (tensor<?x?x2x4xi32>, "
      "tensor<?x?x2xi32>) {\n  %c1 = arith.constant 1 : index\n"
      "  %L = tensor.dim %raw, %c1 : tensor<?x?xf32>\n"
      "  %i, %c = skim.topk %s kv_tokens(%L) {n = 4, block = 64} : " +
      s +
      "\n"
      "  return %i, %c : tensor<?x?x2x4xi32>, tensor<?x?x2xi32>\n}\n";
  const rt::CpuExecutable *exe = load(mlir);
  REQUIRE(exe);
  ref::Tensor raw = random({1, 1000}, 1);
  // 1000 tokens are 16 blocks of 64.
  REQUIRE(run(*exe, {random({1, 10, 2, 16}, 2), raw}, ElementType::F32));
  auto fewer = run(*exe, {random({1, 10, 2, 9}, 3), raw}, ElementType::F32);
  REQUIRE_FALSE(fewer);
  CHECK_THAT(fewer.message(), Contains("scores") && Contains("kv_tokens") &&
                                  Contains("9 vs 16"));
}

TEST_CASE("compile errors name the rule a variant breaks",
          "[pipeline][bad-input]") {
  AttentionIR ir = causalIR();
  const std::string good = ir.mlir();
  REQUIRE(compileError(good) == "");
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string s = good;
    size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    while (at != std::string::npos) {
      s.replace(at, from.size(), to);
      at = s.find(from, at + to.size());
    }
    return s;
  };

  SECTION("a scale that is not finite") {
    expectCompileError(
        replaced("{mask = #skim.mask<causal>}",
                 "{mask = #skim.mask<causal>, scale = 0x7F800000 : f32}"),
        {"scale", "finite"});
    expectCompileError(
        replaced("{mask = #skim.mask<causal>}",
                 "{mask = #skim.mask<causal>, scale = 0x7FC00000 : f32}"),
        {"scale", "finite"});
    expectCompileError(
        replaced("{mask = #skim.mask<causal>}",
                 "{mask = #skim.mask<causal>, softcap = 0.0 : f32}"),
        {"softcap"});
  }
  SECTION("a dynamic Hq, D or N") {
    std::string dynamicHq = replaced("?x?x4x32xf32", "?x?x?x32xf32");
    size_t lse = dynamicHq.find("tensor<?x4x?xf32>");
    while (lse != std::string::npos) {
      dynamicHq.replace(lse, 17, "tensor<?x?x?xf32>");
      lse = dynamicHq.find("tensor<?x4x?xf32>");
    }
    expectCompileError(dynamicHq, {"static Hq"});
    expectCompileError(replaced("x32xf32", "x?xf32"), {"static head dim"});
    AttentionIR sel = causalIR();
    sel.selHeads = 2, sel.entries = 3, sel.kvBlock = 64;
    std::string text = sel.mlir();
    std::string from = "tensor<?x?x2x3xi32>", to = "tensor<?x?x2x?xi32>";
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at))
      text.replace(at, from.size(), to);
    expectCompileError(text, {"static selection size N"});
  }
  SECTION("Hq not a multiple of Hkv") {
    AttentionIR bad = causalIR();
    bad.hq = 6, bad.hkv = 4;
    expectCompileError(bad.mlir(), {"Hq = 6", "multiple", "Hkv = 4"});
  }
  SECTION("selection operands that do not go together") {
    AttentionIR sel = causalIR();
    sel.selHeads = 2, sel.entries = 3, sel.kvBlock = 64;
    std::string text = sel.mlir();
    size_t at = text.find(", kv_block = 64");
    REQUIRE(at != std::string::npos);
    text.erase(at, std::string(", kv_block = 64").size());
    expectCompileError(text, {"kv_block"});
    AttentionIR heads = causalIR();
    heads.selHeads = 3, heads.entries = 3, heads.kvBlock = 64;
    expectCompileError(heads.mlir(), {"H'", "Hkv = 2", "Hq = 4"});
  }
  SECTION("kv_tokens that is not a size the plan knows") {
    std::string text = good;
    text.replace(text.find("%v: tensor<?x?x2x32xf32>"),
                 std::string("%v: tensor<?x?x2x32xf32>").size(),
                 "%v: tensor<?x?x2x32xf32>, %L: index");
    text.replace(text.find("%k, %v {"), std::string("%k, %v {").size(),
                 "%k, %v kv_tokens(%L) {");
    expectCompileError(text, {"ranked tensors"});
    AttentionIR neg = causalIR();
    neg.kvTokens = KvTokens::Constant, neg.kvTokensConstant = -5;
    expectCompileError(neg.mlir(), {"kv_tokens", ">= 0"});
  }
  SECTION("topk and moba attributes out of range") {
    std::string s = "tensor<?x?x2x?xf32>";
    expectCompileError("func.func @t(%s: " + s +
                           ", %raw: tensor<?x?xf32>) -> tensor<?x?x2xi32> {\n"
                           "  %c1 = arith.constant 1 : index\n"
                           "  %L = tensor.dim %raw, %c1 : tensor<?x?xf32>\n"
                           "  %i, %c = skim.topk %s kv_tokens(%L) {n = 2, "
                           "block = 64, force_first = 1, "
                           "force_last = 2} : " +
                           s + "\n  return %c : tensor<?x?x2xi32>\n}\n",
                       {"n = 2", "force_first + force_last = 3"});
    std::string q = "tensor<?x?x4x32xf32>", k = "tensor<?x?x2x32xf32>";
    expectCompileError(
        "func.func @m(%q: " + q + ", %k: " + k + ", %v: " + k + ") -> " + q +
            " {\n  %o, %l = skim.moba %q, %k, %v {block = 64, top_k = 0} : " +
            q + ", " + k + ", " + k + "\n  return %o : " + q + "\n}\n",
        {"top_k", "> 0"});
  }
}
