//===- SkimTileOps.cpp - skim_tile operations -----------------------------===//

#include "SkimTile/IR/SkimTileOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::skim::tile;

#include "SkimTile/IR/SkimTileEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "SkimTile/IR/SkimTileAttrs.cpp.inc"

void SkimTileDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "SkimTile/IR/SkimTileAttrs.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "SkimTile/IR/SkimTileOps.cpp.inc"

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<MemRefType>(v.getType()).getShape();
}

LogicalResult AllocOp::verify() {
  if (!getType().hasStaticShape())
    return emitOpError("tiles have static shapes, got ") << getType();
  return success();
}

/// A tile row of `cols` elements is read from or written to a 1-D global.
static LogicalResult verifyRowTransfer(Operation *op, Value tile, int64_t group) {
  if (cast<MemRefType>(tile.getType()).getRank() != 2)
    return op->emitOpError("transfers rank-2 tiles, got ") << tile.getType();
  if (group <= 0)
    return op->emitOpError("group must be > 0, got ") << group;
  return success();
}

LogicalResult LoadOp::verify() {
  if (getCoords().empty() != !getRowDim())
    return emitOpError("takes `coords` and `row_dim` together");
  if (!getCoords().empty()) {
    int64_t rank = getCoords().size();
    int64_t rowDim = static_cast<int64_t>(*getRowDim());
    if (rowDim < 0 || rowDim >= rank - 1)
      return emitOpError() << "row_dim " << rowDim
                           << " must name an outer dimension of the rank-"
                           << rank << " coordinates";
    if (getGroup() != 1)
      return emitOpError("with coordinates needs group 1");
  }
  if (getRowOffsets() && (!getCoords().empty() || getTranspose()))
    return emitOpError("gathers rows (row_offsets) without coordinates or "
                       "transpose");
  return verifyRowTransfer(*this, getDest(), getGroup());
}

LogicalResult StoreOp::verify() {
  if (!isa<FloatType>(cast<MemRefType>(getDest().getType()).getElementType()))
    return emitOpError("stores f32 tiles into float tensors, got ")
           << getDest().getType();
  if (getAccumulate() &&
      !cast<MemRefType>(getDest().getType()).getElementType().isF32())
    return emitOpError("accumulates (atomic adds) into f32 tensors only, got ")
           << getDest().getType();
  return verifyRowTransfer(*this, getSource(), getGroup());
}

LogicalResult GemmOp::verify() {
  ArrayRef<int64_t> a = shapeOf(getA()), b = shapeOf(getB()), c = shapeOf(getAcc());
  if (a.size() != 2 || b.size() != 2 || c.size() != 2)
    return emitOpError("operands must be rank-2 tiles");
  int64_t k = a[1];
  int64_t bk = getTransposeB() ? b[1] : b[0];
  int64_t bn = getTransposeB() ? b[0] : b[1];
  if (bk != k)
    return emitOpError() << "contraction size differs: a is " << a[0] << "x"
                         << a[1] << ", b gives K = " << bk;
  if (c[0] != a[0] || c[1] != bn)
    return emitOpError() << "acc is " << c[0] << "x" << c[1] << ", expected "
                         << a[0] << "x" << bn;
  return success();
}

LogicalResult ReduceOp::verify() {
  ArrayRef<int64_t> src = shapeOf(getSource()), dst = shapeOf(getDest());
  if (src.size() != 2 || dst.size() != 1 || dst[0] != src[0])
    return emitOpError() << "reduces an MxN tile into an M row vector";
  return success();
}

void MapOp::build(OpBuilder &builder, OperationState &state, ValueRange inputs,
                  Value dest, ArrayRef<StringRef> indexing) {
  state.addOperands(inputs);
  state.addOperands(dest);
  state.addAttribute(getIndexingAttrName(state.name),
                     builder.getStrArrayAttr(indexing));
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  int64_t rank = cast<MemRefType>(dest.getType()).getRank();
  Location loc = state.location;
  for (int64_t i = 0; i < rank; ++i)
    block->addArgument(builder.getIndexType(), loc);
  for (size_t i = 0; i < inputs.size() + 1; ++i)
    block->addArgument(builder.getF32Type(), loc);
}

LogicalResult MapOp::verify() {
  ArrayRef<int64_t> dest = shapeOf(getDest());
  if (getIndexing().size() != getInputs().size())
    return emitOpError() << "needs one indexing entry per input, got "
                         << getIndexing().size() << " for "
                         << getInputs().size();
  for (auto [i, input, attr] :
       llvm::enumerate(getInputs(), getIndexing().getAsRange<StringAttr>())) {
    ArrayRef<int64_t> shape = shapeOf(input);
    StringRef kind = attr.getValue();
    bool ok = (kind == "ij" && shape == dest) ||
              (kind == "i" && shape.size() == 1 && shape[0] == dest[0]) ||
              (kind == "i" && dest.size() == 2 && shape.size() == 2 &&
               shape[0] == dest[0] && shape[1] == 1) ||
              (kind == "j" && dest.size() == 2 && shape.size() == 1 &&
               shape[0] == dest[1]);
    if (!ok)
      return emitOpError() << "input #" << i << " of shape "
                           << cast<MemRefType>(input.getType())
                           << " cannot be read with indexing \"" << kind << "\"";
  }
  Block &block = getBody().front();
  size_t expected = dest.size() + getInputs().size() + 1;
  if (block.getNumArguments() != expected)
    return emitOpError() << "body takes " << dest.size()
                         << " indices, one f32 per input and the current "
                            "element: expected "
                         << expected << " arguments, got "
                         << block.getNumArguments();
  return success();
}
