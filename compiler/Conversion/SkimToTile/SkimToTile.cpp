//===- SkimToTile.cpp - primitive skim ops to tile kernels + launch plan --===//
//
// Walks the variant function in order. Every tensor gets a plan buffer (the
// function's arguments and results are the caller's; the rest is
// workspace), every index value a size expression, and every stage a
// kernel. Two fusions keep block scores out of memory: a compressed
// attention whose LSE feeds nsa block_scores feeding a topk is one kernel,
// and moba block_scores feeding a topk is one kernel.
//
//===----------------------------------------------------------------------===//

#include "Conversion/Passes.h"
#include "Conversion/SkimToTile/DefaultSchedule.h"
#include "Conversion/SkimToTile/Kernels.h"
#include "Skim/IR/SkimOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMTILEPASS
#include "Conversion/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;
using namespace mlir::skim;

namespace {

class PlanBuilder {
public:
  PlanBuilder(ModuleOp module, func::FuncOp func,
              const ScheduleDefaults &defaults, bool overlapSoftmax,
              bool prefetchSelections)
      : module(module), func(func), defaults(defaults),
        overlapSoftmax(overlapSoftmax),
        prefetchSelections(prefetchSelections) {}
  LogicalResult build();
  Plan plan;

private:
  LogicalResult visit(Operation *op);
  LogicalResult visitAttention(AttentionOp op);
  LogicalResult emitKvMajor(AttentionOp op, const AttentionSpec &spec,
                            ScheduleAttr schedule);
  LogicalResult visitPool(PoolOp op);
  LogicalResult visitBlockScores(BlockScoresOp op);
  LogicalResult visitTopk(TopkOp op);
  LogicalResult visitCombine(Operation *op, bool merge);

  BufferRef ref(Value v) {
    return BufferRef{buffers.lookup(v),
                     cast<RankedTensorType>(v.getType()).getElementType()};
  }
  SizeExpr dimExpr(Value tensor, unsigned d) {
    int64_t size = cast<RankedTensorType>(tensor.getType()).getDimSize(d);
    if (!ShapedType::isDynamic(size))
      return SizeExpr::constant(size);
    return SizeExpr::dim(buffers.lookup(tensor), d);
  }
  BufferRef newBuffer(Value v, std::vector<SizeExpr> dims) {
    PlanBuffer buffer;
    buffer.kind = PlanBuffer::Kind::Workspace;
    buffer.index = -1;
    buffer.dtype = dtypeName(cast<RankedTensorType>(v.getType()).getElementType());
    buffer.dims = std::move(dims);
    buffers[v] = static_cast<int>(plan.buffers.size());
    plan.buffers.push_back(buffer);
    return ref(v);
  }
  /// A workspace buffer no tensor of the variant names.
  BufferRef newWorkspace(Type elementType, std::vector<SizeExpr> dims) {
    PlanBuffer buffer;
    buffer.kind = PlanBuffer::Kind::Workspace;
    buffer.index = -1;
    buffer.dtype = dtypeName(elementType);
    buffer.dims = std::move(dims);
    plan.buffers.push_back(buffer);
    return BufferRef{static_cast<int>(plan.buffers.size()) - 1, elementType};
  }
  /// The static size of a dimension the kernels are specialised on.
  FailureOr<int64_t> staticDim(Operation *op, Value v, unsigned d, StringRef what) {
    int64_t size = cast<RankedTensorType>(v.getType()).getDimSize(d);
    if (ShapedType::isDynamic(size))
      return op->emitOpError() << "needs a static " << what
                               << ": kernels are specialised on it";
    return size;
  }
  /// The runtime checks that dim `da` of `a` equals dim `db` of `b`.
  void requireSame(Value a, unsigned da, StringRef an, Value b, unsigned db,
                   StringRef bn, StringRef dimName) {
    plan.require(dimExpr(a, da), dimExpr(b, db),
                 (an + "." + dimName + "=" + bn + "." + dimName).str());
  }
  /// The size expression of an index value: a constant, or a tensor.dim of
  /// a tensor the plan knows (looked at where it is defined, so an op may
  /// use a size defined after an op fused into an earlier kernel).
  FailureOr<SizeExpr> sizeOf(Operation *op, Value index) {
    auto it = sizes.find(index);
    if (it != sizes.end())
      return it->second;
    if (auto constant = index.getDefiningOp<arith::ConstantIndexOp>())
      return SizeExpr::constant(constant.value());
    if (auto dim = index.getDefiningOp<tensor::DimOp>())
      if (std::optional<int64_t> d = dim.getConstantIndex())
        if (buffers.count(dim.getSource()))
          return dimExpr(dim.getSource(), *d);
    return op->emitOpError("kv_tokens must be a constant or a tensor.dim of "
                           "a tensor the plan knows");
  }
  std::string kernelName(StringRef what) {
    return ("skim_k" + std::to_string(plan.kernels.size()) + "_" + what).str();
  }
  /// The op's schedule, or the target's default (DefaultSchedule.h).
  ScheduleAttr scheduleOf(AttentionOp op, bool nsaFused) const {
    if (auto s = op->getAttrOfType<ScheduleAttr>("schedule"))
      return s;
    return defaultSchedule(op, nsaFused, defaults);
  }

  ModuleOp module;
  func::FuncOp func;
  DenseMap<Value, int> buffers;
  DenseMap<Value, SizeExpr> sizes;
  DenseSet<Operation *> fused;
  ScheduleDefaults defaults;
  bool overlapSoftmax;
  bool prefetchSelections;
};

LogicalResult PlanBuilder::build() {
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return func.emitError("variant arguments must be ranked tensors, got ")
             << arg.getType();
    PlanBuffer buffer;
    buffer.kind = PlanBuffer::Kind::Input;
    buffer.index = arg.getArgNumber();
    buffer.dtype = dtypeName(type.getElementType());
    int id = static_cast<int>(plan.buffers.size());
    for (int64_t d = 0; d < type.getRank(); ++d)
      buffer.dims.push_back(type.isDynamicDim(d) ? SizeExpr::dim(id, d)
                                                 : SizeExpr::constant(type.getDimSize(d)));
    buffers[arg] = id;
    plan.buffers.push_back(buffer);
  }
  for (Operation &op : func.getBody().front())
    if (failed(visit(&op)))
      return failure();
  return success();
}

LogicalResult PlanBuilder::visit(Operation *op) {
  if (fused.contains(op))
    return success();
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    std::optional<int64_t> d = dim.getConstantIndex();
    if (!d || !buffers.count(dim.getSource()))
      return op->emitOpError("needs a constant dimension of a known tensor");
    sizes[dim.getResult()] = dimExpr(dim.getSource(), *d);
    return success();
  }
  if (auto constant = dyn_cast<arith::ConstantIndexOp>(op)) {
    sizes[constant.getResult()] = SizeExpr::constant(constant.value());
    return success();
  }
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      auto it = buffers.find(v);
      if (it == buffers.end())
        return op->emitOpError("returns a value the plan does not know");
      PlanBuffer &buffer = plan.buffers[it->second];
      if (buffer.kind != PlanBuffer::Kind::Workspace)
        return op->emitOpError() << "result #" << i
                                 << " must be computed by the variant and "
                                    "returned once (not an argument, not twice)";
      buffer.kind = PlanBuffer::Kind::Output;
      buffer.index = static_cast<int>(i);
    }
    return success();
  }
  if (auto a = dyn_cast<AttentionOp>(op))
    return visitAttention(a);
  if (auto p = dyn_cast<PoolOp>(op))
    return visitPool(p);
  if (auto s = dyn_cast<BlockScoresOp>(op))
    return visitBlockScores(s);
  if (auto t = dyn_cast<TopkOp>(op))
    return visitTopk(t);
  if (isa<CombineOp>(op))
    return visitCombine(op, false);
  if (isa<MergeOp>(op))
    return visitCombine(op, true);
  if (isa<NsaOp, MobaOp>(op))
    return op->emitOpError("is a variant op: run skim-expand-variants first");
  return op->emitOpError("is not supported in a skim variant function");
}

LogicalResult PlanBuilder::visitAttention(AttentionOp op) {
  MLIRContext *ctx = op.getContext();
  AttentionSpec spec;
  FailureOr<int64_t> hq = staticDim(op, op.getQuery(), 2, "Hq");
  FailureOr<int64_t> hkv = staticDim(op, op.getKey(), 2, "Hkv");
  FailureOr<int64_t> d = staticDim(op, op.getQuery(), 3, "head dim D");
  FailureOr<int64_t> dv = staticDim(op, op.getValue(), 3, "value head dim Dv");
  if (failed(hq) || failed(hkv) || failed(d) || failed(dv))
    return failure();
  spec.hq = *hq, spec.hkv = *hkv, spec.d = *d, spec.dv = *dv;
  requireSame(op.getKey(), 0, "key", op.getQuery(), 0, "query", "B");
  requireSame(op.getValue(), 0, "value", op.getQuery(), 0, "query", "B");
  requireSame(op.getValue(), 1, "value", op.getKey(), 1, "key", "S");
  spec.q = ref(op.getQuery());
  spec.k = ref(op.getKey());
  spec.v = ref(op.getValue());
  if (op.getKvTokens()) {
    FailureOr<SizeExpr> l = sizeOf(op, op.getKvTokens());
    if (failed(l))
      return failure();
    spec.kvTokens = *l;
  }
  MaskAttr mask = op.getMaskOrDefault();
  spec.causal = mask.getCausal();
  spec.window = mask.getWindow();
  spec.sink = mask.getSink();
  spec.scale = op.getScaleOrDefault();
  if (std::optional<APFloat> cap = op.getSoftcap())
    spec.softcap = cap->convertToDouble();
  spec.keyStride = op.getKeyStride();
  spec.keyOffset = op.getKeyOffset();
  spec.qBlock = op.getQBlock();
  if (op.getIndices()) {
    FailureOr<int64_t> n = staticDim(op, op.getIndices(), 3, "selection size N");
    FailureOr<int64_t> hsel = staticDim(op, op.getIndices(), 2, "selection heads H'");
    if (failed(n) || failed(hsel))
      return failure();
    spec.indices = ref(op.getIndices());
    Value idx = op.getIndices(), q = op.getQuery();
    requireSame(idx, 0, "indices", q, 0, "query", "B");
    plan.require(dimExpr(idx, 1),
                 dimExpr(q, 1).ceilDiv(SizeExpr::constant(op.getQBlock())),
                 "indices.T'=ceil(query.T/q_block)");
    if (op.getCounts()) {
      spec.counts = ref(op.getCounts());
      for (unsigned d = 0; d < 3; ++d)
        requireSame(op.getCounts(), d, "counts", idx, d, "indices",
                    d == 0 ? "B" : d == 1 ? "T'" : "H'");
    }
    spec.entries = *n;
    spec.kvBlock = *op.getKvBlock();
    spec.selectionPerHead = *hsel == spec.hq && spec.hq != spec.hkv;
    if (plan.buffers[spec.indices.id].kind == PlanBuffer::Kind::Input)
      plan.indexChecks.push_back(
          {spec.indices.id,
           dimExpr(op.getKey(), 1).ceilDiv(SizeExpr::constant(spec.kvBlock))});
  }
  bool nsaFused = op.getLse().hasOneUse() && [&] {
    auto scores = dyn_cast<BlockScoresOp>(*op.getLse().getUsers().begin());
    return scores && scores.getKind() == ScoreKind::nsa;
  }();
  ScheduleAttr schedule = scheduleOf(op, nsaFused);
  bool kvMajor = schedule.getOrder() == LoopOrder::kv_major;
  if (kvMajor) {
    // FSA's order inverts a per-token selection; say which part is missing.
    StringRef why;
    if (!op.getIndices())
      why = "inverts a selection, and this attention has no indices";
    else if (spec.qBlock != 1)
      why = "needs per-token selections (q_block 1); tokens_per_tile packs a "
            "query block's tokens already";
    else if (spec.window || spec.sink)
      why = "covers selected blocks only, not a window or sink";
    else if (schedule.getSplitKv() != 1)
      why = "already spreads a row's blocks over programs: drop split_kv";
    else if (spec.entries > 64)
      why = "takes at most 64 selection entries a row";
    if (!why.empty())
      return op.emitOpError("schedule order = kv_major ") << why;
  }
  // The target part goes to the kernel for the lowering to read (and
  // check): NVIDIA sm_90a's as `skim.sm90` (warp specialisation), AMD's as
  // `skim.amd` (matrix instruction, waves per EU). Other targets ignore
  // them.
  auto sm90 = dyn_cast_or_null<Sm90ScheduleAttr>(schedule.getTarget());
  auto amd = dyn_cast_or_null<AmdScheduleAttr>(schedule.getTarget());
  spec.blockM = schedule.getBlockM();
  spec.blockN = schedule.getBlockN();
  spec.packGqa = schedule.getPackGqa();
  spec.tokensPerTile = schedule.getTokensPerTile();
  // A tile of per-token selections keeps which of its tokens chose each
  // block in one 64-bit word.
  if (op.getIndices() && op.getQBlock() == 1 && spec.tokensPerTile > 64)
    return op.emitOpError("schedule tokens_per_tile = ")
           << spec.tokensPerTile
           << ": a tile of per-token selections takes at most 64 tokens";
  spec.splitKv = schedule.getSplitKv();
  // The pass options say what the target can do; the schedule, whether
  // this stage does it.
  spec.overlapSoftmax = overlapSoftmax ||
                        (defaults.wgmmaRows > 0 && schedule.getOverlap());
  spec.prefetchSelections = prefetchSelections && schedule.getPrefetch();
  // GPU lowerings give every CTA of the module the most warps an attention
  // schedule asks for (other kernels loop over any thread count; AMD's
  // lowering keeps its block size as a floor); without the attribute they
  // use their block size.
  ModuleOp module = op->getParentOfType<ModuleOp>();
  if (module) {
    int64_t warps = schedule.getWarps();
    if (auto prev = module->getAttrOfType<IntegerAttr>("skim.gpu_warps"))
      warps = std::max(warps, prev.getInt());
    module->setAttr("skim.gpu_warps",
                    IntegerAttr::get(IntegerType::get(ctx, 64), warps));
  }

  Value q = op.getQuery();
  spec.out = newBuffer(op.getOut(), {dimExpr(q, 0), dimExpr(q, 1),
                                     SizeExpr::constant(spec.hq),
                                     SizeExpr::constant(spec.dv)});
  spec.lse = newBuffer(op.getLse(), {dimExpr(q, 0), SizeExpr::constant(spec.hq),
                                     dimExpr(q, 1)});

  // NSA's fused stage: LSE → nsa block_scores → topk, and nothing else.
  NsaSelectionSpec nsa;
  bool fuse = false;
  if (op.getLse().hasOneUse()) {
    auto scores = dyn_cast<BlockScoresOp>(*op.getLse().getUsers().begin());
    if (scores && scores.getKind() == ScoreKind::nsa &&
        scores.getQuery() == q && scores.getKeys() == op.getKey() &&
        scores.getScores().hasOneUse() && spec.causal && !op.getIndices() &&
        !spec.window && !spec.sink &&
        spec.keyStride == static_cast<int64_t>(*scores.getCmpStride()) &&
        spec.keyOffset == static_cast<int64_t>(*scores.getCmpBlock()) - 1 &&
        std::abs(scores.getScale() ? scores.getScale()->convertToDouble() - spec.scale
                                   : 1.0 / std::sqrt(double(spec.d)) - spec.scale) < 1e-12 &&
        static_cast<bool>(scores.getSoftcap()) == static_cast<bool>(spec.softcap) &&
        (!spec.softcap || scores.getSoftcap()->convertToDouble() == *spec.softcap)) {
      auto topk = dyn_cast<TopkOp>(*scores.getScores().getUsers().begin());
      if (topk && topk.getKvTokens() == scores.getKvTokens() &&
          topk.getBlock() == scores.getBlock()) {
        FailureOr<SizeExpr> l = sizeOf(scores, scores.getKvTokens());
        if (failed(l))
          return failure();
        if (!op.getKvTokens())
          return op.emitOpError("the compressed attention and its block scores "
                                "must count the same kv_tokens");
        // Per-branch K/V (the paper's form) count tokens with different
        // tensors; the runtime checks that they agree.
        plan.require(spec.kvTokens, *l, "compressed.L=selected.L");
        fuse = true;
        nsa.cmpBlock = *scores.getCmpBlock();
        nsa.cmpStride = *scores.getCmpStride();
        nsa.selBlock = scores.getBlock();
        nsa.n = topk.getN();
        nsa.forceFirst = topk.getForceFirst();
        nsa.forceLast = topk.getForceLast();
        std::vector<SizeExpr> sel = {dimExpr(q, 0), dimExpr(q, 1),
                                     SizeExpr::constant(spec.hkv)};
        nsa.counts = newBuffer(topk.getCounts(), sel);
        sel.push_back(SizeExpr::constant(nsa.n));
        nsa.indices = newBuffer(topk.getIndices(), sel);
        fused.insert(scores);
        fused.insert(topk);
      }
    }
  }
  if (kvMajor)
    return emitKvMajor(op, spec, schedule);
  if (fuse && spec.splitKv > 1)
    return op.emitOpError("split_kv does not apply to NSA's compressed stage, "
                          "whose fused top-n needs every key of a row");
  // What the sm_90a lowering reads off the kernel: the warpgroup split and
  // whether its wgmmas overlap the softmax (the schedule's `overlap`).
  auto markSm90 = [&](const PlanKernel &kernel) {
    if (!module)
      return;
    auto func = module.lookupSymbol<func::FuncOp>(kernel.name);
    if (sm90)
      func->setAttr("skim.sm90", sm90);
    if (amd)
      func->setAttr("skim.amd", amd);
    if (spec.overlapSoftmax)
      func->setAttr("skim.overlap_wgmma", UnitAttr::get(ctx));
  };
  if (spec.splitKv == 1) {
    plan.kernels.push_back(emitAttentionKernel(
        module, kernelName(fuse ? "nsa_compressed" : "attention"), op.getLoc(),
        spec, fuse ? &nsa : nullptr));
    markSm90(plan.kernels.back());
    return success();
  }
  // split_kv: the parts' O and LSE (f32, batch part·B + b) in workspace,
  // then the exact LSE merge into the op's results.
  Type f32 = Float32Type::get(ctx);
  CombineSpec merge;
  merge.merge = true;
  merge.heads = spec.hq;
  merge.dv = spec.dv;
  merge.out = spec.out;
  merge.lse = spec.lse;
  SizeExpr parts = SizeExpr::constant(spec.splitKv);
  spec.out = newWorkspace(f32, {dimExpr(q, 0) * parts, dimExpr(q, 1),
                                SizeExpr::constant(spec.hq),
                                SizeExpr::constant(spec.dv)});
  spec.lse = newWorkspace(f32, {dimExpr(q, 0) * parts,
                                SizeExpr::constant(spec.hq), dimExpr(q, 1)});
  for (int64_t i = 0; i < spec.splitKv; ++i) {
    merge.outputs.push_back(spec.out);
    merge.lses.push_back(spec.lse);
    merge.batchParts.push_back(i);
  }
  plan.kernels.push_back(
      emitAttentionKernel(module, kernelName("attention"), op.getLoc(), spec));
  markSm90(plan.kernels.back());
  plan.kernels.push_back(
      emitSplitMergeKernel(module, kernelName("merge"), op.getLoc(), merge));
  return success();
}

LogicalResult PlanBuilder::emitKvMajor(AttentionOp op, const AttentionSpec &spec,
                                       ScheduleAttr schedule) {
  MLIRContext *ctx = op.getContext();
  KvMajorSpec kv;
  kv.attention = spec;
  int64_t rowsPerToken = spec.selectionPerHead ? 1 : spec.hq / spec.hkv;
  if (schedule.getBlockM() % rowsPerToken != 0)
    return op.emitOpError() << "schedule order = kv_major packs whole tokens: "
                            << "block_m " << schedule.getBlockM()
                            << " is not a multiple of the " << rowsPerToken
                            << " query rows a token has per selection";
  kv.tokensPerTile = schedule.getBlockM() / rowsPerToken;
  // Eight tiles a work item: a block's K and V are read once per eight.
  kv.tokensPerItem = 8 * kv.tokensPerTile;
  Value q = op.getQuery();
  int64_t owners = spec.selectionPerHead ? spec.hq : spec.hkv;
  SizeExpr B = dimExpr(q, 0), T = dimExpr(q, 1), H = SizeExpr::constant(owners);
  SizeExpr blocks = dimExpr(op.getKey(), 1).ceilDiv(SizeExpr::constant(spec.kvBlock));
  SizeExpr one = SizeExpr::constant(1);
  SizeExpr entries = T * SizeExpr::constant(spec.entries);
  Type i32 = IntegerType::get(ctx, 32), f32 = Float32Type::get(ctx);
  kv.blockCount = newWorkspace(i32, {B, H, blocks});
  plan.buffers[kv.blockCount.id].zeroed = true;
  kv.blockStart = newWorkspace(i32, {B, H, blocks + one});
  kv.itemStart = newWorkspace(i32, {B, H, blocks + one});
  kv.work = newWorkspace(i32, {B, H,
                               entries.ceilDiv(SizeExpr::constant(kv.tokensPerItem)) + blocks,
                               SizeExpr::constant(3)});
  kv.listToken = newWorkspace(i32, {B, H, entries});
  kv.listSlot = newWorkspace(i32, {B, H, entries});
  kv.slotLse = newWorkspace(f32, {B, entries, SizeExpr::constant(spec.hq)});
  kv.rowLse = newWorkspace(f32, {B, T, SizeExpr::constant(spec.hq)});
  kv.partialOut = newWorkspace(f32, {B, T, SizeExpr::constant(spec.hq),
                                     SizeExpr::constant(spec.dv)});
  plan.buffers[kv.partialOut.id].zeroed = true;
  ModuleOp module = op->getParentOfType<ModuleOp>();
  size_t made = 0;
  for (PlanKernel &kernel : emitKvMajorAttention(
           module, op.getLoc(), kv, [&](StringRef role) {
             // Names number the plan's kernels: these come after its others.
             return ("skim_k" + std::to_string(plan.kernels.size() + made++) + "_" +
                     role)
                 .str();
           }))
    plan.kernels.push_back(std::move(kernel));
  return success();
}

LogicalResult PlanBuilder::visitPool(PoolOp op) {
  PoolSpec spec;
  Value in = op.getInput();
  FailureOr<int64_t> d = staticDim(op, in, 3, "head dim D");
  FailureOr<int64_t> h = staticDim(op, in, 2, "head count");
  if (failed(d) || failed(h))
    return failure();
  spec.input = ref(in);
  spec.linear = op.getKind() == PoolKind::linear;
  if (spec.linear && op.getPosEmb())
    plan.require(dimExpr(op.getPosEmb(), 0), SizeExpr::constant(op.getBlock()),
                 "pos_emb.rows=block");
  spec.block = op.getBlock();
  spec.stride = op.getStride();
  spec.d = *d;
  spec.heads = *h;
  spec.dout = *d;
  // A SIMT target's budget holds the f32 chunk of input rows (32 rows of
  // D = 128 in AMD's 32 KB).
  while (defaults.simtSharedBudget > 0 && spec.chunk > 8 &&
         (spec.chunk + 2) * spec.d * 4 + 1024 > defaults.simtSharedBudget)
    spec.chunk /= 2;
  if (spec.linear) {
    FailureOr<int64_t> dout = staticDim(op, op.getWeights(), 1, "output dim");
    if (failed(dout))
      return failure();
    spec.dout = *dout;
    spec.weights = ref(op.getWeights());
    if (op.getPosEmb())
      spec.posEmb = ref(op.getPosEmb());
  }
  SizeExpr s = dimExpr(in, 1);
  SizeExpr blocks = (s - SizeExpr::constant(spec.block))
                        .floorDiv(SizeExpr::constant(spec.stride))
                        .operator+(SizeExpr::constant(1))
                        .max(SizeExpr::constant(0));
  spec.out = newBuffer(op.getOutput(), {dimExpr(in, 0), blocks,
                                        SizeExpr::constant(spec.heads),
                                        SizeExpr::constant(spec.dout)});
  plan.kernels.push_back(emitPoolKernel(module, kernelName("pool"), op.getLoc(), spec));
  return success();
}

LogicalResult PlanBuilder::visitBlockScores(BlockScoresOp op) {
  if (op.getKind() == ScoreKind::nsa)
    return op.emitOpError("nsa block scores are only supported fused with "
                          "their compressed attention and a topk (the form "
                          "skim-expand-variants produces)");
  MobaScoresSpec spec;
  Value q = op.getQuery();
  FailureOr<int64_t> hq = staticDim(op, q, 2, "Hq");
  FailureOr<int64_t> hkv = staticDim(op, op.getKeys(), 2, "Hkv");
  FailureOr<int64_t> d = staticDim(op, q, 3, "head dim D");
  FailureOr<SizeExpr> l = sizeOf(op, op.getKvTokens());
  if (failed(hq) || failed(hkv) || failed(d) || failed(l))
    return failure();
  requireSame(op.getKeys(), 0, "keys", q, 0, "query", "B");
  plan.require(dimExpr(op.getKeys(), 1), l->floorDiv(SizeExpr::constant(op.getBlock())),
               "keys.blocks=floor(kv_tokens/block)");
  spec.q = ref(q);
  spec.keys = ref(op.getKeys());
  spec.kvTokens = *l;
  spec.hq = *hq, spec.hkv = *hkv, spec.d = *d;
  // A SIMT target's shared memory holds the Q, K and score tiles in f32:
  // fewer mean keys a chunk, then fewer rows (whole GQA groups), where they
  // do not fit (D = 128 in AMD's 32 KB: 16 keys, 32 rows).
  int64_t group = *hq / *hkv;
  auto bytes = [&] {
    int64_t rows = std::max(group, spec.tileRows);
    return (rows * *d + spec.keysPerChunk * (*d + rows)) * 4 + 4096;
  };
  while (defaults.simtSharedBudget > 0 && spec.keysPerChunk > 16 &&
         bytes() > defaults.simtSharedBudget)
    spec.keysPerChunk /= 2;
  while (defaults.simtSharedBudget > 0 && spec.tileRows > group &&
         spec.tileRows > 16 && bytes() > defaults.simtSharedBudget)
    spec.tileRows /= 2;
  spec.block = op.getBlock();
  if (std::optional<APFloat> scale = op.getScale())
    spec.scale = scale->convertToDouble();
  std::vector<SizeExpr> rowDims = {dimExpr(q, 0), dimExpr(q, 1),
                                   SizeExpr::constant(spec.hq)};
  auto topk = op.getScores().hasOneUse()
                  ? dyn_cast<TopkOp>(*op.getScores().getUsers().begin())
                  : TopkOp();
  bool fuse = topk && topk.getKvTokens() == op.getKvTokens() &&
              topk.getBlock() == op.getBlock();
  if (fuse) {
    spec.n = topk.getN();
    spec.forceFirst = topk.getForceFirst();
    spec.forceLast = topk.getForceLast();
    spec.counts = newBuffer(topk.getCounts(), rowDims);
    rowDims.push_back(SizeExpr::constant(spec.n));
    spec.indices = newBuffer(topk.getIndices(), rowDims);
    fused.insert(topk);
  } else {
    rowDims.push_back(l->ceilDiv(SizeExpr::constant(spec.block)));
    spec.scores = newBuffer(op.getScores(), rowDims);
  }
  plan.kernels.push_back(emitMobaScoresKernel(
      module, kernelName(fuse ? "moba_select" : "moba_scores"), op.getLoc(), spec));
  return success();
}

LogicalResult PlanBuilder::visitTopk(TopkOp op) {
  TopkSpec spec;
  Value scores = op.getScores();
  FailureOr<int64_t> h = staticDim(op, scores, 2, "head count");
  FailureOr<SizeExpr> l = sizeOf(op, op.getKvTokens());
  if (failed(h) || failed(l))
    return failure();
  spec.scores = ref(scores);
  spec.kvTokens = *l;
  spec.heads = *h;
  plan.require(dimExpr(scores, 3), l->ceilDiv(SizeExpr::constant(op.getBlock())),
               "scores.blocks=ceil(kv_tokens/block)");
  spec.n = op.getN();
  spec.block = op.getBlock();
  spec.forceFirst = op.getForceFirst();
  spec.forceLast = op.getForceLast();
  std::vector<SizeExpr> dims = {dimExpr(scores, 0), dimExpr(scores, 1),
                                SizeExpr::constant(spec.heads)};
  spec.counts = newBuffer(op.getCounts(), dims);
  dims.push_back(SizeExpr::constant(spec.n));
  spec.indices = newBuffer(op.getIndices(), dims);
  plan.kernels.push_back(emitTopkKernel(module, kernelName("topk"), op.getLoc(), spec));
  return success();
}

LogicalResult PlanBuilder::visitCombine(Operation *op, bool merge) {
  CombineSpec spec;
  spec.merge = merge;
  Value first = op->getOperand(0);
  FailureOr<int64_t> h = staticDim(op, first, 2, "Hq");
  FailureOr<int64_t> dv = staticDim(op, first, 3, "Dv");
  if (failed(h) || failed(dv))
    return failure();
  spec.heads = *h;
  spec.dv = *dv;
  size_t n = op->getNumOperands() / 2;
  for (size_t i = 0; i < n; ++i) {
    Value part = op->getOperand(i), second = op->getOperand(n + i);
    std::string name = merge ? "lse" : "gate";
    for (unsigned d = 0; d < 2; ++d)
      requireSame(part, d, "output" + std::to_string(i), first, d, "output0",
                  d == 0 ? "B" : "T");
    requireSame(second, 0, name + std::to_string(i), first, 0, "output0", "B");
    requireSame(second, merge ? 2 : 1, name + std::to_string(i), first, 1,
                "output0", "T");
    spec.outputs.push_back(ref(op->getOperand(i)));
    (merge ? spec.lses : spec.gates).push_back(ref(op->getOperand(n + i)));
  }
  std::vector<SizeExpr> dims = {dimExpr(first, 0), dimExpr(first, 1),
                                SizeExpr::constant(spec.heads),
                                SizeExpr::constant(spec.dv)};
  spec.out = newBuffer(op->getResult(0), dims);
  if (merge)
    spec.lse = newBuffer(op->getResult(1), {dimExpr(first, 0),
                                            SizeExpr::constant(spec.heads),
                                            dimExpr(first, 1)});
  plan.kernels.push_back(emitCombineKernel(
      module, kernelName(merge ? "merge" : "combine"), op->getLoc(), spec));
  return success();
}

struct SkimTilePass : skim::impl::SkimTilePassBase<SkimTilePass> {
  using SkimTilePassBase::SkimTilePassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> variants;
    for (auto f : module.getOps<func::FuncOp>())
      if (!f->hasAttr("skim_tile.kernel") && !f.isExternal())
        variants.push_back(f);
    if (variants.size() != 1) {
      module.emitError() << "skim-tile expects exactly one variant function, found "
                         << variants.size();
      return signalPassFailure();
    }
    func::FuncOp func = variants.front();
    if (!func.getBody().hasOneBlock()) {
      func.emitError("the variant function must be a single block");
      return signalPassFailure();
    }
    if (nsaScoresBlock < 1) {
      module.emitError() << "skim-tile nsa-scores-block must be > 0, got "
                         << static_cast<int64_t>(nsaScoresBlock);
      return signalPassFailure();
    }
    ScheduleDefaults defaults;
    defaults.tensorCoreBlockM = tensorCoreBlockM;
    defaults.tensorCoreBlockN = tensorCoreBlockN;
    defaults.tensorCoreWarps = tensorCoreWarps;
    defaults.wgmmaRows = wgmmaRows;
    defaults.nsaScoresBlock = nsaScoresBlock;
    defaults.simtSharedBudget = simtSharedBudget;
    defaults.tensorCoreAttention = tensorCoreAttention;
    defaults.minWarps = minWarps;
    PlanBuilder builder(module, func, defaults, overlapSoftmax,
                        prefetchSelections);
    if (failed(builder.build()))
      return signalPassFailure();
    module->setAttr("skim.plan", StringAttr::get(&getContext(),
                                                 builder.plan.serialize()));
    module->setAttr("skim.variant", StringAttr::get(&getContext(), func.getSymName()));
    func.erase();
  }
};

} // namespace
