//===- SkimEnums.td - skim enumerations --------------------*- tablegen -*-===//

#ifndef SKIM_IR_SKIMENUMS_TD
#define SKIM_IR_SKIMENUMS_TD

include "mlir/IR/EnumAttr.td"

def Skim_PoolKindAttr : I32EnumAttr<"PoolKind", "how a block of keys becomes one",
    [I32EnumAttrCase<"mean", 0>, I32EnumAttrCase<"linear", 1>]> {
  let cppNamespace = "::mlir::skim";
}

def Skim_ScoreKindAttr : I32EnumAttr<"ScoreKind", "which paper's block score",
    [I32EnumAttrCase<"nsa", 0>, I32EnumAttrCase<"moba", 1>]> {
  let cppNamespace = "::mlir::skim";
}

def Skim_LoopOrder : I32EnumAttr<"LoopOrder",
    "which loop is outside: query tiles (FlashAttention) or KV blocks (FSA)",
    [I32EnumAttrCase<"query_major", 0>, I32EnumAttrCase<"kv_major", 1>]> {
  let cppNamespace = "::mlir::skim";
  let genSpecializedAttr = 0;
}

#endif // SKIM_IR_SKIMENUMS_TD
