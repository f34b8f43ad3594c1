//===- Import.h - measured results into the tuning cache --------*- C++ -*-===//
//
// skim-tune-measure measures an exported search space on a machine without
// the compiler and writes its results as JSON; `skim tune --import` turns
// them into the cache entry a local `skim tune` would have stored, after
// checking that they are this variant's, at this compiler version, target
// and shape bucket.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_AUTOTUNE_IMPORT_H
#define SKIM_AUTOTUNE_IMPORT_H

#include "autotune/Autotune.h"

#include "llvm/Support/Error.h"

namespace skim::tune {

/// The cache entry of skim-tune-measure's results (`json`, its --out file)
/// for `module` compiled for `target` at `sizes`: each stage's best, keyed
/// by the device and driver they were measured on. Fails, saying which,
/// when the text is not such a result, or is for another variant, compiler
/// version, target or shape bucket, or names a stage the variant lacks or
/// a schedule that does not parse.
llvm::Expected<TuningEntry> entryFromMeasurement(mlir::ModuleOp module,
                                                 const std::string &target,
                                                 const ProblemSizes &sizes,
                                                 llvm::StringRef json);

} // namespace skim::tune

#endif // SKIM_AUTOTUNE_IMPORT_H
