//===- Tune.h - skim tune and the compile path's cache lookup ---*- C++ -*-===//

#ifndef SKIM_TOOLS_SKIM_TUNE_H
#define SKIM_TOOLS_SKIM_TUNE_H

#include "autotune/Autotune.h"

#include <string>

namespace skim::tool {

struct TuneArgs {
  std::string source, bufferName;
  tune::ProblemSizes sizes;
  mlir::skim::PipelineOptions pipeline;
  /// "" (every candidate), "N" trials or "Ns" seconds.
  std::string budget;
  bool dryRun = false;
  /// Keep the cache as it is.
  bool noStore = false;
  std::string cacheDir;
  /// Device identity for a target with no device here (model-only picks
  /// and cross-compiles): both must be given to store or look up.
  std::string deviceName, driver;
  std::string jsonOut;
  /// Compile the whole pruned space into this folder with a manifest for
  /// skim-tune-measure, and measure nothing here.
  std::string exportDir;
  /// Store skim-tune-measure's results from this file, measure nothing.
  std::string importFile;
  unsigned compileThreads = 0;
  tune::MeasureOptions measure;
  bool progress = true;
};

int tuneCommand(const TuneArgs &args);

} // namespace skim::tool

#endif // SKIM_TOOLS_SKIM_TUNE_H
