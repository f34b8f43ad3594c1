//===- KernelBuilder.h - building skim_tile kernels -------------*- C++ -*-===//
//
// A small layer over OpBuilder for writing tile kernels: arguments appear on
// first use (a tensor buffer or a size expression) and are recorded in the
// launch plan in the same order, index arithmetic reads like arithmetic, and
// tile ops take their operands in the order one thinks of them.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_CONVERSION_SKIMTOTILE_KERNELBUILDER_H
#define SKIM_CONVERSION_SKIMTOTILE_KERNELBUILDER_H

#include "Conversion/SkimToTile/Plan.h"
#include "SkimTile/IR/SkimTileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <map>
#include <optional>

namespace mlir::skim {

class KernelBuilder {
public:
  KernelBuilder(ModuleOp module, StringRef name, Location loc);

  /// The flat 1-D memref argument for a plan buffer.
  Value tensor(int buffer, Type elementType);
  /// An index argument holding `expr`, evaluated by the runtime at launch.
  Value scalar(const SizeExpr &expr);
  Value blockId(int dim);
  /// b·stride0 + s·stride1 + h·stride2 of a plan buffer: the offset of row
  /// (b, s, h) of a [B, S, H, ...] tensor, strides as kernel arguments.
  Value offset(int buffer, Value b, Value s, Value h);

  // Index arithmetic.
  Value c(int64_t v);
  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  Value floorDiv(Value a, Value b); // signed, rounds towards −inf
  Value min(Value a, Value b);
  Value max(Value a, Value b);
  Value cmp(arith::CmpIPredicate pred, Value a, Value b);
  Value andI(Value a, Value b);
  Value orI(Value a, Value b);
  Value select(Value cond, Value a, Value b);
  Value f32(double v);

  // Tiles.
  Value alloc(ArrayRef<int64_t> shape,
              tile::MemoryKind kind = tile::MemoryKind::fragment);
  void fill(Value tile, double value);
  /// `stage` marks a copy that targets with asynchronous copies may leave
  /// in flight until the tile is first read.
  void load(Value global, Value offset, Value outer, Value inner, Value valid,
            Value tile, int64_t group = 1, double padding = 0.0,
            bool transpose = false, std::optional<int64_t> stage = {});
  /// The coordinates of a box load (skim_tile.load `coords`): the element at
  /// `offset` per dimension of the plan buffer, rows walking `rowDim`.
  struct Box {
    SmallVector<Value> coords;
    int64_t rowDim;
  };
  void load(Value global, Value offset, Value outer, Value inner, Value valid,
            Value tile, const Box &box, std::optional<int64_t> stage,
            bool transpose);
  /// `accumulate` adds each element atomically (an f32 destination).
  void store(Value tile, Value global, Value offset, Value outer, Value inner,
             Value valid, int64_t group = 1, bool accumulate = false);
  /// A load whose row group i starts at offset + groups[i] · outer
  /// (`groups` a memref of index: token numbers), and the store that
  /// scatters the same way; `accumulate` adds atomically into an f32 tensor.
  void gather(Value global, Value offset, Value outer, Value inner,
              Value groups, Value valid, Value tile, int64_t group);
  void scatter(Value tile, Value global, Value offset, Value outer,
               Value inner, Value groups, Value valid, int64_t group,
               bool accumulate);
  void gemm(Value a, Value b, Value acc, bool transposeB);
  void reduce(tile::ReduceKind kind, Value source, Value dest);
  /// dest = body(indices..., inputs..., current) elementwise.
  using MapBody = std::function<Value(ValueRange args)>;
  void map(ValueRange inputs, ArrayRef<StringRef> indexing, Value dest,
           const MapBody &body);

  // Control flow.
  void forLoop(Value lb, Value ub, Value step, const std::function<void(Value)> &body);
  /// A loop carrying index values.
  SmallVector<Value> forLoop(Value lb, Value ub, Value step, ValueRange init,
                             const std::function<SmallVector<Value>(Value, ValueRange)> &body);
  void ifThen(Value cond, const std::function<void()> &then);
  void ifThenElse(Value cond, const std::function<void()> &then,
                  const std::function<void()> &otherwise);

  /// Fixes the signature and returns the kernel's plan entry.
  PlanKernel finish(std::array<SizeExpr, 3> grid);

  OpBuilder b;
  Location loc;

private:
  func::FuncOp kernel;
  Block *entry;
  std::vector<PlanArg> args;
  std::map<int, Value> tensors;
  std::map<std::string, Value> scalars;
};

/// The element type name a plan records for a tensor element type.
std::string dtypeName(Type type);

} // namespace mlir::skim

#endif // SKIM_CONVERSION_SKIMTOTILE_KERNELBUILDER_H
