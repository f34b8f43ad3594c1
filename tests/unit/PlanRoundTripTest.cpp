//===- PlanRoundTripTest.cpp - the compiler writes what the runtime reads -===//
//
// The compiler's Plan::serialize against the runtime's Plan::parse, for the
// GPU fields (launch attributes, TMA descriptor arguments, the binary entry)
// and for a CPU plan, which must not change: it writes none of them.
//
//===----------------------------------------------------------------------===//

#include "Conversion/SkimToTile/Plan.h"

#include "skim/runtime/Plan.h"

#include <catch2/catch.hpp>

using mlir::skim::PlanArg;
using mlir::skim::PlanBuffer;
using mlir::skim::PlanKernel;
using mlir::skim::SizeExpr;

namespace {

mlir::skim::Plan twoBuffers() {
  mlir::skim::Plan plan;
  plan.buffers.push_back({PlanBuffer::Kind::Input, 0, "bf16",
                          {SizeExpr::dim(0, 0), SizeExpr::constant(64)}});
  plan.buffers.push_back({PlanBuffer::Kind::Output, 0, "bf16",
                          {SizeExpr::dim(0, 0), SizeExpr::constant(64)}});
  return plan;
}

} // namespace

TEST_CASE("a CPU plan writes no GPU fields", "[plan]") {
  mlir::skim::Plan plan = twoBuffers();
  PlanKernel k;
  k.name = "cpu";
  k.grid = {SizeExpr::dim(0, 0).ceilDiv(SizeExpr::constant(16)),
            SizeExpr::constant(1), SizeExpr::constant(1)};
  k.args = {PlanArg::tensor(0), PlanArg::tensor(1),
            PlanArg::index(SizeExpr::stride(0, 0))};
  plan.kernels.push_back(k);
  std::string text = plan.serialize();
  CHECK(text == "skim-plan 1\n"
                "buffer 0 input 0 bf16 2 d0.0 64\n"
                "buffer 1 output 0 bf16 2 d0.0 64\n"
                "kernel cpu grid d0.0,16,cdiv 1 1 args 3 t0 t1 es0.0\n");
  auto parsed = skim::rt::Plan::parse(text);
  INFO(parsed.message());
  REQUIRE(parsed);
  CHECK(parsed->binary.empty());
  CHECK(parsed->kernels[0].block == std::array<int64_t, 3>{1, 1, 1});
}

TEST_CASE("GPU launch attributes and TMA arguments round-trip", "[plan]") {
  mlir::skim::Plan plan = twoBuffers();
  PlanKernel k;
  k.name = "gpu";
  k.grid = {SizeExpr::dim(0, 0).ceilDiv(SizeExpr::constant(128)),
            SizeExpr::constant(1), SizeExpr::constant(1)};
  k.args = {PlanArg::tensorMap(0, {128, 64}, "128"), PlanArg::tensor(1),
            PlanArg::index(SizeExpr::dim(0, 0))};
  k.block = {384, 1, 1};
  k.sharedBytes = SizeExpr::constant(128 * 64 * 2).max(SizeExpr::dim(0, 0));
  k.cluster = {2, 1, 1};
  plan.kernels.push_back(k);
  plan.binary = "cuda.cubin";
  std::string text = plan.serialize();
  CHECK(text.find("args 3 m0:128x64:128 t1 ed0.0 block 384 1 1 smem "
                  "16384,d0.0,max cluster 2 1 1\n") != std::string::npos);
  CHECK(text.substr(text.size() - 18) == "binary cuda.cubin\n");

  auto parsed = skim::rt::Plan::parse(text);
  INFO(text << parsed.message());
  REQUIRE(parsed);
  CHECK(parsed->binary == "cuda.cubin");
  const skim::rt::KernelDecl &d = parsed->kernels.at(0);
  REQUIRE(d.args.size() == 3);
  CHECK(d.args[0].kind == skim::rt::KernelArg::Kind::TensorMap);
  CHECK(d.args[0].box == std::vector<int64_t>{128, 64});
  CHECK(d.args[0].swizzle == skim::rt::Swizzle::B128);
  CHECK(d.block == std::array<int64_t, 3>{384, 1, 1});
  CHECK(d.cluster == std::array<int64_t, 3>{2, 1, 1});
  auto smem = d.sharedBytes.eval(
      [](bool, int, int) -> skim::rt::Expected<int64_t> { return int64_t(100000); });
  REQUIRE(smem);
  CHECK(*smem == 100000);

  // Only the block differs from the default: all three are still written.
  PlanKernel plain = k;
  plain.args = {};
  plain.sharedBytes = SizeExpr();
  plain.cluster = {1, 1, 1};
  plan.kernels = {plain};
  CHECK(plan.serialize().find("args 0 block 384 1 1 smem 0 cluster 1 1 1\n") !=
        std::string::npos);
}
