//===- SkimBase.td - skim dialect definition ---------------*- tablegen -*-===//
//
// The `skim` dialect describes block-sparse attention at the tensor level:
// primitive ops (attention, pool, block_scores, topk, combine, merge) and the
// variant ops (nsa, moba) that expand into them. ARCHITECTURE.md §2 is the
// contract for what each op computes.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_IR_SKIMBASE_TD
#define SKIM_IR_SKIMBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Skim_Dialect : Dialect {
  let name = "skim";
  let cppNamespace = "::mlir::skim";
  let summary = "Block-sparse attention at the tensor level";
  let description = [{
    Tensors follow one layout: Q `[B, T, Hq, D]`, K `[B, S, Hkv, D]`,
    V `[B, S, Hkv, Dv]`, O `[B, T, Hq, Dv]` and LSE `[B, Hq, T]` (f32, natural
    log). Query row t sits at position `t + L - T`, where L is the number of
    tokens the keys stand for; key s sits at `s * key_stride + key_offset`.
    See ARCHITECTURE.md §2 and docs/Rationale.md.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes; lives next to their storage classes.
    void registerAttributes();
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

class Skim_Op<string mnemonic, list<Trait> traits = []>
    : Op<Skim_Dialect, mnemonic, traits>;

class Skim_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Skim_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// Inputs are bf16 or f16 with f32 accumulation; f32 on the CPU reference path.
def Skim_FloatTensor : RankedTensorOf<[BF16, F16, F32]>;
def Skim_F32Tensor : RankedTensorOf<[F32]>;
def Skim_I32Tensor : RankedTensorOf<[I32]>;

#endif // SKIM_IR_SKIMBASE_TD
