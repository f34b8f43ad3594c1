//===- Plan.h - launch plans: kernels, grids, buffers, arguments -*- C++ -*-===//
//
// A launch plan says how to run a compiled variant: which buffers exist (the
// caller's inputs and outputs, and workspace), which kernels run in which
// order, over which grid, with which arguments. Sizes are expressions over the
// inputs' dimensions, so one artifact serves every B, T and S. The text form
// is what the runtime reads (docs/LaunchPlan.md); it needs no LLVM to parse.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_SKIMTOTILE_PLAN_H
#define SKIM_CONVERSION_SKIMTOTILE_PLAN_H

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::skim {

/// An integer expression in reverse Polish notation. Leaves are constants,
/// `d<buffer>.<dim>` (a buffer's size) and `s<buffer>.<dim>` (its stride in
/// elements); operators are + - * / (floor division) cdiv max min.
class SizeExpr {
public:
  SizeExpr() = default;
  static SizeExpr constant(int64_t value);
  static SizeExpr dim(int buffer, int dim);
  static SizeExpr stride(int buffer, int dim);

  SizeExpr operator+(const SizeExpr &rhs) const { return binary(rhs, "+"); }
  SizeExpr operator-(const SizeExpr &rhs) const { return binary(rhs, "-"); }
  SizeExpr operator*(const SizeExpr &rhs) const { return binary(rhs, "*"); }
  SizeExpr floorDiv(const SizeExpr &rhs) const { return binary(rhs, "/"); }
  SizeExpr ceilDiv(const SizeExpr &rhs) const { return binary(rhs, "cdiv"); }
  SizeExpr max(const SizeExpr &rhs) const { return binary(rhs, "max"); }
  SizeExpr min(const SizeExpr &rhs) const { return binary(rhs, "min"); }

  bool empty() const { return tokens.empty(); }
  /// The value when the expression is a constant.
  bool isConstant(int64_t *value) const;
  std::string str() const;
  bool operator==(const SizeExpr &other) const { return tokens == other.tokens; }

private:
  SizeExpr binary(const SizeExpr &rhs, const char *op) const;
  std::vector<std::string> tokens;
};

struct PlanBuffer {
  enum class Kind { Input, Output, Workspace };
  Kind kind;
  int index;              // argument or result number; -1 for workspace
  std::string dtype;      // f32, bf16, f16, i32
  std::vector<SizeExpr> dims;
  /// Workspace the runtime zeroes before every run (counters, sums that
  /// kernels add into).
  bool zeroed = false;
};

/// A kernel argument: a tensor (its buffer), an index scalar, or a TMA
/// descriptor the runtime encodes at launch over a buffer.
struct PlanArg {
  int buffer = -1;        // a tensor argument (or the TMA descriptor's buffer)
  SizeExpr scalar;        // an index argument
  /// A TMA descriptor when non-empty: the box in the buffer's dim order
  /// (innermost last), one entry per dim.
  std::vector<int64_t> tmaBox;
  std::string tmaSwizzle = "none"; // none, 32, 64 or 128

  static PlanArg tensor(int buffer) {
    PlanArg a;
    a.buffer = buffer;
    return a;
  }
  static PlanArg index(SizeExpr value) {
    PlanArg a;
    a.scalar = std::move(value);
    return a;
  }
  static PlanArg tensorMap(int buffer, std::vector<int64_t> box,
                           std::string swizzle) {
    PlanArg a;
    a.buffer = buffer;
    a.tmaBox = std::move(box);
    a.tmaSwizzle = std::move(swizzle);
    return a;
  }
};

struct PlanKernel {
  std::string name;
  std::array<SizeExpr, 3> grid;
  std::vector<PlanArg> args;
  /// GPU launch attributes. A kernel that keeps all three defaults (a CPU
  /// kernel) writes none of them.
  std::array<int64_t, 3> block = {1, 1, 1};
  SizeExpr sharedBytes; // dynamic shared memory in bytes; empty means 0
  std::array<int64_t, 3> cluster = {1, 1, 1};
};

/// Selection indices the runtime validates when asked: every entry must be
/// −1 or a block in [0, blocks).
struct PlanIndexCheck {
  int buffer;
  SizeExpr blocks;
};

/// Two sizes the inputs must agree on (K's B and Q's B, ...), checked by the
/// runtime before any kernel reads out of bounds.
struct PlanRequirement {
  SizeExpr lhs, rhs;
  std::string what; // no spaces, e.g. "key.B=query.B"
};

struct Plan {
  std::vector<PlanBuffer> buffers;
  std::vector<PlanKernel> kernels;
  std::vector<PlanIndexCheck> indexChecks;
  std::vector<PlanRequirement> requirements;
  /// The artifact section with the GPU image (`cuda.cubin`, `cuda.ptx`);
  /// empty for a CPU plan.
  std::string binary;
  /// Records lhs == rhs unless both are the same expression.
  void require(const SizeExpr &lhs, const SizeExpr &rhs, std::string what) {
    if (lhs == rhs)
      return;
    for (const PlanRequirement &r : requirements)
      if (r.lhs == lhs && r.rhs == rhs)
        return;
    requirements.push_back({lhs, rhs, std::move(what)});
  }
  std::string serialize() const;
};

} // namespace mlir::skim

#endif // SKIM_CONVERSION_SKIMTOTILE_PLAN_H
