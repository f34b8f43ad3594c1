//===- ExpandVariants.cpp - nsa and moba into primitive ops ---------------===//
//
// The variant ops are sugar: each expands into the primitive ops exactly as
// ARCHITECTURE.md §2 lists, so every later pass only knows primitives.
//
//===----------------------------------------------------------------------===//

#include "Skim/Transforms/Passes.h"
#include "Skim/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::skim {
#define GEN_PASS_DEF_SKIMEXPANDVARIANTSPASS
#include "Skim/Transforms/Passes.h.inc"
} // namespace mlir::skim

using namespace mlir;
using namespace mlir::skim;

namespace {

/// The number of tokens a K tensor stands for (its S), as an index value:
/// a constant when S is static, so later verifiers can check block counts.
Value tokenCount(OpBuilder &b, Location loc, Value key) {
  int64_t s = cast<RankedTensorType>(key.getType()).getDimSize(1);
  if (!ShapedType::isDynamic(s))
    return arith::ConstantIndexOp::create(b, loc, s);
  return tensor::DimOp::create(b, loc, key, 1);
}

/// The scores tensor `[B, T, H, ⌈S / block⌉]` for a query and key.
RankedTensorType scoresType(Value query, int64_t heads, Value key,
                            int64_t block) {
  auto q = cast<RankedTensorType>(query.getType());
  int64_t s = cast<RankedTensorType>(key.getType()).getDimSize(1);
  int64_t blocks =
      ShapedType::isDynamic(s) ? ShapedType::kDynamic : (s + block - 1) / block;
  return RankedTensorType::get({q.getDimSize(0), q.getDimSize(1), heads, blocks},
                               Float32Type::get(query.getContext()));
}

ScheduleAttr stageSchedule(DictionaryAttr schedules, StringRef stage) {
  if (!schedules)
    return {};
  return dyn_cast_or_null<ScheduleAttr>(schedules.get(stage));
}

IntegerAttr i64(OpBuilder &b, int64_t v) { return b.getI64IntegerAttr(v); }

/// Names the variant stage an expanded attention came from, so that tools
/// working on the expanded IR (the autotuner) can put a schedule back under
/// the right key of the variant's `schedules`.
void markStage(Operation *op, StringRef stage) {
  op->setAttr(kStageAttrName, StringAttr::get(op->getContext(), stage));
}

/// A causal attention with the given mask fields and optional selection.
AttentionOp buildAttention(OpBuilder &b, Location loc, Value q, Value k,
                           Value v, Value indices, Value counts,
                           Value kvTokens, MaskAttr mask, FloatAttr scale,
                           FloatAttr softcap, int64_t keyStride,
                           int64_t keyOffset, IntegerAttr kvBlock,
                           ScheduleAttr schedule) {
  return AttentionOp::create(b, loc, q, k, v, indices, counts, kvTokens, mask,
                             scale, softcap, i64(b, keyStride),
                             i64(b, keyOffset), kvBlock, i64(b, 1), schedule);
}

struct ExpandNsa : OpRewritePattern<NsaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(NsaOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    DictionaryAttr schedules = op.getSchedulesAttr();
    int64_t l = op.getCmpBlock(), d = op.getCmpStride(), lsel = op.getSelBlock();
    Value q = op.getQuery();
    FloatAttr scale = op.getScaleAttr(), softcap = op.getSoftcapAttr();
    auto causal = MaskAttr::get(ctx, /*causal=*/true, 0, 0);

    // Compressed branch: block representatives of K and V, then causal
    // attention whose key i stands at the block's last token i·d + l − 1.
    bool linear = static_cast<bool>(op.getKeyWeights());
    PoolKind kind = linear ? PoolKind::linear : PoolKind::mean;
    ScheduleAttr poolSchedule = stageSchedule(schedules, "pool");
    Value kCmp = PoolOp::create(rewriter, loc, kind, op.getCompressedKey(),
                                op.getKeyWeights(), Value(), l, d, poolSchedule);
    Value vCmp = PoolOp::create(rewriter, loc, kind, op.getCompressedValue(),
                                op.getValueWeights(), Value(), l, d,
                                poolSchedule);
    Value tokens = tokenCount(rewriter, loc, op.getCompressedKey());
    ScheduleAttr cmpSchedule = stageSchedule(schedules, "compressed");
    auto cmp = buildAttention(rewriter, loc, q, kCmp, vCmp, Value(), Value(),
                              tokens, causal, scale, softcap, d, l - 1,
                              IntegerAttr(), cmpSchedule);
    markStage(cmp, "compressed");

    // Selection: compressed probabilities remapped to l'-blocks (Eq. 9),
    // summed over the group (Eq. 10), then the top n with forced blocks.
    Value kSel = op.getSelectedKey();
    Value selTokens = kSel == op.getCompressedKey()
                          ? tokens
                          : tokenCount(rewriter, loc, kSel);
    int64_t hkv = cast<RankedTensorType>(kSel.getType()).getDimSize(2);
    Value scores = BlockScoresOp::create(
        rewriter, loc, scoresType(q, hkv, kSel, lsel), ScoreKind::nsa, q, kCmp,
        cmp.getLse(), selTokens, lsel, i64(rewriter, l), i64(rewriter, d),
        scale, softcap, cmpSchedule);
    auto topk = TopkOp::create(rewriter, loc, scores, selTokens,
                               op.getNumSelected(), lsel, op.getForceFirst(),
                               op.getForceLast());
    auto slc = buildAttention(rewriter, loc, q, kSel, op.getSelectedValue(),
                              topk.getIndices(), topk.getCounts(), Value(),
                              causal, scale, softcap, 1, 0, i64(rewriter, lsel),
                              stageSchedule(schedules, "selected"));
    markStage(slc, "selected");

    // Sliding window over the raw keys.
    auto window = MaskAttr::get(ctx, /*causal=*/true, op.getWindow(), 0);
    auto win = buildAttention(rewriter, loc, q, op.getWindowKey(),
                              op.getWindowValue(), Value(), Value(), Value(),
                              window, scale, softcap, 1, 0, IntegerAttr(),
                              stageSchedule(schedules, "window"));
    markStage(win, "window");

    Value out = CombineOp::create(
        rewriter, loc, ValueRange{cmp.getOut(), slc.getOut(), win.getOut()},
        ValueRange{op.getGateCmp(), op.getGateSlc(), op.getGateWin()});
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ExpandMoba : OpRewritePattern<MobaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MobaOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    DictionaryAttr schedules = op.getSchedulesAttr();
    int64_t block = op.getBlock();
    Value q = op.getQuery(), k = op.getKey();

    Value kMean = PoolOp::create(rewriter, loc, PoolKind::mean, k, Value(),
                                 Value(), block, block,
                                 stageSchedule(schedules, "pool"));
    Value tokens = tokenCount(rewriter, loc, k);
    int64_t hq = cast<RankedTensorType>(q.getType()).getDimSize(2);
    Value scores = BlockScoresOp::create(
        rewriter, loc, scoresType(q, hq, k, block), ScoreKind::moba, q, kMean,
        Value(), tokens, block, IntegerAttr(), IntegerAttr(), FloatAttr(),
        FloatAttr(), stageSchedule(schedules, "scores"));
    // The current block is always attended (force_last = 1), causally.
    auto topk = TopkOp::create(rewriter, loc, scores, tokens, op.getTopK(),
                               block, /*force_first=*/0, /*force_last=*/1);
    auto attn = buildAttention(
        rewriter, loc, q, k, op.getValue(), topk.getIndices(),
        topk.getCounts(), Value(), MaskAttr::get(op.getContext(), true, 0, 0),
        op.getScaleAttr(), FloatAttr(), 1, 0, i64(rewriter, block),
        stageSchedule(schedules, "selected"));
    markStage(attn, "selected");
    rewriter.replaceOp(op, attn.getResults());
    return success();
  }
};

struct SkimExpandVariantsPass
    : skim::impl::SkimExpandVariantsPassBase<SkimExpandVariantsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandVariantsPatterns(patterns);
    // Walk once, no folding: the expansion is a plain one-shot rewrite.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
  }
};

} // namespace

void mlir::skim::populateExpandVariantsPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandNsa, ExpandMoba>(patterns.getContext());
}
