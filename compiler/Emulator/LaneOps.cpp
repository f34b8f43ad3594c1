//===- LaneOps.cpp - per-lane and warp-wide ops to emulator calls ---------===//
//
// Every operation whose meaning depends on which thread runs it, or on other
// threads, becomes a call with the lane handle; the runtime implements it
// from the PTX ISA (Warp.h). Operands are checked here only as far as the
// call needs (shapes, types); what PTX leaves undefined at run time
// (misaligned rows, a warp that disagrees) the runtime reports.
//
// Results that NVVM returns as structs (ldmatrix, mma.sync) come back through
// a 16-byte scratch array in the lane's frame: passing structs by value
// would tie the generated code to the C ABI's struct rules.
//
//===----------------------------------------------------------------------===//

#include "Emulator/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::skim::emulator;

namespace {

/// skim::emu::MmaType and ShflMode, as the runtime numbers them.
enum : int32_t { kMmaF16 = 0, kMmaBF16 = 1 };
enum : int32_t { kShflUp = 0, kShflDown = 1, kShflBfly = 2, kShflIdx = 3 };

class LaneLowering {
public:
  LaneLowering(func::FuncOp func, Value lane, const KernelShape &shape,
               Runtime &runtime)
      : func(func), lane(lane), shape(shape), runtime(runtime),
        b(func.getContext()) {}

  LogicalResult run();

private:
  LogicalResult lower(Operation *op);
  LogicalResult lowerSreg(Operation *op, StringRef name);
  LogicalResult lowerShuffle(Operation *op, int32_t mode, Value mask,
                             Value value, Value b, Value c, bool withValid);
  LogicalResult lowerLdMatrix(NVVM::LdMatrixOp op);
  LogicalResult lowerMma(NVVM::MmaOp op);
  LogicalResult lowerCpAsync(NVVM::CpAsyncOp op);
  /// skim-lower-tile-to-gpu's inline wgmma (register A): the asm text names
  /// the shape, the type and imm-trans-b.
  LogicalResult lowerWgmma(LLVM::InlineAsmOp op);
  /// rocdl.mfma.* and rocdl.wmma.* of the bf16/f16 -> f32 shapes AMD
  /// kernels use (AmdWave.h's AmdMatrixOp).
  LogicalResult lowerAmdMatrix(Operation *op, int32_t code);
  /// gpu.shuffle on an AMD wave of shape.waveSize lanes.
  LogicalResult lowerWaveShuffle(gpu::ShuffleOp op);
  /// llvm.amdgcn.permlane64 (gfx11, wave64): the halves of the wave swap,
  /// lane l reads lane l ^ 32.
  LogicalResult lowerPermlane64(LLVM::CallIntrinsicOp op);
  /// A fresh stack array of `count` elements of `type` in the entry block.
  Value entryArray(Location loc, Type type, int64_t count);

  Value call(Location loc, StringRef name, TypeRange results, ValueRange args) {
    ValueRange r = runtime.call(b, loc, name, results, args);
    return r.empty() ? Value() : r.front();
  }
  Value i32(Location loc, int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value index(Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  /// A PTX predicate operand as an i32 for the runtime (1 when absent).
  Value predicate(Location loc, Value p) {
    return p ? arith::ExtUIOp::create(b, loc, b.getI32Type(), p).getResult()
             : i32(loc, 1);
  }
  /// An index or integer of `type` from an index value.
  Value castIndex(Location loc, Value v, Type type) {
    return type.isIndex() ? v : arith::IndexCastOp::create(b, loc, type, v);
  }
  /// Element i of the scratch array, read as `type`.
  Value loadScratch(Location loc, Type type, int i) {
    auto ptr = LLVM::LLVMPointerType::get(b.getContext());
    Value at = LLVM::GEPOp::create(b, loc, ptr, type, scratchArray(),
                                   ArrayRef<LLVM::GEPArg>{i});
    return LLVM::LoadOp::create(b, loc, type, at);
  }
  Value scratchArray();
  /// `values` as the op's result type: the value itself, or a struct.
  Value pack(Location loc, Type type, ArrayRef<Value> values);
  /// A 32-bit register: i32 as is, any other 32-bit type bitcast.
  FailureOr<Value> asI32(Location loc, Value v, Operation *op);

  func::FuncOp func;
  Value lane;
  const KernelShape &shape;
  Runtime &runtime;
  IRRewriter b;
  Value scratch;
  /// The accumulator array of every wgmma (lowerWgmma).
  Value wgmmaScratch;
};

Value LaneLowering::scratchArray() {
  if (!scratch) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&func.front());
    Location loc = func.getLoc();
    Value four = LLVM::ConstantOp::create(b, loc, b.getI64Type(), b.getI64IntegerAttr(4));
    scratch = LLVM::AllocaOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()),
                                     b.getI32Type(), four, /*alignment=*/16);
  }
  return scratch;
}

Value LaneLowering::entryArray(Location loc, Type type, int64_t count) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&func.front());
  Value n = LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                     b.getI64IntegerAttr(count));
  return LLVM::AllocaOp::create(b, loc,
                                LLVM::LLVMPointerType::get(b.getContext()),
                                type, n, /*alignment=*/16);
}

/// The AmdWave.h number of a ROCDL matrix intrinsic, or -1.
static int32_t amdMatrixCode(StringRef name) {
  return llvm::StringSwitch<int32_t>(name)
      .Case("rocdl.mfma.f32.32x32x8f16", 0)
      .Case("rocdl.mfma.f32.32x32x8bf16.1k", 1)
      .Case("rocdl.mfma.f32.16x16x16f16", 2)
      .Case("rocdl.mfma.f32.16x16x16bf16.1k", 3)
      .Case("rocdl.wmma.f32.16x16x16.f16", 4)
      .Case("rocdl.wmma.f32.16x16x16.bf16", 5)
      .Default(-1);
}

LogicalResult LaneLowering::lowerAmdMatrix(Operation *op, int32_t code) {
  Location loc = op->getLoc();
  // MFMA: (a, b, c, cbsz, abid, blgp); WMMA: (a, b, c). Broadcast controls
  // other than 0 are not emulated.
  bool mfma = code < 4;
  // WMMA's name is the same in both wave sizes; the wave64 forms are the
  // next two numbers.
  if (!mfma && shape.waveSize == 64)
    code += 2;
  if (op->getNumOperands() != (mfma ? 6u : 3u))
    return op->emitOpError("lane emulator: unexpected operand count");
  if (mfma)
    for (Value control : op->getOperands().drop_front(3)) {
      APInt v;
      if (!matchPattern(control, m_ConstantInt(&v)) || !v.isZero())
        return op->emitOpError(
            "lane emulator: only cbsz = abid = blgp = 0 is emulated");
    }
  auto vectorOf = [&](Value v) { return dyn_cast<VectorType>(v.getType()); };
  VectorType aType = vectorOf(op->getOperand(0)),
             bType = vectorOf(op->getOperand(1)),
             cType = vectorOf(op->getOperand(2));
  // MFMA 32x32x8: 16 a lane; MFMA 16x16x16 and wave64 WMMA: 4; WMMA: 8.
  int64_t items = mfma ? 4 : 16;
  int64_t accumulators = code < 2 ? 16 : (code < 4 || code >= 6) ? 4 : 8;
  if (!aType || !bType || !cType || aType.getNumElements() != items ||
      bType != aType || cType.getNumElements() != accumulators ||
      !cType.getElementType().isF32() ||
      aType.getElementType().getIntOrFloatBitWidth() != 16)
    return op->emitOpError("lane emulator: operand types do not match the "
                           "instruction");
  Type i16 = b.getI16Type();
  auto i16s = VectorType::get({items}, i16);
  // The arrays are 16-byte aligned: vector accesses must not assume the
  // vector's own (up to 64-byte) alignment.
  auto store = [&](Value v, Value array) {
    if (v.getType() != i16s)
      v = LLVM::BitcastOp::create(b, loc, i16s, v);
    LLVM::StoreOp::create(b, loc, v, array, /*alignment=*/16);
  };
  Value a = entryArray(loc, i16, items), bArray = entryArray(loc, i16, items),
        c = entryArray(loc, b.getF32Type(), accumulators);
  store(op->getOperand(0), a);
  store(op->getOperand(1), bArray);
  LLVM::StoreOp::create(b, loc, op->getOperand(2), c, /*alignment=*/16);
  call(loc, "skim_emu_amd_matrix", {}, {lane, i32(loc, code), a, bArray, c});
  b.replaceOp(op, LLVM::LoadOp::create(b, loc, cType, c, /*alignment=*/16)
                      .getResult());
  return success();
}

LogicalResult LaneLowering::lowerWaveShuffle(gpu::ShuffleOp op) {
  Location loc = op.getLoc();
  // AmdWave.h's WaveShuffleMode.
  int32_t mode = op.getMode() == gpu::ShuffleMode::XOR    ? 0
                 : op.getMode() == gpu::ShuffleMode::UP   ? 1
                 : op.getMode() == gpu::ShuffleMode::DOWN ? 2
                                                          : 3;
  FailureOr<Value> bits = asI32(loc, op.getValue(), op);
  if (failed(bits))
    return failure();
  Value r = call(loc, "skim_emu_wave_shuffle", b.getI64Type(),
                 {lane, i32(loc, shape.waveSize), i32(loc, mode), *bits,
                  op.getOffset(), op.getWidth()});
  Value d = arith::TruncIOp::create(b, loc, b.getI32Type(), r);
  if (op.getValue().getType() != d.getType())
    d = LLVM::BitcastOp::create(b, loc, op.getValue().getType(), d);
  Value shifted = arith::ShRUIOp::create(
      b, loc, r, arith::ConstantIntOp::create(b, loc, b.getI64Type(), 32));
  Value valid = arith::TruncIOp::create(b, loc, b.getI1Type(), shifted);
  b.replaceOp(op, {d, valid});
  return success();
}

LogicalResult LaneLowering::lowerPermlane64(LLVM::CallIntrinsicOp op) {
  Location loc = op.getLoc();
  if (shape.waveSize != 64 || op->getNumOperands() != 1 ||
      !op->getOperand(0).getType().isInteger(32))
    return op->emitOpError("lane emulator: llvm.amdgcn.permlane64 takes one "
                           "i32 in a wave of 64 lanes");
  Value r = call(loc, "skim_emu_wave_shuffle", b.getI64Type(),
                 {lane, i32(loc, 64), i32(loc, 0), op->getOperand(0),
                  i32(loc, 32), i32(loc, 64)});
  b.replaceOp(op, arith::TruncIOp::create(b, loc, b.getI32Type(), r));
  return success();
}

Value LaneLowering::pack(Location loc, Type type, ArrayRef<Value> values) {
  auto structType = dyn_cast<LLVM::LLVMStructType>(type);
  if (!structType)
    return values.front();
  Value s = LLVM::PoisonOp::create(b, loc, structType);
  for (auto [i, v] : llvm::enumerate(values))
    s = LLVM::InsertValueOp::create(b, loc, s, v, ArrayRef<int64_t>{int64_t(i)});
  return s;
}

FailureOr<Value> LaneLowering::asI32(Location loc, Value v, Operation *op) {
  Type t = v.getType();
  if (t.isInteger(32))
    return v;
  auto vec = dyn_cast<VectorType>(t);
  unsigned bits = t.isIntOrFloat() ? t.getIntOrFloatBitWidth()
                  : vec && vec.getRank() == 1 && vec.getElementType().isIntOrFloat()
                      ? unsigned(vec.getNumElements()) *
                            vec.getElementType().getIntOrFloatBitWidth()
                      : 0;
  if (bits != 32) {
    op->emitOpError("lane emulator: a 32-bit register was expected, got ") << t;
    return failure();
  }
  return LLVM::BitcastOp::create(b, loc, b.getI32Type(), v).getResult();
}

LogicalResult LaneLowering::lowerSreg(Operation *op, StringRef name) {
  Location loc = op->getLoc();
  Type type = op->getResult(0).getType();
  auto dimOf = [&](StringRef suffix) -> int {
    return suffix == "x" ? 0 : suffix == "y" ? 1 : suffix == "z" ? 2 : -1;
  };
  Value v;
  if (name.consume_front("tid.") && dimOf(name) >= 0)
    v = call(loc, "skim_emu_thread_id", b.getIndexType(), {lane, i32(loc, dimOf(name))});
  else if (name.consume_front("ctaid.") && dimOf(name) >= 0)
    v = call(loc, "skim_emu_block_id", b.getIndexType(), {lane, i32(loc, dimOf(name))});
  else if (name.consume_front("ntid.") && dimOf(name) >= 0)
    v = index(loc, shape.block[dimOf(name)]);
  else if (name == "laneid")
    v = call(loc, "skim_emu_lane_id", b.getIndexType(), {lane});
  else if (name == "warpsize")
    v = index(loc, 32);
  else
    return op->emitOpError("lane emulator: no emulation for this special register");
  b.replaceOp(op, castIndex(loc, v, type));
  return success();
}

LogicalResult LaneLowering::lowerShuffle(Operation *op, int32_t mode, Value mask,
                                         Value value, Value lanePick, Value c,
                                         bool withValid) {
  Location loc = op->getLoc();
  Type type = value.getType();
  FailureOr<Value> bits = asI32(loc, value, op);
  if (failed(bits))
    return failure();
  Value r = call(loc, "skim_emu_shfl", b.getI64Type(),
                 {lane, i32(loc, mode), mask, *bits, lanePick, c});
  Value d = arith::TruncIOp::create(b, loc, b.getI32Type(), r);
  if (type != d.getType())
    d = LLVM::BitcastOp::create(b, loc, type, d);
  Value shifted = arith::ShRUIOp::create(
      b, loc, r, arith::ConstantIntOp::create(b, loc, b.getI64Type(), 32));
  Value p = arith::TruncIOp::create(b, loc, b.getI1Type(), shifted);
  if (op->getNumResults() == 2) { // gpu.shuffle: (value, valid)
    b.replaceOp(op, {d, p});
    return success();
  }
  b.replaceOp(op, withValid ? pack(loc, op->getResult(0).getType(), {d, p}) : d);
  return success();
}

LogicalResult LaneLowering::lowerLdMatrix(NVVM::LdMatrixOp op) {
  Location loc = op.getLoc();
  NVVM::LdStMatrixShapeAttr s = op.getShape();
  if (s.getM() != 8 || s.getN() != 8 || op.getEltType() != NVVM::LdStMatrixEltType::B16)
    return op.emitOpError("lane emulator: only ldmatrix.m8n8 of b16 is emulated");
  int num = int(op.getNum());
  bool trans = op.getLayout() == NVVM::MMALayout::col;
  call(loc, "skim_emu_ldmatrix", {},
       {lane, op.getPtr(), i32(loc, num), i32(loc, trans), scratchArray()});
  SmallVector<Value> regs;
  for (int i = 0; i < num; ++i)
    regs.push_back(loadScratch(loc, b.getI32Type(), i));
  b.replaceOp(op, pack(loc, op.getType(), regs));
  return success();
}

LogicalResult LaneLowering::lowerMma(NVVM::MmaOp op) {
  Location loc = op.getLoc();
  NVVM::MMAShapeAttr s = op.getShapeAttr();
  if (s.getM() != 16 || s.getN() != 8 || s.getK() != 16)
    return op.emitOpError("lane emulator: only mma.sync m16n8k16 is emulated");
  if (op.getLayoutA() != NVVM::MMALayout::row ||
      op.getLayoutB() != NVVM::MMALayout::col)
    return op.emitOpError("lane emulator: only the row.col layout exists for m16n8k16");
  // The element type: from the PTX type attributes, or else from 2 x f16
  // operands (bf16 travels in i32 registers and always names its type).
  auto typeOf = [&](std::optional<NVVM::MMATypes> given, Value operand) -> int32_t {
    if (given)
      return *given == NVVM::MMATypes::f16 ? kMmaF16 : *given == NVVM::MMATypes::bf16 ? kMmaBF16 : -1;
    auto vec = dyn_cast<VectorType>(operand.getType());
    if (vec && vec.getElementType().isF16())
      return kMmaF16;
    if (vec && vec.getElementType().isBF16())
      return kMmaBF16;
    return -1;
  };
  if (op.getOperandA().size() != 4 || op.getOperandB().size() != 2 ||
      op.getOperandC().size() != 4)
    return op.emitOpError("lane emulator: m16n8k16 takes 4 A, 2 B and 4 C registers");
  int32_t aType = typeOf(op.getMultiplicandAPtxType(), op.getOperandA()[0]);
  int32_t bType = typeOf(op.getMultiplicandBPtxType(), op.getOperandB()[0]);
  if (aType < 0 || aType != bType)
    return op.emitOpError("lane emulator: A and B must both be f16 or both bf16");
  for (Value c : op.getOperandC())
    if (!c.getType().isF32())
      return op.emitOpError("lane emulator: only f32 accumulators are emulated");
  SmallVector<Value> args{lane, i32(loc, aType)};
  for (Value v : llvm::concat<Value>(op.getOperandA(), op.getOperandB())) {
    FailureOr<Value> reg = asI32(loc, v, op);
    if (failed(reg))
      return failure();
    args.push_back(*reg);
  }
  llvm::append_range(args, op.getOperandC());
  args.push_back(scratchArray());
  call(loc, "skim_emu_mma_m16n8k16", {}, args);
  SmallVector<Value> d;
  for (int i = 0; i < 4; ++i)
    d.push_back(loadScratch(loc, b.getF32Type(), i));
  b.replaceOp(op, pack(loc, op.getType(), d));
  return success();
}

LogicalResult LaneLowering::lowerCpAsync(NVVM::CpAsyncOp op) {
  Location loc = op.getLoc();
  int32_t bytes = int32_t(op.getSize());
  // The optional operand is PTX's src-size: bytes read, the rest zero-filled.
  Value srcBytes = op.getCpSize() ? op.getCpSize() : i32(loc, bytes);
  call(loc, "skim_emu_cp_async", {},
       {lane, op.getDst(), op.getSrc(), i32(loc, bytes), srcBytes});
  b.eraseOp(op);
  return success();
}

LogicalResult LaneLowering::lowerWgmma(LLVM::InlineAsmOp op) {
  Location loc = op.getLoc();
  // "wgmma.mma_async.sync.aligned.m64n<N>k16.f32.<t>.<t> {d..}, {a0..a3},
  // desc, <scale-d>, 1, 1, <trans-b>;" with operands (d.., a0..a3, desc),
  // or (a0..a3, desc) when scale-d is 0 (D = A·B, the old D unread).
  StringRef text = op.getAsmString();
  StringRef rest = text;
  int64_t n = 0;
  if (!rest.consume_front("wgmma.mma_async.sync.aligned.m64n") ||
      rest.consumeInteger(10, n) || !rest.consume_front("k16.f32."))
    return op.emitOpError("lane emulator: not an inline wgmma it knows: ") << text;
  int32_t type = rest.starts_with("bf16.bf16 ") ? kMmaBF16
                 : rest.starts_with("f16.f16 ") ? kMmaF16
                                                : -1;
  StringRef tail = text.rtrim(" ;");
  bool transB = tail.ends_with("1");
  StringRef flags = tail.drop_back(1);
  bool accumulate = flags.ends_with(", 1, 1, 1, ");
  if (type < 0 || (!accumulate && !flags.ends_with(", 0, 1, 1, ")))
    return op.emitOpError("lane emulator: wgmma other than A in registers, "
                          "scale-a/b 1, f16/bf16: ")
           << text;
  int64_t values = n / 2;
  int64_t inputs = accumulate ? values : 0;
  if (int64_t(op.getOperands().size()) != inputs + 5)
    return op.emitOpError("lane emulator: wgmma operands are N/2 accumulators "
                          "(with scale-d 1), 4 A registers and a descriptor");
  // The accumulators through an f32 array the runtime reads and rewrites:
  // one per lane function, sized for the widest wgmma (N = 256), shared by
  // every wgmma site (a kernel has a dozen or more).
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  if (!wgmmaScratch) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&func.front());
    Value count = LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                           b.getI64IntegerAttr(128));
    wgmmaScratch = LLVM::AllocaOp::create(b, loc, ptr, b.getF32Type(), count, 16);
  }
  Value acc = wgmmaScratch;
  Type f32 = b.getF32Type();
  Value zero = LLVM::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(0.0f));
  for (int64_t i = 0; i < values; ++i) {
    Value at = LLVM::GEPOp::create(b, loc, ptr, f32, acc, ArrayRef<LLVM::GEPArg>{int32_t(i)});
    LLVM::StoreOp::create(b, loc, accumulate ? op.getOperands()[i] : zero, at);
  }
  SmallVector<Value> args{lane, i32(loc, type), i32(loc, int32_t(n)),
                          i32(loc, transB ? 1 : 0),
                          op.getOperands()[inputs + 4]};
  for (int64_t r = 0; r < 4; ++r) {
    FailureOr<Value> reg = asI32(loc, op.getOperands()[inputs + r], op);
    if (failed(reg))
      return failure();
    args.push_back(*reg);
  }
  args.push_back(acc);
  call(loc, "skim_emu_wgmma", {}, args);
  SmallVector<Value> d;
  for (int64_t i = 0; i < values; ++i) {
    Value at = LLVM::GEPOp::create(b, loc, ptr, f32, acc, ArrayRef<LLVM::GEPArg>{int32_t(i)});
    d.push_back(LLVM::LoadOp::create(b, loc, f32, at));
  }
  b.replaceOp(op, pack(loc, op.getResult(0).getType(), d));
  return success();
}

LogicalResult LaneLowering::lower(Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  auto dimOf = [](gpu::Dimension d) { return int(d); };
  auto unary = [&](Operation *o, StringRef name) {
    Value x = o->getOperand(0);
    b.replaceOp(o, call(loc, name, x.getType(), {x}));
    return success();
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<gpu::ThreadIdOp>([&](auto o) {
        b.replaceOp(o, call(loc, "skim_emu_thread_id", b.getIndexType(),
                            {lane, i32(loc, dimOf(o.getDimension()))}));
        return success();
      })
      .Case<gpu::BlockIdOp>([&](auto o) {
        b.replaceOp(o, call(loc, "skim_emu_block_id", b.getIndexType(),
                            {lane, i32(loc, dimOf(o.getDimension()))}));
        return success();
      })
      .Case<gpu::BlockDimOp>([&](auto o) {
        b.replaceOp(o, index(loc, shape.block[dimOf(o.getDimension())]));
        return success();
      })
      .Case<gpu::LaneIdOp>([&](auto o) {
        b.replaceOp(o, call(loc, "skim_emu_lane_id", b.getIndexType(), {lane}));
        return success();
      })
      .Case<gpu::BarrierOp, NVVM::Barrier0Op>([&](Operation *o) {
        call(loc, "skim_emu_barrier", {}, {lane});
        b.eraseOp(o);
        return success();
      })
      .Case<NVVM::BarrierOp>([&](NVVM::BarrierOp o) -> LogicalResult {
        if (o.getReductionOp() || o->getNumResults() ||
            bool(o.getBarrierId()) != bool(o.getNumberOfThreads()))
          return o.emitOpError("lane emulator: only bar.sync 0 and bar.sync id, "
                               "threads are emulated");
        if (o.getBarrierId())
          call(loc, "skim_emu_named_barrier", {},
               {lane, o.getBarrierId(), o.getNumberOfThreads()});
        else
          call(loc, "skim_emu_barrier", {}, {lane});
        b.eraseOp(o);
        return success();
      })
      // Register reallocation changes nothing a lane computes.
      .Case<NVVM::SetMaxRegisterOp>([&](auto o) {
        b.eraseOp(o);
        return success();
      })
      .Case<gpu::DynamicSharedMemoryOp>([&](auto o) {
        auto type = cast<MemRefType>(o.getType());
        auto ptr = LLVM::LLVMPointerType::get(b.getContext());
        Value base = call(loc, "skim_emu_shared", ptr, {lane});
        // memref<?xi8> over the CTA's buffer: the descriptor of
        // finalize-memref-to-llvm, which the cast folds into.
        Type i64 = b.getI64Type();
        auto descType = LLVM::LLVMStructType::getLiteral(
            b.getContext(), {ptr, ptr, i64, LLVM::LLVMArrayType::get(i64, 1),
                             LLVM::LLVMArrayType::get(i64, 1)});
        auto c64 = [&](int64_t v) {
          return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
        };
        Value d = LLVM::PoisonOp::create(b, loc, descType);
        d = LLVM::InsertValueOp::create(b, loc, d, base, ArrayRef<int64_t>{0});
        d = LLVM::InsertValueOp::create(b, loc, d, base, ArrayRef<int64_t>{1});
        d = LLVM::InsertValueOp::create(b, loc, d, c64(0), ArrayRef<int64_t>{2});
        d = LLVM::InsertValueOp::create(b, loc, d, c64(shape.sharedBytes),
                                        ArrayRef<int64_t>{3, 0});
        d = LLVM::InsertValueOp::create(b, loc, d, c64(1), ArrayRef<int64_t>{4, 0});
        b.replaceOp(o, UnrealizedConversionCastOp::create(b, loc, type, d).getResult(0));
        return success();
      })
      .Case<gpu::ShuffleOp>([&](auto o) {
        if (shape.waveSize)
          return lowerWaveShuffle(o);
        int32_t mode = o.getMode() == gpu::ShuffleMode::XOR    ? kShflBfly
                       : o.getMode() == gpu::ShuffleMode::UP   ? kShflUp
                       : o.getMode() == gpu::ShuffleMode::DOWN ? kShflDown
                                                               : kShflIdx;
        // The operands convert-gpu-to-nvvm gives shfl.sync: member mask
        // -1 >> (32 - width), and c = 32 - width for up, width - 1 otherwise.
        Value width = o.getWidth();
        Value lead = arith::SubIOp::create(b, loc, i32(loc, 32), width);
        Value mask = arith::ShRUIOp::create(b, loc, i32(loc, -1), lead);
        Value c = mode == kShflUp
                      ? lead
                      : arith::SubIOp::create(b, loc, width, i32(loc, 1)).getResult();
        return lowerShuffle(o, mode, mask, o.getValue(), o.getOffset(), c, true);
      })
      .Case<NVVM::ShflOp>([&](auto o) {
        int32_t mode = o.getKind() == NVVM::ShflKind::bfly ? kShflBfly
                       : o.getKind() == NVVM::ShflKind::up ? kShflUp
                       : o.getKind() == NVVM::ShflKind::down ? kShflDown
                                                             : kShflIdx;
        return lowerShuffle(o, mode, o.getThreadMask(), o.getVal(), o.getOffset(),
                            o.getMaskAndClamp(),
                            o.getReturnValueAndIsValid().value_or(false));
      })
      .Case<NVVM::LdMatrixOp>([&](auto o) { return lowerLdMatrix(o); })
      .Case<NVVM::MmaOp>([&](auto o) { return lowerMma(o); })
      .Case<NVVM::CpAsyncOp>([&](auto o) { return lowerCpAsync(o); })
      // mbarriers and TMA copies (skim_emu_tma_load completes at issue).
      .Case<NVVM::MBarrierInitOp>([&](NVVM::MBarrierInitOp o) {
        call(loc, "skim_emu_mbarrier_init", {},
             {lane, o.getAddr(), o.getCount(), predicate(loc, o.getPredicate())});
        b.eraseOp(o);
        return success();
      })
      .Case<NVVM::MBarrierArriveExpectTxOp>(
          [&](NVVM::MBarrierArriveExpectTxOp o) -> LogicalResult {
            if (o->getNumResults() && !o->getResult(0).use_empty())
              return o.emitOpError("lane emulator: the arrival state is not modelled");
            call(loc, "skim_emu_mbarrier_arrive_expect_tx", {},
                 {lane, o.getAddr(), o.getTxcount(),
                  predicate(loc, o.getPredicate())});
            b.eraseOp(o);
            return success();
          })
      .Case<NVVM::MBarrierArriveOp>([&](NVVM::MBarrierArriveOp o) -> LogicalResult {
        if ((o->getNumResults() && !o->getResult(0).use_empty()) || o.getCount() ||
            o.getRelaxed())
          return o.emitOpError("lane emulator: only a plain arrive (count 1, "
                               "state unused) is modelled");
        call(loc, "skim_emu_mbarrier_arrive", {}, {lane, o.getAddr()});
        b.eraseOp(o);
        return success();
      })
      .Case<NVVM::MBarrierTryWaitParityOp>([&](NVVM::MBarrierTryWaitParityOp o) {
        call(loc, "skim_emu_mbarrier_try_wait_parity", {},
             {lane, o.getAddr(), o.getPhase()});
        b.eraseOp(o);
        return success();
      })
      .Case<NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp>(
          [&](NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp o) -> LogicalResult {
            int64_t rank = o.getCoordinates().size();
            if (rank < 1 || rank > 5 || !o.getIm2colOffsets().empty() ||
                o.getMulticastMask() || o.getL2CacheHint())
              return o.emitOpError("lane emulator: only tiled TMA loads of "
                                   "rank 1 to 5 without multicast or hints");
            SmallVector<Value> args = {lane, o.getDstMem(), o.getTmaDescriptor(),
                                       o.getMbar(), i32(loc, rank)};
            for (int64_t d = 0; d < 5; ++d)
              args.push_back(d < rank ? o.getCoordinates()[d] : i32(loc, 0));
            args.push_back(predicate(loc, o.getPredicate()));
            call(loc, "skim_emu_tma_load", {}, args);
            b.eraseOp(o);
            return success();
          })
      .Case<NVVM::CpAsyncCommitGroupOp>([&](auto o) {
        call(loc, "skim_emu_cp_async_commit", {}, {lane});
        b.eraseOp(o);
        return success();
      })
      .Case<NVVM::CpAsyncWaitGroupOp>([&](auto o) {
        call(loc, "skim_emu_cp_async_wait", {}, {lane, i32(loc, o.getN())});
        b.eraseOp(o);
        return success();
      })
      .Case<LLVM::InlineAsmOp>([&](LLVM::InlineAsmOp o) -> LogicalResult {
        // An empty asm tying its one output to its one input pins a
        // register after a wgmma wait: a copy here.
        if (o.getAsmString().empty() && o.getNumOperands() == 1 &&
            o.getNumResults() == 1) {
          b.replaceOp(o, o.getOperand(0));
          return success();
        }
        // red.global.v2.f32.add: two atomic adds at the address and the
        // next float (one memory, so the pair needs no more).
        if (o.getAsmString().starts_with("red.global.v2.f32.add")) {
          Value ptr = o.getOperand(0);
          for (int64_t i = 0; i < 2; ++i) {
            Value at = i == 0 ? ptr
                              : LLVM::GEPOp::create(b, loc, ptr.getType(),
                                                    b.getF32Type(), ptr,
                                                    ArrayRef<LLVM::GEPArg>{1});
            LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::fadd, at,
                                      o.getOperand(1 + i),
                                      LLVM::AtomicOrdering::monotonic);
          }
          b.eraseOp(o);
          return success();
        }
        return lowerWgmma(o);
      })
      // wgmma completes when its warpgroup has arrived (skim_emu_wgmma), and
      // the emulator has one memory: fences, commits and waits are no-ops.
      .Case<NVVM::WgmmaFenceAlignedOp, NVVM::WgmmaGroupSyncAlignedOp,
            NVVM::WgmmaWaitGroupSyncOp, NVVM::FenceProxyOp,
            NVVM::FenceMbarrierInitOp>([&](Operation *o) {
        b.eraseOp(o);
        return success();
      })
      .Case<LLVM::CallIntrinsicOp>([&](auto o) -> LogicalResult {
        StringRef name = o.getIntrin();
        // ftz differs only for subnormal inputs and results.
        // AMD's v_exp_f32 / v_log_f32 are the same base-2 approximations.
        if (name == "llvm.nvvm.ex2.approx.f32" || name == "llvm.nvvm.ex2.approx.ftz.f32" ||
            name == "llvm.amdgcn.exp2.f32")
          return unary(o, "skim_emu_ex2");
        if (name == "llvm.nvvm.lg2.approx.f" || name == "llvm.nvvm.lg2.approx.ftz.f" ||
            name == "llvm.amdgcn.log.f32")
          return unary(o, "skim_emu_lg2");
        if (name == "llvm.amdgcn.permlane64")
          return lowerPermlane64(o);
        if (name.starts_with("llvm.nvvm.") || name.starts_with("llvm.amdgcn."))
          return o.emitOpError("lane emulator: no emulation for ") << name;
        return success(); // a target-independent intrinsic: the CPU has it
      })
      .Case<gpu::ReturnOp>([&](auto o) {
        b.replaceOpWithNewOp<func::ReturnOp>(o);
        return success();
      })
      .Default([&](Operation *o) -> LogicalResult {
        StringRef name = o->getName().getStringRef();
        if (name == "nvvm.bar.warp.sync") {
          call(loc, "skim_emu_warp_sync", {}, {lane, o->getOperand(0)});
          b.eraseOp(o);
          return success();
        }
        if (name.consume_front("nvvm.read.ptx.sreg."))
          return lowerSreg(o, name);
        if (int32_t code = amdMatrixCode(name); code >= 0)
          return lowerAmdMatrix(o, code);
        return success();
      });
}

LogicalResult LaneLowering::run() {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) { ops.push_back(op); });
  for (Operation *op : ops)
    if (failed(lower(op)))
      return failure();
  // Whatever GPU or NVVM operation is left has no emulation: say so rather
  // than let the CPU lowering fail on it later.
  WalkResult left = func.walk([&](Operation *op) {
    StringRef dialect = op->getDialect() ? op->getDialect()->getNamespace() : "";
    if (dialect == "gpu" || dialect == "nvvm" || dialect == "rocdl" ||
        isa<LLVM::InlineAsmOp>(op)) {
      op->emitOpError("lane emulator: no emulation for this operation");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(left.wasInterrupted());
}

} // namespace

LogicalResult mlir::skim::emulator::lowerLaneOps(func::FuncOp laneFunc, Value lane,
                                                 const KernelShape &shape,
                                                 Runtime &runtime) {
  return LaneLowering(laneFunc, lane, shape, runtime).run();
}
