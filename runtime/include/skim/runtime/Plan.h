//===- Plan.h - launch plans as the runtime reads them ----------*- C++ -*-===//
//
// The text form written by the compiler (docs/LaunchPlan.md): buffers with
// dims as expressions, then kernels in launch order with a grid rule, an
// argument list and, for GPU kernels, the block, dynamic shared memory and
// cluster shape; a GPU plan also names the artifact section holding its
// image. Expressions are evaluated against the bound dims and strides.
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
  /// Workspace only: set to zero before the first kernel of every run
  /// (`zero` after the dims), e.g. the lock words of a GPU scratch pool.
  bool zeroed = false;
};

/// Shared-memory swizzle of a TMA descriptor (CUtensorMapSwizzle's first four).
enum class Swizzle { None, B32, B64, B128 };
/// "none", "32", "64" or "128", as in the plan text.
const char *swizzleName(Swizzle s);

struct KernelArg {
  enum class Kind {
    Tensor,    // t<buffer>: the buffer's address
    Scalar,    // e<expr>: an index value
    TensorMap, // m<buffer>:<box>:<swizzle>: a TMA descriptor over the buffer
  };
  Kind kind = Kind::Scalar;
  int buffer = -1; // Tensor and TensorMap
  Expr scalar;     // Scalar
  /// TensorMap: the box in the buffer's dim order (innermost last), one
  /// entry per dim of the buffer.
  std::vector<int64_t> box;
  Swizzle swizzle = Swizzle::None;
};

struct KernelDecl {
  std::string name;
  std::array<Expr, 3> grid;
  std::vector<KernelArg> args;
  /// GPU launch attributes; a CPU kernel keeps the defaults.
  std::array<int64_t, 3> block{{1, 1, 1}};
  Expr sharedBytes{{"0"}}; // dynamic shared memory, in bytes
  std::array<int64_t, 3> cluster{{1, 1, 1}};
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
  /// The artifact section holding the GPU image (`cuda.cubin`, `cuda.ptx`),
  /// or empty for a CPU plan.
  std::string binary;
  int numInputs() const;
  int numOutputs() const;
  static Expected<Plan> parse(const std::string &text);
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_PLAN_H
