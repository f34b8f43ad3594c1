//===- Stage.cpp - the tunable stages of a variant ------------------------===//
//
// Stages are read off the expanded IR (the attention each stage becomes
// carries `skim.stage`), so the tuner sees exactly the shapes skim-tile
// will tile, NSA's derived compressed keys included.
//
//===----------------------------------------------------------------------===//

#include "autotune/Stage.h"

#include "Skim/IR/SkimOps.h"
#include "Skim/Transforms/Passes.h"
#include "Skim/Transforms/Transforms.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::skim;

namespace skim::tune {

namespace {

int64_t sizeOr(int64_t dim, int64_t dynamicValue) {
  return ShapedType::isDynamic(dim) ? dynamicValue : dim;
}

/// Keys of NSA's compressed branch over `tokens` raw keys: one per stride
/// whose block of `length` tokens is complete.
int64_t compressedKeys(int64_t tokens, int64_t length, int64_t stride) {
  return tokens < length ? 0 : (tokens - length) / stride + 1;
}

StageProblem describe(AttentionOp op, const ProblemSizes &sizes,
                      const ScheduleDefaults &defaults) {
  auto q = cast<ShapedType>(op.getQuery().getType());
  auto k = cast<ShapedType>(op.getKey().getType());
  auto v = cast<ShapedType>(op.getValue().getType());
  StageProblem p;
  p.elementBits = q.getElementType().getIntOrFloatBitWidth();
  p.batch = sizeOr(q.getDimSize(0), sizes.batch);
  p.tokens = sizeOr(q.getDimSize(1), sizes.tokens);
  p.queryHeads = q.getDimSize(2);
  p.kvHeads = k.getDimSize(2);
  p.headDim = q.getDimSize(3);
  p.valueDim = v.getDimSize(3);
  MaskAttr mask = op.getMaskOrDefault();
  p.causal = mask.getCausal();
  p.window = mask.getWindow();
  p.sink = mask.getSink();
  p.keyStride = op.getKeyStride();
  int64_t rawKeys = sizes.keys();
  // The compressed branch's keys are pooled from the raw ones: its K has
  // (S − l) / d + 1 rows, l − 1 = key_offset, d = key_stride.
  p.keys = p.keyStride > 1
               ? compressedKeys(rawKeys, op.getKeyOffset() + 1, p.keyStride)
               : sizeOr(k.getDimSize(1), rawKeys);
  p.nsaCompressed = op.getLse().hasOneUse() && [&] {
    auto scores = dyn_cast<BlockScoresOp>(*op.getLse().getUsers().begin());
    return scores && scores.getKind() == ScoreKind::nsa;
  }();
  p.defaultSchedule = op.getScheduleAttr();
  if (!p.defaultSchedule)
    p.defaultSchedule = defaultSchedule(op, p.nsaCompressed, defaults);
  if (Value indices = op.getIndices()) {
    auto idx = cast<ShapedType>(indices.getType());
    p.selection = true;
    p.entries = idx.getDimSize(3);
    p.kvBlock = op.getKvBlock().value_or(64);
    p.qBlock = op.getQBlock();
    p.perHeadSelection =
        idx.getDimSize(2) == p.queryHeads && p.queryHeads != p.kvHeads;
  }
  return p;
}

} // namespace

FailureOr<std::vector<StageProblem>>
collectStages(ModuleOp module, const ProblemSizes &sizes,
              const ScheduleDefaults &defaults) {
  OwningOpRef<ModuleOp> clone(cast<ModuleOp>(module->clone()));
  PassManager pm(module.getContext());
  pm.addPass(createSkimExpandVariantsPass());
  if (failed(pm.run(*clone)))
    return failure();
  std::vector<StageProblem> stages;
  int bare = 0;
  clone->walk([&](AttentionOp op) {
    StageProblem p = describe(op, sizes, defaults);
    if (auto stage = op->getAttrOfType<StringAttr>(kStageAttrName))
      p.stage = stage.str();
    else
      p.stage = bare++ ? "attention" + std::to_string(bare - 1) : "attention";
    stages.push_back(std::move(p));
  });
  if (stages.empty()) {
    module.emitError("the variant has no attention to tune");
    return failure();
  }
  return stages;
}

namespace {

/// Visits the variant ops that own schedules, with their stage names (a
/// bare attention's name as collectStages gives it).
void forEachStageOwner(
    ModuleOp module,
    function_ref<void(Operation *, StringRef stage, bool composite)> fn) {
  int bare = 0;
  module.walk([&](Operation *op) {
    if (auto nsa = dyn_cast<NsaOp>(op)) {
      for (StringRef stage : NsaOp::getStageNames())
        fn(op, stage, true);
    } else if (isa<MobaOp>(op)) {
      for (StringRef stage : MobaOp::getStageNames())
        fn(op, stage, true);
    } else if (isa<AttentionOp>(op)) {
      std::string name =
          bare++ ? "attention" + std::to_string(bare - 1) : "attention";
      fn(op, name, false);
    }
  });
}

} // namespace

LogicalResult
applySchedules(ModuleOp module,
               const std::map<std::string, ScheduleAttr> &schedules) {
  std::map<std::string, bool> applied;
  for (const auto &entry : schedules)
    applied[entry.first] = false;
  forEachStageOwner(
      module, [&](Operation *op, StringRef stage, bool composite) {
        auto it = schedules.find(stage.str());
        if (it == schedules.end())
          return;
        applied[it->first] = true;
        if (!composite) {
          if (it->second)
            op->setAttr("schedule", it->second);
          else
            op->removeAttr("schedule");
          return;
        }
        NamedAttrList dict;
        if (auto old = op->getAttrOfType<DictionaryAttr>("schedules"))
          dict = NamedAttrList(old);
        if (it->second)
          dict.set(stage, it->second);
        else
          dict.erase(stage);
        if (dict.empty())
          op->removeAttr("schedules");
        else
          op->setAttr("schedules", dict.getDictionary(op->getContext()));
      });
  for (const auto &entry : applied)
    if (!entry.second)
      return module.emitError()
             << "the variant has no stage '" << entry.first << "' to schedule";
  return success();
}

std::map<std::string, ScheduleAttr> currentSchedules(ModuleOp module) {
  std::map<std::string, ScheduleAttr> result;
  forEachStageOwner(
      module, [&](Operation *op, StringRef stage, bool composite) {
        ScheduleAttr s;
        if (!composite)
          s = op->getAttrOfType<ScheduleAttr>("schedule");
        else if (auto dict = op->getAttrOfType<DictionaryAttr>("schedules"))
          s = dyn_cast_or_null<ScheduleAttr>(dict.get(stage));
        if (s)
          result[stage.str()] = s;
      });
  return result;
}

} // namespace skim::tune
