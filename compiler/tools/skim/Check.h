//===- Check.h - compare skim's output with the plain reference -*- C++ -*-===//

#ifndef SKIM_TOOLS_SKIM_CHECK_H
#define SKIM_TOOLS_SKIM_CHECK_H

#include "Presets.h"

#include <string>
#include <vector>

namespace skim::tool {

struct CheckResult {
  bool passed = true;
  double maxError = 0.0;
  int64_t rowsChecked = 0;
  std::string report;
};

/// Recomputes sampled query rows of a preset with the reference (double
/// accumulation) and compares O (and LSE) within the dtype's tolerance.
/// `inputs` and `outputs` are f32 copies, in the preset's argument / result
/// order; inputs hold exactly the values the kernels saw.
CheckResult checkPreset(const Preset &preset,
                        const std::vector<std::vector<float>> &inputs,
                        const std::vector<std::vector<float>> &outputs,
                        const std::vector<int64_t> &rows);

/// Rows worth checking: the first and last few, and evenly spaced ones.
std::vector<int64_t> sampleRows(int64_t seq, int64_t count);

} // namespace skim::tool

#endif // SKIM_TOOLS_SKIM_CHECK_H
