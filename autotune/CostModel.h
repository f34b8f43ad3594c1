//===- CostModel.h - a stage's time without a device ------------*- C++ -*-===//
//
// An analytic model of one attention stage: the work every tile does (the
// key chunks it visits, the MMA, softmax and copy time of each), how many
// tiles a processor runs at once and how they share its units, the grid's
// waves and its longest tile, and the DRAM floor. It orders the search when
// a device is present and chooses alone when none is; its constants are
// few and named, and bench/NOTES.md records how well it ranks measured
// schedules.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_COSTMODEL_H
#define SKIM_AUTOTUNE_COSTMODEL_H

#include "autotune/SearchSpace.h"

#include <vector>

namespace skim::tune {

/// Predicted milliseconds of `stage` run with a kernel of `geometry`
/// (+infinity for an empty geometry: a schedule the model cannot price).
double predictStageMs(const StageProblem &stage, const TileGeometry &geometry,
                      const TargetModel &target);

/// The candidate the model chooses with no device to measure on: the one it
/// predicts fastest when that beats the default (candidates[0]) by a margin
/// wider than its error near the top, else the default.
size_t modelPick(const SearchSpace &space);

/// Spearman's rank correlation of two equally long series (ties get their
/// average rank); 0 for fewer than two points.
double spearman(const std::vector<double> &a, const std::vector<double> &b);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_COSTMODEL_H
