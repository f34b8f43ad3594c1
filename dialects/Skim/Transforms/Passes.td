//===- Passes.td - skim transformation passes --------------*- tablegen -*-===//

#ifndef SKIM_TRANSFORMS_PASSES_TD
#define SKIM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SkimExpandVariantsPass : Pass<"skim-expand-variants"> {
  let summary = "Rewrite skim.nsa and skim.moba into primitive ops";
  let description = [{
    Expands each variant op exactly as ARCHITECTURE.md §2 lists it. NSA:
    pool K and V (mean, or linear with the pool weights), causal attention over
    the compressed keys (key_stride d, key_offset l − 1, kv_tokens S),
    block_scores (Eq. 9 remap, group sum), topk (force_first, force_last),
    selected attention (causal, selection shared by the GQA group), window
    attention (causal, window w), combine with the three gates. MoBA: mean pool
    with block = stride = B, block_scores over past complete blocks, topk with
    the current block forced, causal attention over the per-head selection.
    Per-stage schedules move onto the primitive ops that start each stage.
  }];
  let dependentDialects = ["::mlir::skim::SkimDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // SKIM_TRANSFORMS_PASSES_TD
