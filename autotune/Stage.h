//===- Stage.h - the tunable stages of a variant ----------------*- C++ -*-===//
//
// A variant has one schedule per stage (ARCHITECTURE.md §3): a bare
// skim.attention is one stage, skim.nsa has compressed / selected / window,
// skim.moba has selected. The tuner sees each stage as a StageProblem: the
// numbers of the attention it becomes after skim-expand-variants, at the
// sizes being tuned for. Pool and score stages are not tuned: they are
// memory-bound passes over K whose tile shape does not move their time.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_STAGE_H
#define SKIM_AUTOTUNE_STAGE_H

#include "Conversion/SkimToTile/DefaultSchedule.h"
#include "Skim/IR/SkimAttrs.h"
#include "autotune/ProblemSizes.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>
#include <vector>

namespace skim::tune {

/// One stage, as the search space and the cost model see it.
struct StageProblem {
  /// The key of the variant's `schedules` ("selected", ...), or
  /// "attention" for a bare skim.attention ("attention1", ... for more).
  std::string stage;
  /// Bits of Q/K/V elements: 16 (bf16/f16) or 32.
  int elementBits = 16;
  int64_t batch = 1, tokens = 1, keys = 1;
  int64_t queryHeads = 1, kvHeads = 1, headDim = 64, valueDim = 64;
  bool causal = false;
  int64_t window = 0, sink = 0;
  /// Keys are block representatives every `keyStride` tokens (NSA's
  /// compressed branch, fused with its block scores and top-n).
  int64_t keyStride = 1;
  bool nsaCompressed = false;
  /// Selection: entries a row, keys a block, tokens sharing one selection
  /// row, and whether each query head has its own (else the GQA group).
  bool selection = false;
  int64_t entries = 0, kvBlock = 0, qBlock = 1;
  bool perHeadSelection = false;

  /// What the stage compiles with when the tuner sets nothing: the
  /// variant's own schedule for it, else the target's default.
  mlir::skim::ScheduleAttr defaultSchedule;

  int64_t group() const { return queryHeads / kvHeads; }
};

/// The stages of the one variant function in `module`, in program order,
/// at `sizes`. Expands a clone of the module; fails with a diagnostic on
/// the module when there is no variant or it does not expand.
mlir::FailureOr<std::vector<StageProblem>>
collectStages(mlir::ModuleOp module, const ProblemSizes &sizes,
              const mlir::skim::ScheduleDefaults &defaults);

/// Puts `schedules` (stage → schedule; a null attribute removes one) onto
/// the variant ops of `module`: into a composite op's `schedules` or a bare
/// attention's `schedule`. Fails naming a stage that the variant does not
/// have.
mlir::LogicalResult applySchedules(
    mlir::ModuleOp module,
    const std::map<std::string, mlir::skim::ScheduleAttr> &schedules);

/// The schedules the variant already carries, by stage.
std::map<std::string, mlir::skim::ScheduleAttr>
currentSchedules(mlir::ModuleOp module);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_STAGE_H
