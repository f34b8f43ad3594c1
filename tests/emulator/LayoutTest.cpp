//===- LayoutTest.cpp - right and deliberately wrong fragment layouts -----===//
//
// Hand-written gpu.func kernels of one warp: A (16 x 16) and B go through
// shared memory, ldmatrix loads the fragments, one mma.sync m16n8k16 computes
// D = A·B, each lane stores its part of D, and a butterfly over the four
// lanes of a row gives the row maxima (the softmax pattern). With the
// fragment mapping of the PTX ISA the result is the reference product; with
// a deliberately wrong one (rows g and g + 8 swapped, .trans left out, the
// wrong shuffle distances) the emulator must give a result that does NOT
// match. The kernels go through skim-emulate-lanes and the CPU pipeline
// exactly as the lowering's kernels do.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include "Pipelines/Pipeline.h"
#include "Registration/RegisterSkim.h"
#include "skim/emulator/LaneEmulator.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <catch2/catch.hpp>

using namespace skim;
using namespace skim::testing;

namespace {

/// How the kernel maps lanes to fragments; every field defaults to the
/// mapping of the PTX ISA.
struct Layout {
  ElementType type = ElementType::BF16;
  /// A's ldmatrix.x4 row for lane l (rows 0-15, then the next 8 columns).
  std::string aRow = "%l16";
  /// B stored [n][k] (K contiguous, plain ldmatrix) or [k][n] (needs .trans).
  bool bKMajor = true;
  bool bTrans = false;
  /// The rows of D that c0, c1 and c2, c3 belong to.
  std::string rowLo = "%g", rowHi = "%g8";
  /// The butterfly distances of the row reduction.
  int xor1 = 1, xor2 = 2;
};

void replaceAll(std::string &s, const std::string &from, const std::string &to) {
  for (size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

const char *kKernel = R"mlir(
module attributes {gpu.container_module, skim.gpu_shared_bytes = {mma16 = 1024 : i64}} {
  gpu.module @skim_kernels {
    gpu.func @mma16(%a: !llvm.ptr, %b: !llvm.ptr, %d: !llvm.ptr, %rmax: !llvm.ptr)
        kernel attributes {known_block_size = array<i32: 32, 1, 1>} {
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %c32 = arith.constant 32 : index
      %c128 = arith.constant 128 : index
      %c256 = arith.constant 256 : index
      %l = gpu.thread_id x
      %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %base = memref.extract_aligned_pointer_as_index %smem : memref<?xi8, #gpu.address_space<workgroup>> -> index
      %base64 = arith.index_cast %base : index to i64
      %sa = llvm.inttoptr %base64 : i64 to !llvm.ptr<3>
      %sb = llvm.getelementptr %sa[256] : (!llvm.ptr<3>) -> !llvm.ptr<3>, @T@
      scf.for %e = %l to %c256 step %c32 {
        %i = arith.index_cast %e : index to i64
        %p = llvm.getelementptr %a[%i] : (!llvm.ptr, i64) -> !llvm.ptr, @T@
        %v = llvm.load %p : !llvm.ptr -> @T@
        %q = llvm.getelementptr %sa[%i] : (!llvm.ptr<3>, i64) -> !llvm.ptr<3>, @T@
        llvm.store %v, %q : @T@, !llvm.ptr<3>
      }
      scf.for %e = %l to %c128 step %c32 {
        %i = arith.index_cast %e : index to i64
        %p = llvm.getelementptr %b[%i] : (!llvm.ptr, i64) -> !llvm.ptr, @T@
        %v = llvm.load %p : !llvm.ptr -> @T@
        %q = llvm.getelementptr %sb[%i] : (!llvm.ptr<3>, i64) -> !llvm.ptr<3>, @T@
        llvm.store %v, %q : @T@, !llvm.ptr<3>
      }
      gpu.barrier
      %g = arith.divui %l, %c4 : index
      %t = arith.remui %l, %c4 : index
      %g8 = arith.addi %g, %c8 : index
      %l16 = arith.remui %l, %c16 : index
      %l8 = arith.remui %l, %c8 : index
      %lp8 = arith.addi %l, %c8 : index
      %l16swap = arith.remui %lp8, %c16 : index
      %half = arith.divui %l, %c16 : index
      %acol = arith.muli %half, %c8 : index
      %arow16 = arith.muli @AROW@, %c16 : index
      %aoff = arith.addi %arow16, %acol : index
      %aoff64 = arith.index_cast %aoff : index to i64
      %pa = llvm.getelementptr %sa[%aoff64] : (!llvm.ptr<3>, i64) -> !llvm.ptr<3>, @T@
      %A = nvvm.ldmatrix %pa {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
@BADDR@
      %boff64 = arith.index_cast %boff : index to i64
      %pb = llvm.getelementptr %sb[%boff64] : (!llvm.ptr<3>, i64) -> !llvm.ptr<3>, @T@
      %B = nvvm.ldmatrix %pb {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<@BLAYOUT@>, num = 2 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
      %a0 = llvm.extractvalue %A[0] : !llvm.struct<(i32, i32, i32, i32)>
      %a1 = llvm.extractvalue %A[1] : !llvm.struct<(i32, i32, i32, i32)>
      %a2 = llvm.extractvalue %A[2] : !llvm.struct<(i32, i32, i32, i32)>
      %a3 = llvm.extractvalue %A[3] : !llvm.struct<(i32, i32, i32, i32)>
      %b0 = llvm.extractvalue %B[0] : !llvm.struct<(i32, i32)>
      %b1 = llvm.extractvalue %B[1] : !llvm.struct<(i32, i32)>
@REGS@
      %z = arith.constant 0.0 : f32
      %D = nvvm.mma.sync A[%ra0, %ra1, %ra2, %ra3] B[%rb0, %rb1] C[%z, %z, %z, %z] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<@T@>, multiplicandBPtxType = #nvvm.mma_type<@T@>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (@REG@, @REG@, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %D[0] : !llvm.struct<(f32, f32, f32, f32)>
      %d1 = llvm.extractvalue %D[1] : !llvm.struct<(f32, f32, f32, f32)>
      %d2 = llvm.extractvalue %D[2] : !llvm.struct<(f32, f32, f32, f32)>
      %d3 = llvm.extractvalue %D[3] : !llvm.struct<(f32, f32, f32, f32)>
      %col0 = arith.muli %t, %c2 : index
      %col1 = arith.addi %col0, %c1 : index
      %lo8 = arith.muli @ROWLO@, %c8 : index
      %hi8 = arith.muli @ROWHI@, %c8 : index
      %o0 = arith.addi %lo8, %col0 : index
      %o1 = arith.addi %lo8, %col1 : index
      %o2 = arith.addi %hi8, %col0 : index
      %o3 = arith.addi %hi8, %col1 : index
      %i0 = arith.index_cast %o0 : index to i64
      %i1 = arith.index_cast %o1 : index to i64
      %i2 = arith.index_cast %o2 : index to i64
      %i3 = arith.index_cast %o3 : index to i64
      %p0 = llvm.getelementptr %d[%i0] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %p1 = llvm.getelementptr %d[%i1] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %p2 = llvm.getelementptr %d[%i2] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      %p3 = llvm.getelementptr %d[%i3] : (!llvm.ptr, i64) -> !llvm.ptr, f32
      llvm.store %d0, %p0 : f32, !llvm.ptr
      llvm.store %d1, %p1 : f32, !llvm.ptr
      llvm.store %d2, %p2 : f32, !llvm.ptr
      llvm.store %d3, %p3 : f32, !llvm.ptr
      // Row maxima: in-thread, then across the row's four lanes.
      %x1 = arith.constant @XOR1@ : i32
      %x2 = arith.constant @XOR2@ : i32
      %w = arith.constant 32 : i32
      %mlo0 = arith.maximumf %d0, %d1 : f32
      %mhi0 = arith.maximumf %d2, %d3 : f32
      %slo1, %vlo1 = gpu.shuffle xor %mlo0, %x1, %w : f32
      %shi1, %vhi1 = gpu.shuffle xor %mhi0, %x1, %w : f32
      %mlo1 = arith.maximumf %mlo0, %slo1 : f32
      %mhi1 = arith.maximumf %mhi0, %shi1 : f32
      %slo2, %vlo2 = gpu.shuffle xor %mlo1, %x2, %w : f32
      %shi2, %vhi2 = gpu.shuffle xor %mhi1, %x2, %w : f32
      %mlo = arith.maximumf %mlo1, %slo2 : f32
      %mhi = arith.maximumf %mhi1, %shi2 : f32
      %c0 = arith.constant 0 : index
      %first = arith.cmpi eq, %t, %c0 : index
      scf.if %first {
        %gl = arith.index_cast %g : index to i64
        %gh = arith.index_cast %g8 : index to i64
        %ql = llvm.getelementptr %rmax[%gl] : (!llvm.ptr, i64) -> !llvm.ptr, f32
        %qh = llvm.getelementptr %rmax[%gh] : (!llvm.ptr, i64) -> !llvm.ptr, f32
        llvm.store %mlo, %ql : f32, !llvm.ptr
        llvm.store %mhi, %qh : f32, !llvm.ptr
      }
      gpu.return
    }
  }
}
)mlir";

std::string kernelText(const Layout &layout) {
  std::string s = kKernel;
  bool f16 = layout.type == ElementType::F16;
  // B's row addresses: [n][k] rows are 16 elements (two matrices side by
  // side along k); [k][n] rows are 8 (two matrices one under the other).
  std::string bAddr =
      layout.bKMajor
          ? "      %bn16 = arith.muli %l8, %c16 : index\n"
            "      %bhalf = arith.divui %l, %c8 : index\n"
            "      %bk = arith.muli %bhalf, %c8 : index\n"
            "      %bk1 = arith.remui %bk, %c16 : index\n"
            "      %boff = arith.addi %bn16, %bk1 : index"
          : "      %boff = arith.muli %l16, %c8 : index";
  // f16 operands are 2 x f16 vectors in NVVM, bf16 ones stay i32.
  std::string regs;
  for (std::string r : {"a0", "a1", "a2", "a3", "b0", "b1"})
    if (f16)
      regs += "      %r" + r + " = llvm.bitcast %" + r + " : i32 to vector<2xf16>\n";
  if (!f16) {
    replaceAll(s, "%ra", "%a");
    replaceAll(s, "%rb", "%b");
  }
  replaceAll(s, "@BADDR@", bAddr);
  replaceAll(s, "@REGS@", regs);
  replaceAll(s, "@REG@", f16 ? "vector<2xf16>" : "i32");
  replaceAll(s, "@T@", mlirName(layout.type));
  replaceAll(s, "@AROW@", layout.aRow);
  replaceAll(s, "@BLAYOUT@", layout.bTrans ? "col" : "row");
  replaceAll(s, "@ROWLO@", layout.rowLo);
  replaceAll(s, "@ROWHI@", layout.rowHi);
  replaceAll(s, "@XOR1@", std::to_string(layout.xor1));
  replaceAll(s, "@XOR2@", std::to_string(layout.xor2));
  return s;
}

std::string planText(const Layout &layout) {
  std::string t = mlirName(layout.type);
  return "skim-plan 1\n"
         "buffer 0 input 0 " + t + " 2 16 16\n"
         "buffer 1 input 1 " + t + (layout.bKMajor ? " 2 8 16\n" : " 2 16 8\n") +
         "buffer 2 output 0 f32 2 16 8\n"
         "buffer 3 output 1 f32 1 16\n"
         "kernel mma16 grid 1 1 1 args 4 t0 t1 t2 t3\n";
}

/// The kernel of `layout`, compiled for the lane emulator.
std::unique_ptr<rt::CpuExecutable> compileKernel(const Layout &layout,
                                                 std::string &error) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::skim::registerSkimDialects(registry);
  mlir::MLIRContext context(registry);
  llvm::raw_string_ostream os(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(kernelText(layout), "kernel.mlir"),
      llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, os);
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return nullptr;
  mlir::FailureOr<std::string> bytes = mlir::skim::compileForLaneEmulator(
      *module, planText(layout), mlir::skim::HostCpu::detect());
  if (mlir::failed(bytes))
    return nullptr;
  auto artifact = rt::Artifact::deserialize(*bytes);
  if (!artifact) {
    error = artifact.message();
    return nullptr;
  }
  auto exe = rt::CpuExecutable::load(*artifact);
  if (!exe) {
    error = exe.message();
    return nullptr;
  }
  return std::move(*exe);
}

struct Result {
  std::string product, rowMax; // "" when they match the reference
};

/// Runs the kernel of `layout` on random A and B and compares D and the row
/// maxima with A·B computed in double.
Result runKernel(const Layout &layout) {
  std::string error;
  std::unique_ptr<rt::CpuExecutable> exe = compileKernel(layout, error);
  INFO(kernelText(layout));
  REQUIRE(error == "");
  REQUIRE(exe);
  ref::Tensor a = input({16, 16}, 1, layout.type);
  ref::Tensor b = layout.bKMajor ? input({8, 16}, 2, layout.type)
                                 : input({16, 8}, 2, layout.type);
  auto got = run(*exe, {a, b}, layout.type, 1);
  REQUIRE(got);
  REQUIRE(emu::takeError() == "");
  ref::Tensor d = ref::Tensor::filled({16, 8}, 0.f);
  ref::Tensor rowMax = ref::Tensor::filled({16}, -INFINITY);
  for (int64_t m = 0; m < 16; ++m)
    for (int64_t n = 0; n < 8; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < 16; ++k)
        sum += double(a.at({m, k})) *
               (layout.bKMajor ? b.at({n, k}) : b.at({k, n}));
      d.at({m, n}) = float(sum);
      rowMax.at({m}) = std::max(rowMax.at({m}), float(sum));
    }
  Tolerance exact{1e-6, 1e-6, false};
  return {compare("D", (*got)[0], d, exact),
          compare("row max", (*got)[1], rowMax, exact)};
}

} // namespace

TEST_CASE("mma.sync with the PTX fragment layout matches A·B",
          "[emulator][layout]") {
  (void)emu::takeCounters();
  for (ElementType type : {ElementType::BF16, ElementType::F16}) {
    INFO(mlirName(type));
    Layout ptx;
    ptx.type = type;
    Result r = runKernel(ptx);
    CHECK(r.product == "");
    CHECK(r.rowMax == "");
    // B stored [k][n]: ldmatrix.trans gives the same fragment.
    Layout trans = ptx;
    trans.bKMajor = false;
    trans.bTrans = true;
    r = runKernel(trans);
    CHECK(r.product == "");
    CHECK(r.rowMax == "");
  }
  emu::Counters c = emu::takeCounters();
  CHECK(c.mma == 4);
  CHECK(c.ldmatrix == 8);
  CHECK(c.shfl == 16);
}

TEST_CASE("a deliberately wrong layout does not match", "[emulator][layout]") {
  SECTION("A's rows g and g + 8 swapped") {
    Layout wrong;
    wrong.aRow = "%l16swap";
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("B stored [k][n] but loaded without .trans") {
    Layout wrong;
    wrong.bKMajor = false;
    wrong.bTrans = false;
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("B stored [n][k] but loaded with .trans") {
    Layout wrong;
    wrong.bTrans = true;
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("D stored with rows g and g + 8 swapped") {
    Layout wrong;
    wrong.rowLo = "%g8";
    wrong.rowHi = "%g";
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("the row reduction over lanes 4 and 8 apart instead of 1 and 2") {
    Layout wrong;
    wrong.xor1 = 4;
    wrong.xor2 = 8;
    Result r = runKernel(wrong);
    CHECK(r.product == "");
    CHECK(r.rowMax != "");
  }
}
