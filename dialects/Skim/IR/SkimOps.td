//===- SkimOps.td - skim operations ------------------------*- tablegen -*-===//
//
// Each op computes exactly what ARCHITECTURE.md §2 says. Verifiers name the
// operand, the dimension and the value that break a rule.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_IR_SKIMOPS_TD
#define SKIM_IR_SKIMOPS_TD

include "Skim/IR/SkimAttrs.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Primitive ops
//===----------------------------------------------------------------------===//

def Skim_AttentionOp : Skim_Op<"attention", [Pure, AttrSizedOperandSegments,
    InferTypeOpAdaptor]> {
  let summary = "softmax(scores) · V over the allowed keys, with LSE";
  let description = [{
    Computes `O[b, t, h] = Σ_s softmax_s(score(t, s)) · V[b, s, h / G]` over the
    keys allowed for row t, and `LSE[b, h, t]` (natural log). `score` is
    `scale · q·k` (default `1/√D`) or `softcap · tanh(scale · q·k / softcap)`.

    Allowed keys for row t (position p = t + L − T, L = `kv_tokens` or S) and
    key s (position s · key_stride + key_offset):
    `causal_ok ∧ (unrestricted ∨ in_window ∨ in_sink ∨ in_selection)`, with
    the window, sink and causal flag in `mask`. The optional selection
    `indices [B, ⌈T / q_block⌉, H', N]` (and `counts [B, ⌈T / q_block⌉, H']`)
    names KV blocks of `kv_block` keys; H' is Hkv (shared by the GQA group) or
    Hq (per head). A row with no allowed key gives O = 0 and LSE = −inf.

    ```mlir
    %o, %lse = skim.attention %q, %k, %v
        {mask = #skim.mask<causal, window = 512>}
        : tensor<1x?x64x128xbf16>, tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>
    ```
  }];
  let arguments = (ins
    Skim_FloatTensor:$query,
    Skim_FloatTensor:$key,
    Skim_FloatTensor:$value,
    Optional<Skim_I32Tensor>:$indices,
    Optional<Skim_I32Tensor>:$counts,
    Optional<Index>:$kv_tokens,
    OptionalAttr<Skim_MaskAttr>:$mask,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<F32Attr>:$softcap,
    DefaultValuedAttr<I64Attr, "1">:$key_stride,
    DefaultValuedAttr<I64Attr, "0">:$key_offset,
    OptionalAttr<I64Attr>:$kv_block,
    DefaultValuedAttr<I64Attr, "1">:$q_block,
    OptionalAttr<Skim_ScheduleAttr>:$schedule);
  let results = (outs Skim_FloatTensor:$out, Skim_F32Tensor:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`indices` `(` $indices^ `:` type($indices) `)`)?
    (`counts` `(` $counts^ `:` type($counts) `)`)?
    (`kv_tokens` `(` $kv_tokens^ `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The attention scale: the attribute, or 1/sqrt(D).
    double getScaleOrDefault();
    /// The mask, or the empty one (dense, non-causal) when absent.
    MaskAttr getMaskOrDefault() {
      if (MaskAttr mask = getMaskAttr())
        return mask;
      return MaskAttr::get(getContext(), false, 0, 0);
    }
    bool hasSelection() { return static_cast<bool>(getIndices()); }
  }];
}

def Skim_PoolOp : Skim_Op<"pool", [Pure, AttrSizedOperandSegments,
    InferTypeOpAdaptor]> {
  let summary = "keys or values → one representative per block";
  let description = [{
    Block i covers tokens `[i · stride, i · stride + block)`; only complete
    blocks are kept, so nb = (S − block) / stride + 1 (0 when S < block).
    `mean` averages the block. `linear` flattens it (token-major, then D),
    optionally adds the intra-block position embedding `pos_emb [block, D]`,
    and multiplies by `weights [block · D, Dout]` (NSA's learned φ).

    ```mlir
    %kc = skim.pool mean %k {block = 32, stride = 16} : tensor<1x8192x4x128xbf16>
    ```
  }];
  let arguments = (ins
    Skim_PoolKindAttr:$kind,
    Skim_FloatTensor:$input,
    Optional<Skim_FloatTensor>:$weights,
    Optional<Skim_FloatTensor>:$pos_emb,
    I64Attr:$block,
    I64Attr:$stride,
    OptionalAttr<Skim_ScheduleAttr>:$schedule);
  let results = (outs Skim_FloatTensor:$output);
  let assemblyFormat = [{
    $kind $input
    (`weights` `(` $weights^ `:` type($weights) `)`)?
    (`pos_emb` `(` $pos_emb^ `:` type($pos_emb) `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Skim_BlockScoresOp : Skim_Op<"block_scores", [Pure]> {
  let summary = "one importance score per selection block, per row and head";
  let description = [{
    `nsa`: `p_cmp = exp(scale · q·k_cmp − LSE_cmp)` over the compressed keys
    visible to the row (reusing the compressed branch's LSE), remapped to
    selection blocks of `block` tokens by chunk overlap (Eq. 9; compressed keys
    of `cmp_block` tokens every `cmp_stride`), summed over the GQA group
    (Eq. 10). Result `[B, T, Hkv, ⌈L / block⌉]`.

    `moba`: `⟨q, mean(K_j)⟩` for complete blocks j before the query's own
    block; `keys` are the block means. Result `[B, T, Hq, ⌈L / block⌉]`.

    Future blocks score −inf; for nsa, so does every block of a row that sees
    no compressed key yet, while a started block that no visible compressed
    key overlaps scores 0 (see docs/Rationale.md). L is `kv_tokens`. `scale`
    defaults to 1/√D for nsa (it must match the compressed attention) and to
    1 for moba (the raw inner product).
  }];
  let arguments = (ins
    Skim_ScoreKindAttr:$kind,
    Skim_FloatTensor:$query,
    Skim_FloatTensor:$keys,
    Optional<Skim_F32Tensor>:$lse,
    Index:$kv_tokens,
    I64Attr:$block,
    OptionalAttr<I64Attr>:$cmp_block,
    OptionalAttr<I64Attr>:$cmp_stride,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<F32Attr>:$softcap,
    OptionalAttr<Skim_ScheduleAttr>:$schedule);
  let results = (outs Skim_F32Tensor:$scores);
  let assemblyFormat = [{
    $kind $query `,` $keys
    (`lse` `(` $lse^ `:` type($lse) `)`)?
    `kv_tokens` `(` $kv_tokens `)`
    attr-dict `:` type($query) `,` type($keys) `->` type($scores)
  }];
  let hasVerifier = 1;
}

def Skim_TopkOp : Skim_Op<"topk", [Pure, InferTypeOpAdaptor]> {
  let summary = "n selection blocks per row and head, forced blocks first";
  let description = [{
    For row t (position p = t + L − T, own block o = ⌊p / block⌋): blocks
    `0 .. force_first − 1` and `o − force_last + 1 .. o` are always taken
    (never past o), the remaining slots go to the highest scores among blocks
    ≤ o that are neither −inf nor NaN (ties to the lower index). Indices come out ascending, unique,
    padded with −1; `counts` says how many are valid.
  }];
  let arguments = (ins
    Skim_F32Tensor:$scores,
    Index:$kv_tokens,
    I64Attr:$n,
    I64Attr:$block,
    DefaultValuedAttr<I64Attr, "0">:$force_first,
    DefaultValuedAttr<I64Attr, "0">:$force_last);
  let results = (outs Skim_I32Tensor:$indices, Skim_I32Tensor:$counts);
  let assemblyFormat = [{
    $scores `kv_tokens` `(` $kv_tokens `)` attr-dict `:` type($scores)
  }];
  let hasVerifier = 1;
}

def Skim_CombineOp : Skim_Op<"combine", [Pure, AttrSizedOperandSegments,
    InferTypeOpAdaptor]> {
  let summary = "gated sum of branch outputs";
  let description = [{
    `result[b, t, h, :] = Σ_i gates_i[b, t, h] · outputs_i[b, t, h, :]`,
    with every gate `[B, T, Hq]`.
  }];
  let arguments = (ins Variadic<Skim_FloatTensor>:$outputs,
                       Variadic<Skim_FloatTensor>:$gates);
  let results = (outs Skim_FloatTensor:$result);
  let assemblyFormat = [{
    `(` $outputs `)` `gates` `(` $gates `)` attr-dict
    `:` `(` type($outputs) `)` `,` `(` type($gates) `)`
  }];
  let hasVerifier = 1;
}

def Skim_MergeOp : Skim_Op<"merge", [Pure, AttrSizedOperandSegments,
    InferTypeOpAdaptor]> {
  let summary = "exact softmax merge of partial attentions by their LSEs";
  let description = [{
    Partials over disjoint key sets merge into `LSE = log Σ_i exp(LSE_i)` and
    `O = Σ_i exp(LSE_i − LSE) · O_i` (split-KV decode). When every LSE is −inf
    the result is O = 0, LSE = −inf.
  }];
  let arguments = (ins Variadic<Skim_FloatTensor>:$outputs,
                       Variadic<Skim_F32Tensor>:$lses);
  let results = (outs Skim_FloatTensor:$out, Skim_F32Tensor:$lse);
  let assemblyFormat = [{
    `(` $outputs `)` `lse` `(` $lses `)` attr-dict
    `:` `(` type($outputs) `)` `,` `(` type($lses) `)`
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Variant ops (expanded by skim-expand-variants)
//===----------------------------------------------------------------------===//

def Skim_NsaOp : Skim_Op<"nsa", [Pure, AttrSizedOperandSegments,
    InferTypeOpAdaptor, AllTypesMatch<["gate_cmp", "gate_slc", "gate_win"]>]> {
  let summary = "DeepSeek's Native Sparse Attention (three gated branches)";
  let description = [{
    Compressed branch (pool with `cmp_block` l and `cmp_stride` d, causal
    attention over the block representatives), selected branch (`num_selected`
    blocks of `sel_block` l' tokens chosen from the compressed scores, shared
    by the GQA group, `force_first` initial and `force_last` local blocks
    forced) and sliding window (`window` w), combined with the gates
    `[B, T, Hq]`. `keys`/`values` hold one K/V shared by all branches (the
    public kernels) or three, one per branch in the order compressed, selected,
    window (the paper). `pool_weights` makes the compression a learned linear
    map instead of the mean. `scale` and `softcap` apply to every branch and
    to the selection scores (p_cmp must come from the compressed branch's own
    softmax). Defaults are the paper's.
  }];
  let arguments = (ins
    Skim_FloatTensor:$query,
    Variadic<Skim_FloatTensor>:$keys,
    Variadic<Skim_FloatTensor>:$values,
    Skim_FloatTensor:$gate_cmp,
    Skim_FloatTensor:$gate_slc,
    Skim_FloatTensor:$gate_win,
    Optional<Skim_FloatTensor>:$key_weights,
    Optional<Skim_FloatTensor>:$value_weights,
    DefaultValuedAttr<I64Attr, "32">:$cmp_block,
    DefaultValuedAttr<I64Attr, "16">:$cmp_stride,
    DefaultValuedAttr<I64Attr, "64">:$sel_block,
    DefaultValuedAttr<I64Attr, "16">:$num_selected,
    DefaultValuedAttr<I64Attr, "1">:$force_first,
    DefaultValuedAttr<I64Attr, "2">:$force_last,
    DefaultValuedAttr<I64Attr, "512">:$window,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<F32Attr>:$softcap,
    OptionalAttr<DictionaryAttr>:$schedules);
  let results = (outs Skim_FloatTensor:$out);
  let assemblyFormat = [{
    $query `,` `keys` `(` $keys `)` `,` `values` `(` $values `)`
    `,` `gates` `(` $gate_cmp `,` $gate_slc `,` $gate_win `)`
    (`pool_weights` `(` $key_weights^ `,` $value_weights `)`)?
    attr-dict `:` type($query) `,` `keys` `(` type($keys) `)`
    `,` `values` `(` type($values) `)` `,` `gates` type($gate_cmp)
    (`,` `pool_weights` type($key_weights)^ `,` type($value_weights))?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The stage names a `schedules` dictionary may use.
    static ::llvm::ArrayRef<::llvm::StringLiteral> getStageNames();
    Value getCompressedKey() { return getKeys().front(); }
    Value getSelectedKey() { return getKeys()[getKeys().size() == 3 ? 1 : 0]; }
    Value getWindowKey() { return getKeys().back(); }
    Value getCompressedValue() { return getValues().front(); }
    Value getSelectedValue() { return getValues()[getValues().size() == 3 ? 1 : 0]; }
    Value getWindowValue() { return getValues().back(); }
  }];
}

def Skim_MobaOp : Skim_Op<"moba", [Pure, InferTypeOpAdaptor]> {
  let summary = "Moonshot's Mixture of Block Attention";
  let description = [{
    Per query token and query head: keys are cut into blocks of `block`
    tokens, each complete block before the query's own block is scored by
    `⟨q, mean(K_j)⟩`, the `top_k` best blocks are kept with the current block
    always among them, and causal attention runs over the selection.
    Returns O and LSE.
  }];
  let arguments = (ins
    Skim_FloatTensor:$query,
    Skim_FloatTensor:$key,
    Skim_FloatTensor:$value,
    DefaultValuedAttr<I64Attr, "512">:$block,
    DefaultValuedAttr<I64Attr, "3">:$top_k,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<DictionaryAttr>:$schedules);
  let results = (outs Skim_FloatTensor:$out, Skim_F32Tensor:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict
    `:` type($query) `,` type($key) `,` type($value)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    static ::llvm::ArrayRef<::llvm::StringLiteral> getStageNames();
  }];
}

#endif // SKIM_IR_SKIMOPS_TD
