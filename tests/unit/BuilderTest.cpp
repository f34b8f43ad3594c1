//===- BuilderTest.cpp - builders, shape inference and expansion ----------===//

#include "TestContext.h"

#include "Skim/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <catch2/catch.hpp>

using namespace mlir;
using namespace mlir::skim;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// A function whose arguments have the given types, with a builder at the
/// start of its body, so ops can be created from block arguments.
struct Harness {
  OpBuilder b;
  OwningOpRef<ModuleOp> module;
  Block *body = nullptr;

  Harness(testing::TestContext &t, ArrayRef<Type> argTypes)
      : b(&t.context) {
    Location loc = b.getUnknownLoc();
    module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    auto fn = func::FuncOp::create(b, loc, "f", b.getFunctionType(argTypes, {}));
    body = fn.addEntryBlock();
    b.setInsertionPointToEnd(body);
  }
  Value arg(unsigned i) { return body->getArgument(i); }
};

} // namespace

TEST_CASE("attention infers O [B,T,Hq,Dv] and LSE [B,Hq,T] f32", "[builder]") {
  testing::TestContext t;
  Type he = BFloat16Type::get(&t.context);
  Harness h2(t, {RankedTensorType::get({2, kDyn, 16, 192}, he),
              RankedTensorType::get({2, kDyn, 2, 192}, he),
              RankedTensorType::get({2, kDyn, 2, 128}, he)});
  Location loc = h2.b.getUnknownLoc();
  auto op = AttentionOp::create(
      h2.b, loc, h2.arg(0), h2.arg(1), h2.arg(2), Value(), Value(), Value(),
      MaskAttr::get(&t.context, true, 0, 0), FloatAttr(), FloatAttr(),
      /*key_stride=*/1, /*key_offset=*/0, IntegerAttr(), /*q_block=*/1,
      ScheduleAttr());
  auto out = cast<RankedTensorType>(op.getOut().getType());
  auto lse = cast<RankedTensorType>(op.getLse().getType());
  CHECK(out.getShape() == ArrayRef<int64_t>{2, kDyn, 16, 128});
  CHECK(out.getElementType() == he);
  CHECK(lse.getShape() == ArrayRef<int64_t>{2, 16, kDyn});
  CHECK(lse.getElementType().isF32());
  CHECK(succeeded(verify(op)));
  // Dk = 192, D = 192: the default scale is 1/sqrt(192).
  CHECK(op.getScaleOrDefault() == Approx(1.0 / std::sqrt(192.0)));
  CHECK(op.getMaskOrDefault().getCausal());
}

TEST_CASE("pool infers the number of complete blocks", "[builder]") {
  testing::TestContext t;
  Type e = Float32Type::get(&t.context);
  struct Case {
    int64_t s, block, stride, blocks;
  } cases[] = {{8192, 32, 16, 511}, {31, 32, 16, 0}, {32, 32, 16, 1},
               {47, 32, 16, 1},     {48, 32, 16, 2}, {1000, 512, 512, 1},
               {kDyn, 32, 16, kDyn}};
  for (const Case &c : cases) {
    Harness h(t, {RankedTensorType::get({1, c.s, 4, 64}, e)});
    auto op = PoolOp::create(h.b, h.b.getUnknownLoc(), PoolKind::mean, h.arg(0),
                             Value(), Value(), c.block, c.stride, ScheduleAttr());
    auto type = cast<RankedTensorType>(op.getOutput().getType());
    INFO("S = " << c.s << ", block = " << c.block << ", stride = " << c.stride);
    CHECK(type.getShape() == ArrayRef<int64_t>{1, c.blocks, 4, 64});
    CHECK(succeeded(verify(op)));
  }
}

TEST_CASE("linear pool takes Dout from its weights", "[builder]") {
  testing::TestContext t;
  Type e = Float32Type::get(&t.context);
  Harness h(t, {RankedTensorType::get({1, 100, 2, 8}, e),
             RankedTensorType::get({4 * 8, 8}, e)});
  auto op = PoolOp::create(h.b, h.b.getUnknownLoc(), PoolKind::linear, h.arg(0),
                           h.arg(1), Value(), 4, 2, ScheduleAttr());
  CHECK(cast<RankedTensorType>(op.getOutput().getType()).getShape() ==
        ArrayRef<int64_t>{1, 49, 2, 8});
  CHECK(succeeded(verify(op)));
}

TEST_CASE("topk infers [B,T,H,n] indices and [B,T,H] counts", "[builder]") {
  testing::TestContext t;
  Harness h(t, {RankedTensorType::get({1, 77, 4, 2}, Float32Type::get(&t.context))});
  Value tokens = arith::ConstantIndexOp::create(h.b, h.b.getUnknownLoc(), 77);
  auto op = TopkOp::create(h.b, h.b.getUnknownLoc(), h.arg(0), tokens, 16, 64,
                           1, 2);
  auto i32 = IntegerType::get(&t.context, 32);
  CHECK(op.getIndices().getType() == RankedTensorType::get({1, 77, 4, 16}, i32));
  CHECK(op.getCounts().getType() == RankedTensorType::get({1, 77, 4}, i32));
  CHECK(succeeded(verify(op)));
}

TEST_CASE("expand-variants turns nsa into the ten primitive ops", "[builder]") {
  testing::TestContext t;
  const char *source = R"mlir(
    func.func @f(%q: tensor<1x1000x8x64xf32>, %k: tensor<1x1000x2x64xf32>,
                 %v: tensor<1x1000x2x64xf32>, %g: tensor<1x1000x8xf32>)
        -> tensor<1x1000x8x64xf32> {
      %o = skim.nsa %q, keys(%k), values(%v), gates(%g, %g, %g)
          {schedules = {selected = #skim.schedule<block_m = 16>}}
          : tensor<1x1000x8x64xf32>, keys(tensor<1x1000x2x64xf32>),
            values(tensor<1x1000x2x64xf32>), gates tensor<1x1000x8xf32>
      return %o : tensor<1x1000x8x64xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &t.context);
  REQUIRE(module);
  PassManager pm(&t.context);
  pm.addPass(createSkimExpandVariantsPass());
  REQUIRE(succeeded(pm.run(*module)));
  REQUIRE(succeeded(verify(*module)));

  int pools = 0, attentions = 0, scores = 0, topks = 0, combines = 0, nsas = 0;
  AttentionOp selected;
  module->walk([&](Operation *op) {
    pools += isa<PoolOp>(op);
    scores += isa<BlockScoresOp>(op);
    topks += isa<TopkOp>(op);
    combines += isa<CombineOp>(op);
    nsas += isa<NsaOp>(op);
    if (auto a = dyn_cast<AttentionOp>(op)) {
      ++attentions;
      if (a.hasSelection())
        selected = a;
    }
  });
  CHECK(nsas == 0);
  CHECK(pools == 2);
  CHECK(attentions == 3);
  CHECK(scores == 1);
  CHECK(topks == 1);
  CHECK(combines == 1);
  REQUIRE(selected);
  CHECK(selected.getKvBlock() == 64);
  REQUIRE(selected.getSchedule());
  CHECK(selected.getSchedule()->getBlockM() == 16);
  // ceil(1000 / 64) = 16 selection blocks, per KV head.
  module->walk([&](BlockScoresOp op) {
    CHECK(cast<RankedTensorType>(op.getScores().getType()).getShape() ==
          ArrayRef<int64_t>{1, 1000, 2, 16});
  });
}
