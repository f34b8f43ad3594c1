//===- Passes.td - the autotuner's passes -------------------*- tablegen -*-===//

#ifndef SKIM_AUTOTUNE_PASSES_TD
#define SKIM_AUTOTUNE_PASSES_TD

include "mlir/Pass/PassBase.td"

def SkimAttachSchedulePass : Pass<"skim-attach-schedule", "::mlir::ModuleOp"> {
  let summary = "Put the tuning cache's schedules onto a variant's stages";
  let description = [{
    Looks up the tuning cache (docs/Autotuner.md) for the key made of the
    device (`device-name`, `arch`, `driver`), the skim version, the variant's
    signature (its IR without schedules) and the shape bucket of `batch`,
    `tokens` and `key-tokens`, and puts each tuned stage's `#skim.schedule`
    on that stage. Stages that already have a schedule keep theirs; stages
    the entry leaves at the default, and every stage when there is no entry,
    are left to skim-tile's target heuristics. Runs on the variant before
    skim-expand-variants, as the JIT and `skim compile` do.

    A cache file that is corrupt, of another schema or version, for another
    key, or naming a stage the variant does not have is skipped with a
    warning; it is never an error. A remark names the file and the stages
    it set. Without `device-name` the pass does nothing.
  }];
  let options = [
    Option<"tuningDir", "tuning-dir", "std::string", /*default=*/"",
           "the tuning cache folder (empty: $SKIM_TUNING_DIR, else "
           "$SKIM_CACHE_DIR/tuning, else ~/.cache/skim/tuning)">,
    Option<"deviceName", "device-name", "std::string", /*default=*/"",
           "the device the schedules were tuned on, as `skim info` names it">,
    Option<"arch", "arch", "std::string", /*default=*/"",
           "the compile target (sm_90a, gfx942, host, ...)">,
    Option<"driver", "driver", "std::string", /*default=*/"",
           "the driver version, as `skim info` prints it">,
    Option<"batch", "batch", "int64_t", /*default=*/"1",
           "the batch size the variant will run at">,
    Option<"tokens", "tokens", "int64_t", /*default=*/"0",
           "the query tokens the variant will run at (required with "
           "device-name)">,
    Option<"keyTokens", "key-tokens", "int64_t", /*default=*/"0",
           "the key tokens (0: as many as tokens)">,
  ];
}

#endif // SKIM_AUTOTUNE_PASSES_TD
