//===- KernelBuilder.cpp - building skim_tile kernels ---------------------===//

#include "Conversion/SkimToTile/KernelBuilder.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::skim;
using namespace mlir::skim::tile;

std::string mlir::skim::dtypeName(Type type) {
  if (type.isF32()) return "f32";
  if (type.isBF16()) return "bf16";
  if (type.isF16()) return "f16";
  if (type.isInteger(32)) return "i32";
  return "unsupported";
}

KernelBuilder::KernelBuilder(ModuleOp module, StringRef name, Location loc)
    : b(module.getContext()), loc(loc) {
  b.setInsertionPointToEnd(module.getBody());
  kernel = func::FuncOp::create(b, loc, name, b.getFunctionType({}, {}));
  kernel->setAttr("skim_tile.kernel", b.getUnitAttr());
  entry = kernel.addEntryBlock();
  b.setInsertionPointToStart(entry);
  auto ret = func::ReturnOp::create(b, loc);
  b.setInsertionPoint(ret);
}

Value KernelBuilder::tensor(int buffer, Type elementType) {
  auto it = tensors.find(buffer);
  if (it != tensors.end())
    return it->second;
  auto type = MemRefType::get({ShapedType::kDynamic}, elementType);
  Value arg = entry->addArgument(type, loc);
  tensors[buffer] = arg;
  PlanArg planArg;
  planArg.buffer = buffer;
  args.push_back(planArg);
  return arg;
}

Value KernelBuilder::scalar(const SizeExpr &expr) {
  int64_t value;
  if (expr.isConstant(&value))
    return c(value);
  auto it = scalars.find(expr.str());
  if (it != scalars.end())
    return it->second;
  Value arg = entry->addArgument(b.getIndexType(), loc);
  scalars[expr.str()] = arg;
  PlanArg planArg;
  planArg.scalar = expr;
  args.push_back(planArg);
  return arg;
}

Value KernelBuilder::blockId(int dim) {
  return BlockIdOp::create(b, loc, b.getIndexType(), static_cast<uint64_t>(dim));
}

Value KernelBuilder::offset(int buffer, Value bi, Value si, Value hi) {
  return add(add(mul(bi, scalar(SizeExpr::stride(buffer, 0))),
                 mul(si, scalar(SizeExpr::stride(buffer, 1)))),
             mul(hi, scalar(SizeExpr::stride(buffer, 2))));
}

Value KernelBuilder::c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
Value KernelBuilder::add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
Value KernelBuilder::sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
Value KernelBuilder::mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
Value KernelBuilder::floorDiv(Value x, Value y) {
  return arith::FloorDivSIOp::create(b, loc, x, y);
}
Value KernelBuilder::min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
Value KernelBuilder::max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
Value KernelBuilder::cmp(arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, p, x, y);
}
Value KernelBuilder::andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
Value KernelBuilder::orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
Value KernelBuilder::select(Value cond, Value x, Value y) {
  return arith::SelectOp::create(b, loc, cond, x, y);
}
Value KernelBuilder::f32(double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value KernelBuilder::alloc(ArrayRef<int64_t> shape, MemoryKind kind) {
  auto type = MemRefType::get(shape, b.getF32Type());
  return AllocOp::create(b, loc, type, TileAttr::get(b.getContext(), kind,
                                                     LayoutKind::row_major));
}

void KernelBuilder::fill(Value tile, double value) {
  FillOp::create(b, loc, tile, b.getF32FloatAttr(value));
}

void KernelBuilder::load(Value global, Value offset, Value outer, Value inner,
                         Value valid, Value tile, int64_t group, double padding,
                         bool transpose, std::optional<int64_t> stage) {
  LoadOp::create(b, loc, global, offset, outer, inner, valid, tile,
                 ValueRange{}, /*row_offsets=*/Value(), b.getI64IntegerAttr(group),
                 b.getF32FloatAttr(padding),
                 stage ? b.getI64IntegerAttr(*stage) : IntegerAttr(),
                 IntegerAttr(), transpose ? b.getUnitAttr() : UnitAttr());
}

void KernelBuilder::load(Value global, Value offset, Value outer, Value inner,
                         Value valid, Value tile, const Box &box,
                         std::optional<int64_t> stage, bool transpose) {
  LoadOp::create(b, loc, global, offset, outer, inner, valid, tile, box.coords,
                 /*row_offsets=*/Value(), b.getI64IntegerAttr(1), b.getF32FloatAttr(0.0f),
                 stage ? b.getI64IntegerAttr(*stage) : IntegerAttr(),
                 b.getI64IntegerAttr(box.rowDim),
                 transpose ? b.getUnitAttr() : UnitAttr());
}

void KernelBuilder::gather(Value global, Value offset, Value outer, Value inner,
                           Value rowOffsets, Value valid, Value tile,
                           int64_t group) {
  LoadOp::create(b, loc, global, offset, outer, inner, valid,
                 tile, ValueRange{}, rowOffsets, b.getI64IntegerAttr(group),
                 b.getF32FloatAttr(0.0f), IntegerAttr(), IntegerAttr(),
                 UnitAttr());
}

void KernelBuilder::store(Value tile, Value global, Value offset, Value outer,
                          Value inner, Value valid, int64_t group,
                          bool accumulate) {
  StoreOp::create(b, loc, tile, global, offset, outer, inner, valid,
                  /*row_offsets=*/Value(), group, accumulate);
}

void KernelBuilder::scatter(Value tile, Value global, Value offset, Value outer,
                            Value inner, Value rowOffsets, Value valid,
                            int64_t group, bool accumulate) {
  StoreOp::create(b, loc, tile, global, offset, outer, inner,
                  valid, rowOffsets, group, accumulate);
}

void KernelBuilder::gemm(Value a, Value bt, Value acc, bool transposeB) {
  GemmOp::create(b, loc, a, bt, acc, transposeB);
}

void KernelBuilder::reduce(ReduceKind kind, Value source, Value dest) {
  ReduceOp::create(b, loc, kind, source, dest);
}

void KernelBuilder::map(ValueRange inputs, ArrayRef<StringRef> indexing,
                        Value dest, const MapBody &body) {
  auto op = MapOp::create(b, loc, inputs, dest, indexing);
  OpBuilder::InsertionGuard guard(b);
  Block &block = op.getBody().front();
  b.setInsertionPointToStart(&block);
  Value result = body(block.getArguments());
  YieldOp::create(b, loc, result);
}

void KernelBuilder::forLoop(Value lb, Value ub, Value step,
                            const std::function<void(Value)> &body) {
  auto forOp = scf::ForOp::create(b, loc, lb, ub, step);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  body(forOp.getInductionVar());
}

SmallVector<Value> KernelBuilder::forLoop(
    Value lb, Value ub, Value step, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  auto forOp = scf::ForOp::create(b, loc, lb, ub, step, init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    SmallVector<Value> next = body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    scf::YieldOp::create(b, loc, next);
  }
  return SmallVector<Value>(forOp.getResults());
}

void KernelBuilder::ifThen(Value cond, const std::function<void()> &then) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  then();
}

void KernelBuilder::ifThenElse(Value cond, const std::function<void()> &then,
                               const std::function<void()> &otherwise) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  then();
  b.setInsertionPointToStart(ifOp.elseBlock());
  otherwise();
}

PlanKernel KernelBuilder::finish(std::array<SizeExpr, 3> grid) {
  kernel.setType(b.getFunctionType(entry->getArgumentTypes(), {}));
  PlanKernel planKernel;
  planKernel.name = kernel.getSymName().str();
  planKernel.grid = grid;
  planKernel.args = args;
  return planKernel;
}
