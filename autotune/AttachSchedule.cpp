//===- AttachSchedule.cpp - tuned schedules onto a variant ----------------===//
//
// skim-attach-schedule: the compile path's side of the tuning cache. The
// lookup and the checks are attachCachedSchedules' (Autotune.cpp), shared
// with `skim tune`'s tests; this pass turns its outcome into diagnostics.
//
//===----------------------------------------------------------------------===//

#include "autotune/Autotune.h"
#include "autotune/Passes.h"

#include "llvm/ADT/StringExtras.h"

namespace skim::tune {
#define GEN_PASS_DEF_SKIMATTACHSCHEDULEPASS
#include "autotune/Passes.h.inc"
} // namespace skim::tune

using namespace mlir;

namespace skim::tune {
namespace {

struct AttachSchedulePass
    : impl::SkimAttachSchedulePassBase<AttachSchedulePass> {
  using SkimAttachSchedulePassBase::SkimAttachSchedulePassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (deviceName.empty())
      return;
    if (arch.empty() || tokens <= 0 || batch <= 0 || keyTokens < 0) {
      module.emitError()
          << "skim-attach-schedule: with device-name, give arch and the "
             "sizes the variant runs at (batch >= 1, tokens >= 1, "
             "key-tokens >= 0); got arch='"
          << arch.getValue() << "' batch=" << batch.getValue()
          << " tokens=" << tokens.getValue()
          << " key-tokens=" << keyTokens.getValue();
      return signalPassFailure();
    }
    DeviceIdentity device{deviceName, arch, driver};
    ProblemSizes sizes;
    sizes.batch = batch;
    sizes.tokens = tokens;
    sizes.keyTokens = keyTokens;
    TuningCache cache(tuningDir);
    TuningKey key = tuningKey(module, device, sizes);
    std::vector<std::string> warnings;
    FailureOr<std::vector<std::string>> stages =
        attachCachedSchedules(module, key, cache, warnings);
    for (const std::string &warning : warnings)
      module.emitWarning(warning);
    if (failed(stages))
      return signalPassFailure();
    if (!stages->empty())
      module.emitRemark() << "tuned schedules from " << cache.pathOf(key)
                          << " for stage(s): " << llvm::join(*stages, ", ");
  }
};

} // namespace
} // namespace skim::tune
