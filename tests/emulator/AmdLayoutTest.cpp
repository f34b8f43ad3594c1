//===- AmdLayoutTest.cpp - AMD matrix layouts, right and deliberately wrong
//===//
//
// Hand-written gpu.func kernels of one wave: each lane reads its items of A
// (M x K) and B (K x N) straight from global memory at the positions the
// AMD ISA gives (MFMA: CDNA3 ISA "Matrix Arithmetic Instructions"; WMMA:
// RDNA3 ISA "Wave Matrix Multiply Accumulate"; WMMA in wave64: AMD's Matrix
// Instruction Calculator, `--wavefront 64`), one rocdl.mfma or
// rocdl.wmma computes D = A·B, each lane stores its items of D, and an xor
// shuffle over the wave gives the column maxima. With the ISA's positions
// the result is the reference product; with a deliberately wrong one (A's
// k groups or lanes swapped, D's rows from another instruction's layout, a
// shuffle distance that stays inside one lane group) the emulator's result
// must NOT match. The positions here are written out for this test alone,
// apart from both the emulator's tables and MatrixCoreLowering.cpp.
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

#include <functional>
#include <sstream>

using namespace skim;
using namespace skim::testing;

namespace {

enum class Core { Mfma32, Mfma16, Wmma, Wmma64 };

/// Where lane l's item t of an operand lives, and the shuffle of the column
/// maxima; every field defaults to the ISA.
struct AmdLayout {
  Core core = Core::Mfma32;
  ElementType type = ElementType::BF16;
  /// A's (row, k) and B's (k, column) of lane l, item t.
  std::function<std::pair<int, int>(int, int)> a, b;
  /// D's (row, column) of lane l, item v.
  std::function<std::pair<int, int>(int, int)> d;
  /// Distances of the column-max butterfly across lane groups.
  std::vector<int> xors;
};

int tileOf(Core c) { return c == Core::Mfma32 ? 32 : 16; }
int kOf(Core c) { return c == Core::Mfma32 ? 8 : 16; }
bool isWmma(Core c) { return c == Core::Wmma || c == Core::Wmma64; }
int waveOf(Core c) { return c == Core::Wmma ? 32 : 64; }
int itemsOf(Core c) { return isWmma(c) ? 16 : 4; }
int accumulatorsOf(Core c) { return tileOf(c) * tileOf(c) / waveOf(c); }

AmdLayout isaLayout(Core core, ElementType type) {
  AmdLayout l;
  l.core = core;
  l.type = type;
  int r = tileOf(core);
  if (core == Core::Wmma) {
    // Lanes i and i + 16 both hold row i of A (column j of B), k = item.
    l.a = [](int lane, int t) { return std::pair{lane % 16, t}; };
    l.b = [](int lane, int t) { return std::pair{t, lane % 16}; };
    // D: row 2v + (lane / 16), column lane % 16.
    l.d = [](int lane, int v) {
      return std::pair{2 * v + lane / 16, lane % 16};
    };
    l.xors = {16};
    return l;
  }
  if (core == Core::Wmma64) {
    // Four copies of A and B (lanes i, i + 16, i + 32, i + 48); D: row
    // 4v + (lane / 16), column lane % 16.
    l.a = [](int lane, int t) { return std::pair{lane % 16, t}; };
    l.b = [](int lane, int t) { return std::pair{t, lane % 16}; };
    l.d = [](int lane, int v) {
      return std::pair{4 * v + lane / 16, lane % 16};
    };
    l.xors = {16, 32};
    return l;
  }
  // A row i = lane % R, k = 4 (lane / R) + item; B likewise by column.
  l.a = [r](int lane, int t) {
    return std::pair{lane % r, 4 * (lane / r) + t};
  };
  l.b = [r](int lane, int t) {
    return std::pair{4 * (lane / r) + t, lane % r};
  };
  if (core == Core::Mfma32)
    l.d = [](int lane, int v) {
      return std::pair{8 * (v / 4) + 4 * (lane / 32) + v % 4, lane % 32};
    };
  else
    l.d = [](int lane, int v) {
      return std::pair{4 * (lane / 16) + v, lane % 16};
    };
  for (int x = r; x < 64; x *= 2)
    l.xors.push_back(x);
  return l;
}

std::string opName(Core core, ElementType type) {
  bool bf16 = type == ElementType::BF16;
  switch (core) {
  case Core::Mfma32:
    return bf16 ? "rocdl.mfma.f32.32x32x8bf16.1k" : "rocdl.mfma.f32.32x32x8f16";
  case Core::Mfma16:
    return bf16 ? "rocdl.mfma.f32.16x16x16bf16.1k"
                : "rocdl.mfma.f32.16x16x16f16";
  case Core::Wmma:
  case Core::Wmma64:
    return bf16 ? "rocdl.wmma.f32.16x16x16.bf16"
                : "rocdl.wmma.f32.16x16x16.f16";
  }
  return "";
}

/// The kernel: per-lane positions are tabulated into constant arrays that
/// the lane indexes with its id, so the test's layout is data, not code.
std::string kernelText(const AmdLayout &layout) {
  Core core = layout.core;
  int r = tileOf(core), k = kOf(core), wave = waveOf(core),
      items = itemsOf(core), acc = accumulatorsOf(core);
  std::string t = mlirName(layout.type);
  bool bf16 = layout.type == ElementType::BF16;
  std::string operand = "vector<" + std::to_string(items) + "x" +
                        (bf16 ? std::string("i16") : t) + ">";
  std::string accType = "vector<" + std::to_string(acc) + "xf32>";
  // One vector of `wave` offsets per item: a lane extracts at its id (one
  // vector of every lane's items would be spilled to the lane's stack at
  // each dynamic extract, 8 KB a time in wave64).
  auto table = [&](const std::string &name, int perLane,
                   const std::function<int(int, int)> &offset) {
    std::ostringstream os;
    for (int i = 0; i < perLane; ++i) {
      os << "      %" << name << i << " = arith.constant dense<[";
      for (int lane = 0; lane < wave; ++lane)
        os << (lane ? ", " : "") << offset(lane, i);
      os << "]> : vector<" << wave << "xi64>\n";
    }
    return os.str();
  };
  std::ostringstream os;
  os << "module attributes {gpu.container_module, skim.gpu_wave_size = " << wave
     << " : i64} {\n  gpu.module @skim_kernels {\n"
     << "    gpu.func @amd(%a: !llvm.ptr, %b: !llvm.ptr, %d: !llvm.ptr, "
        "%cmax: !llvm.ptr)\n        kernel attributes {known_block_size = "
        "array<i32: "
     << wave << ", 1, 1>} {\n";
  os << table("aoff", items, [&](int lane, int i) {
    auto [row, kk] = layout.a(lane, i);
    return row * k + kk;
  });
  os << table("boff", items, [&](int lane, int i) {
    auto [kk, col] = layout.b(lane, i);
    return kk * r + col;
  });
  os << table("doff", acc, [&](int lane, int v) {
    auto [row, col] = layout.d(lane, v);
    return row * r + col;
  });
  os << "      %tid = gpu.thread_id x\n"
     << "      %l = arith.index_cast %tid : index to i64\n"
     << "      %zero = arith.constant 0 : i32\n";
  auto element = [&](const std::string &name, const std::string &tab,
                     const std::string &ptr, int perLane, int i) {
    std::ostringstream e;
    std::string idx = name + std::to_string(i);
    e << "      %" << idx << "o = vector.extract %" << tab << i
      << "[%tid] : i64 from vector<" << wave << "xi64>\n"
      << "      %" << idx << "p = llvm.getelementptr %" << ptr << "[%" << idx
      << "o] : (!llvm.ptr, i64) -> !llvm.ptr, " << (ptr == "d" ? "f32" : t)
      << "\n";
    return e.str();
  };
  for (const char *name : {"a", "b"}) {
    std::string vec = std::string("%") + name + "v";
    os << "      " << vec << "0 = arith.constant dense<0.0> : vector<" << items
       << "x" << t << ">\n";
    for (int i = 0; i < items; ++i) {
      os << element(std::string(name) + "e", std::string(name) + "off", name,
                    items, i);
      std::string idx = std::string(name) + "e" + std::to_string(i);
      os << "      %" << idx << "v = llvm.load %" << idx << "p : !llvm.ptr -> "
         << t << "\n      " << vec << i + 1 << " = vector.insert %" << idx
         << "v, " << vec << i << " [" << i << "] : " << t << " into vector<"
         << items << "x" << t << ">\n";
    }
    std::string last = vec + std::to_string(items);
    // bf16 operands travel as i16 bits (the intrinsics' integer form).
    if (bf16)
      os << "      " << vec << "i = vector.bitcast " << last << " : vector<"
         << items << "x" << t << "> to " << operand << "\n";
  }
  std::string last = std::to_string(items);
  std::string aIn = bf16 ? "%avi" : "%av" + last,
              bIn = bf16 ? "%bvi" : "%bv" + last;
  os << "      %cz = arith.constant dense<0.0> : " << accType << "\n";
  os << "      %D = " << opName(core, layout.type) << " " << aIn << ", " << bIn
     << ", %cz";
  if (!isWmma(core))
    os << ", %zero, %zero, %zero : (" << operand << ", " << operand << ", "
       << accType << ", i32, i32, i32) -> " << accType << "\n";
  else
    os << " : (" << operand << ", " << operand << ", " << accType << ") -> "
       << accType << "\n";
  // D, and the lane's running maximum of its column.
  os << "      %m0 = arith.constant -1.0e30 : f32\n";
  for (int v = 0; v < acc; ++v) {
    os << element("de", "doff", "d", acc, v);
    std::string idx = "de" + std::to_string(v);
    os << "      %" << idx << "v = vector.extract %D[" << v << "] : f32 from "
       << accType << "\n      llvm.store %" << idx << "v, %" << idx
       << "p : f32, !llvm.ptr\n      %m" << v + 1 << " = arith.maximumf %m" << v
       << ", %" << idx << "v : f32\n";
  }
  std::string m = "%m" + std::to_string(acc);
  os << "      %w = arith.constant " << wave << " : i32\n";
  for (size_t i = 0; i < layout.xors.size(); ++i) {
    os << "      %x" << i << " = arith.constant " << layout.xors[i]
       << " : i32\n"
       << "      %s" << i << ", %ok" << i << " = gpu.shuffle xor " << m
       << ", %x" << i << ", %w : f32\n"
       << "      %n" << i << " = arith.maximumf " << m << ", %s" << i
       << " : f32\n";
    m = "%n" + std::to_string(i);
  }
  // The lane of group 0 stores its column's maximum (the column is the
  // lane's: every layout here gives D's column as lane % R).
  os << "      %cr = arith.constant " << r << " : i64\n"
     << "      %first = arith.cmpi ult, %l, %cr : i64\n"
     << "      scf.if %first {\n"
     << "        %q = llvm.getelementptr %cmax[%l] : (!llvm.ptr, i64) -> "
        "!llvm.ptr, f32\n"
     << "        llvm.store " << m << ", %q : f32, !llvm.ptr\n      }\n"
     << "      gpu.return\n    }\n  }\n}\n";
  return os.str();
}

std::string planText(const AmdLayout &layout) {
  std::string t = mlirName(layout.type);
  int r = tileOf(layout.core), k = kOf(layout.core);
  auto dims = [](int x, int y) {
    return std::to_string(x) + " " + std::to_string(y);
  };
  return "skim-plan 1\n"
         "buffer 0 input 0 " +
         t + " 2 " + dims(r, k) +
         "\n"
         "buffer 1 input 1 " +
         t + " 2 " + dims(k, r) +
         "\n"
         "buffer 2 output 0 f32 2 " +
         dims(r, r) +
         "\n"
         "buffer 3 output 1 f32 1 " +
         std::to_string(r) +
         "\n"
         "kernel amd grid 1 1 1 args 4 t0 t1 t2 t3\n";
}

struct Result {
  std::string compileError, runError, product, columnMax;
};

Result runKernel(const AmdLayout &layout) {
  Result result;
  std::string text = kernelText(layout);
  INFO(text);
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::skim::registerSkimDialects(registry);
  mlir::MLIRContext context(registry);
  llvm::raw_string_ostream os(result.compileError);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "kernel.mlir"), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, os);
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  REQUIRE(module);
  mlir::FailureOr<std::string> bytes = mlir::skim::compileForLaneEmulator(
      *module, planText(layout), mlir::skim::HostCpu::detect());
  REQUIRE(mlir::succeeded(bytes));
  auto artifact = rt::Artifact::deserialize(*bytes);
  REQUIRE(artifact);
  auto exe = rt::CpuExecutable::load(*artifact);
  REQUIRE(exe);
  int r = tileOf(layout.core), k = kOf(layout.core);
  ref::Tensor a = input({r, k}, 1, layout.type);
  ref::Tensor b = input({k, r}, 2, layout.type);
  auto got = run(**exe, {a, b}, layout.type, 1);
  result.runError = emu::takeError();
  if (!got || !result.runError.empty()) {
    if (result.runError.empty())
      result.runError = "the run failed";
    return result;
  }
  ref::Tensor d = ref::Tensor::filled({r, r}, 0.f);
  ref::Tensor columnMax = ref::Tensor::filled({r}, -INFINITY);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < r; ++j) {
      double sum = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        sum += double(a.at({i, kk})) * b.at({kk, j});
      d.at({i, j}) = float(sum);
      columnMax.at({j}) = std::max(columnMax.at({j}), float(sum));
    }
  Tolerance exact{1e-6, 1e-6, false};
  result.product = compare("D", (*got)[0], d, exact);
  result.columnMax = compare("column max", (*got)[1], columnMax, exact);
  return result;
}

const char *coreName(Core c) {
  return c == Core::Mfma32   ? "mfma 32x32x8"
         : c == Core::Mfma16 ? "mfma 16x16x16"
         : c == Core::Wmma   ? "wmma 16x16x16"
                             : "wmma 16x16x16 wave64";
}

} // namespace

TEST_CASE("MFMA and WMMA with the ISA's layouts match A·B",
          "[emulator][layout][amd]") {
  (void)emu::takeCounters();
  for (Core core : {Core::Mfma32, Core::Mfma16, Core::Wmma, Core::Wmma64})
    for (ElementType type : {ElementType::BF16, ElementType::F16}) {
      INFO(coreName(core) << " " << mlirName(type));
      Result r = runKernel(isaLayout(core, type));
      CHECK(r.runError == "");
      CHECK(r.product == "");
      CHECK(r.columnMax == "");
    }
  emu::Counters c = emu::takeCounters();
  CHECK(c.amdMatrix == 8);
  // 32x32: 1, 16x16: 2, wmma: 1, wmma wave64: 2.
  CHECK(c.waveShuffle == 2 * (1 + 2) + 2 * (1 + 2));
}

TEST_CASE("a deliberately wrong AMD layout does not match",
          "[emulator][layout][amd]") {
  SECTION("MFMA 32x32x8: A's two k groups swapped") {
    AmdLayout wrong = isaLayout(Core::Mfma32, ElementType::BF16);
    wrong.a = [](int lane, int t) {
      return std::pair{lane % 32, 4 * (1 - lane / 32) + t};
    };
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("MFMA 32x32x8: D read with the 16x16 rows (4q + v)") {
    AmdLayout wrong = isaLayout(Core::Mfma32, ElementType::F16);
    wrong.d = [](int lane, int v) {
      return std::pair{(4 * (lane / 32) + v) % 32 + 8 * (v / 8), lane % 32};
    };
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("MFMA 16x16x16: B's columns taken from lane / 4") {
    AmdLayout wrong = isaLayout(Core::Mfma16, ElementType::BF16);
    wrong.b = [](int lane, int t) {
      return std::pair{4 * (lane % 4) + t, lane / 4};
    };
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("MFMA 16x16x16: the column max over lanes 1 and 2 apart") {
    AmdLayout wrong = isaLayout(Core::Mfma16, ElementType::BF16);
    wrong.xors = {1, 2};
    Result r = runKernel(wrong);
    CHECK(r.product == "");
    CHECK(r.columnMax != "");
  }
  SECTION("WMMA: D's rows as 2v + q read as v + 8q") {
    AmdLayout wrong = isaLayout(Core::Wmma, ElementType::F16);
    wrong.d = [](int lane, int v) {
      return std::pair{v + 8 * (lane / 16), lane % 16};
    };
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("WMMA: lanes 16-31 without their copy of A") {
    AmdLayout wrong = isaLayout(Core::Wmma, ElementType::BF16);
    wrong.a = [](int lane, int t) {
      return std::pair{lane % 16, lane < 16 ? t : (t + 1) % 16};
    };
    Result r = runKernel(wrong);
    CHECK(r.runError.find("hold different copies of A or B") !=
          std::string::npos);
  }
  SECTION("WMMA wave64: D's rows read with wave32's 2v + q") {
    AmdLayout wrong = isaLayout(Core::Wmma64, ElementType::BF16);
    wrong.d = [](int lane, int v) {
      return std::pair{(2 * v + lane / 16) % 16, lane % 16};
    };
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("WMMA wave64: rows as v + 4q (groups of consecutive rows)") {
    AmdLayout wrong = isaLayout(Core::Wmma64, ElementType::F16);
    wrong.d = [](int lane, int v) {
      return std::pair{v + 4 * (lane / 16), lane % 16};
    };
    CHECK(runKernel(wrong).product != "");
  }
  SECTION("WMMA wave64: lanes 32-63 without their copy of B") {
    AmdLayout wrong = isaLayout(Core::Wmma64, ElementType::BF16);
    wrong.b = [](int lane, int t) {
      return std::pair{t, lane < 32 ? lane % 16 : (lane + 1) % 16};
    };
    Result r = runKernel(wrong);
    CHECK(r.runError.find("hold different copies of A or B") !=
          std::string::npos);
  }
  SECTION("WMMA wave64: the column max without the xor-32 step") {
    AmdLayout wrong = isaLayout(Core::Wmma64, ElementType::BF16);
    wrong.xors = {16};
    Result r = runKernel(wrong);
    CHECK(r.product == "");
    CHECK(r.columnMax != "");
  }
}
