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
};

struct PlanArg {
  int buffer = -1;        // a tensor argument, or
  SizeExpr scalar;        // an index argument
};

struct PlanKernel {
  std::string name;
  std::array<SizeExpr, 3> grid;
  std::vector<PlanArg> args;
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
