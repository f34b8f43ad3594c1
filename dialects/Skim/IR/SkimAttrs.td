//===- SkimAttrs.td - skim attributes ----------------------*- tablegen -*-===//

#ifndef SKIM_IR_SKIMATTRS_TD
#define SKIM_IR_SKIMATTRS_TD

include "Skim/IR/SkimBase.td"
include "Skim/IR/SkimEnums.td"

def Skim_MaskAttr : Skim_Attr<"Mask", "mask"> {
  let summary = "the static part of the allowed-key rule";
  let description = [{
    `causal` keeps keys with pos(s) <= p. `window = w` (w > 0) allows the w
    keys ending at p; `sink = n` (n > 0) allows keys s < n. Window, sink and a
    selection are unioned; when none is given every (causal) key is allowed.
    Printed as `#skim.mask<causal, window = 512, sink = 4>`; the empty mask is
    `#skim.mask<>` (dense, non-causal).
  }];
  let parameters = (ins
    DefaultValuedParameter<"bool", "false">:$causal,
    DefaultValuedParameter<"int64_t", "0">:$window,
    DefaultValuedParameter<"int64_t", "0">:$sink);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True when window, sink and selection leave every causal key allowed.
    bool isUnrestrictedWithoutSelection() const {
      return getWindow() == 0 && getSink() == 0;
    }
  }];
}

def Skim_Sm90ScheduleAttr : Skim_Attr<"Sm90Schedule", "sm90"> {
  let summary = "NVIDIA sm_90a part of a schedule (warp specialisation)";
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "2">:$consumer_warpgroups,
    DefaultValuedParameter<"int64_t", "40">:$producer_regs,
    DefaultValuedParameter<"int64_t", "232">:$consumer_regs,
    DefaultValuedParameter<"int64_t", "1">:$cluster);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Skim_AmdScheduleAttr : Skim_Attr<"AmdSchedule", "amd"> {
  let summary = "AMD part of a schedule (matrix instruction, occupancy)";
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "32">:$mma_m,
    DefaultValuedParameter<"int64_t", "32">:$mma_n,
    DefaultValuedParameter<"int64_t", "8">:$mma_k,
    DefaultValuedParameter<"int64_t", "2">:$waves_per_eu,
    DefaultValuedParameter<"int64_t", "64">:$wave_size);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Skim_ScheduleAttr : Skim_Attr<"Schedule", "schedule"> {
  let summary = "tile shapes and loop structure of one kernel stage";
  let description = [{
    The single interface between the tuner and the compiler: every knob the
    tuner turns is a field here and `skim-tile` reads nothing else. Fields
    left at their defaults are not printed. `target` holds the part that only
    one target family understands (`#skim.sm90<...>`, `#skim.amd<...>`).

    `split_kv` = P > 1 cuts every key loop of an attention into P contiguous
    parts, each run by its own program instances (the grid's batch dimension
    becomes B × P), their O and LSE kept in f32 workspace and combined by an
    exact LSE merge kernel: decode and other small-T shapes fill the device
    that way. NSA's compressed stage, whose fused top-n needs whole rows,
    rejects it.

    `warps` is the CTA's size on NVIDIA GPUs (the most any attention of the
    module asks for; other kernels of the module loop over any thread
    count). A tile of 16 rows (`tokens_per_tile = 1` over a GQA group of 16)
    wants `warps = 1`: with four, three warps have no rows and the one that
    does sits on the same SM sub-partition in every CTA (2x slower on the
    H200). A 64-row wgmma tile needs its warpgroup (4 warps). AMD keeps four
    wave64 waves at least.

    `prefetch` (on where the target can: sm_90a) walks a selection's blocks
    as one flattened (entry, chunk) loop that asks for the next chunk's K
    as soon as Q·Kᵀ is done with this one's, in tiles of 64 rows or more;
    `prefetch = false` keeps the nested loop. `overlap` (sm_90a; other
    targets ignore it) software-pipelines the key loop so that the softmax
    of one chunk runs under the matmuls of its neighbours (FlashAttention-3's
    order), at the cost of a second score tile of registers.
  }];
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "64">:$block_m,
    DefaultValuedParameter<"int64_t", "64">:$block_n,
    DefaultValuedParameter<"int64_t", "4">:$warps,
    DefaultValuedParameter<"int64_t", "2">:$stages,
    DefaultValuedParameter<"::mlir::skim::LoopOrder",
                           "::mlir::skim::LoopOrder::query_major">:$order,
    DefaultValuedParameter<"bool", "true">:$pack_gqa,
    DefaultValuedParameter<"int64_t", "1">:$tokens_per_tile,
    DefaultValuedParameter<"int64_t", "1">:$split_kv,
    DefaultValuedParameter<"bool", "true">:$prefetch,
    DefaultValuedParameter<"bool", "false">:$overlap,
    OptionalParameter<"::mlir::Attribute">:$target);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // SKIM_IR_SKIMATTRS_TD
