//===- Plan.h - launch plans as the runtime reads them ----------*- C++ -*-===//
//
// The text form written by the compiler (docs/LaunchPlan.md): buffers with
// dims as expressions, then kernels in launch order with a grid rule and an
// argument list. Expressions are evaluated against the bound dims and strides.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_PLAN_H
#define SKIM_RUNTIME_PLAN_H

#include "skim/runtime/Status.h"

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace skim::rt {

enum class DType { F32, BF16, F16, I32 };
const char *dtypeName(DType t);
size_t dtypeSize(DType t);
Expected<DType> parseDType(const std::string &name);

/// An integer expression in reverse Polish notation (see the compiler's
/// SizeExpr): constants, d<buffer>.<dim>, s<buffer>.<dim>, + - * / cdiv max min.
struct Expr {
  std::vector<std::string> tokens;
  std::string str() const;
  /// Evaluates with `dim(b, d)` and `stride(b, d)` giving the leaves.
  Expected<int64_t>
  eval(const std::function<Expected<int64_t>(bool stride, int buffer, int dim)> &leaf) const;
};

struct BufferDecl {
  enum class Kind { Input, Output, Workspace } kind;
  int index = -1; // argument / result number
  DType dtype;
  std::vector<Expr> dims;
};

struct KernelArg {
  int buffer = -1; // a tensor, or
  Expr scalar;     // an index value
};

struct KernelDecl {
  std::string name;
  std::array<Expr, 3> grid;
  std::vector<KernelArg> args;
};

/// Entries of `buffer` (i32 selection indices) must be −1 or in [0, blocks).
struct IndexCheck {
  int buffer = -1;
  Expr blocks;
};

/// Two sizes the caller's tensors must agree on.
struct Requirement {
  Expr lhs, rhs;
  std::string what;
};

struct Plan {
  std::vector<BufferDecl> buffers;
  std::vector<KernelDecl> kernels;
  std::vector<IndexCheck> indexChecks;
  std::vector<Requirement> requirements;
  int numInputs() const;
  int numOutputs() const;
  static Expected<Plan> parse(const std::string &text);
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_PLAN_H
