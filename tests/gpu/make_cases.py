#!/usr/bin/env python3
"""Builds the GPU check cases: for each variant, a CPU artifact and a GPU
artifact (compiled here, where LLVM is) plus a spec of seeded random inputs.
The GPU target is $SKIM_GPUCHECK_TARGET: sm_90a (wgmma where a gemm fits,
mma.sync elsewhere) by default, sm_90 or sm_80 for the mma.sync kernels only.

  python3 tests/gpu/make_cases.py [--out DIR] [--list] [-j JOBS] [--keep] [NAME-PREFIX ...]

--keep leaves cases whose source and artifacts are there already.

DIR defaults to .gpucheck. Then `gpucheck gen` (here) computes the expected
outputs with the CPU artifacts, and `gpucheck run` (on the GPU machine, built
from tests/gpu/CMakeLists.txt without LLVM) runs the GPU artifacts and
compares. scripts/gpu_check.sh does all of it.

The cases follow the CPU pipeline tests (tests/pipeline): GQA groups 1 to 16
(3 and 5 too), D 64/128/192, lengths 1 to 4097 (odd ones), decode and
chunked prefill, every mask, softcap and scale, schedules (odd tile sizes
too), pooled keys with kv_tokens, given selections (q_block 1, 16 and 64,
kv_block 64 and 128, counts or −1 padding, per KV head or per query head,
with window and sink), top-k alone (ties, −inf/NaN/+inf), MoBA scores alone
and fused, NSA (paper config, l = l' = d, linear pool, per-branch K/V,
softcap, schedules), MoBA, merge, combine, pool; f32, bf16 and f16. Shapes
stay small: the cases travel to the GPU machine (under ~40 MiB in all).
"""
import concurrent.futures, math, os, subprocess, sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIM = os.environ.get("SKIM", os.path.join(REPO, "build", "bin", "skim"))
GPU_TARGET = os.environ.get("SKIM_GPUCHECK_TARGET", "sm_90a")
cases = []  # (name, mlir text, spec lines)


def tt(dims, t):
    return "tensor<" + "x".join(str(d) for d in dims) + "x" + t + ">"


def spec(kind, lo, hi, shape):
    return f"{kind} {lo} {hi} {len(shape)} " + " ".join(map(str, shape))


def fl(shape, lo=-1, hi=1):
    return spec("float", lo, hi, shape)


def add(name, text, inputs, gpu_flags=()):
    """A case; `gpu_flags` are extra `skim compile` flags of its GPU artifact,
    noted in its source (so that --keep sees a change of flags)."""
    assert name not in [c[0] for c in cases], name
    if gpu_flags:
        text += "// gpu flags: " + " ".join(gpu_flags) + "\n"
    cases.append((name, text, inputs))


def f32attr(x):
    return f"{x!r} : f32"


def pool_count(tokens, block, stride):
    return max((tokens - block) // stride + 1, 0)


# --- attention --------------------------------------------------------------

def attention(name, hq, hkv, d, dv=None, t="f32", B=1, T=1, S=1, causal=True,
              window=0, sink=0, softcap=None, scale=None, key_stride=1,
              key_offset=0, kv_tokens=None, sel=None, schedule="", gpu_flags=()):
    """sel = (heads H', entries N, kv_block, q_block, counts);
    kv_tokens = ("raw", L) or ("const", L)."""
    dv = dv or d
    q, k, v = tt(["?", "?", hq, d], t), tt(["?", "?", hkv, d], t), tt(["?", "?", hkv, dv], t)
    o, lse = tt(["?", "?", hq, dv], t), tt(["?", hq, "?"], "f32")
    args = f"%q: {q}, %k: {k}, %v: {v}"
    inputs = [fl([B, T, hq, d], -2, 2), fl([B, S, hkv, d]), fl([B, S, hkv, dv])]
    op = "  %o, %lse = skim.attention %q, %k, %v"
    body = ""
    attrs = []
    L = S
    if kv_tokens:
        L = kv_tokens[1]
    if sel:
        heads, entries, kvb, qb, counts = sel
        idx, cnt = tt(["?", "?", heads, entries], "i32"), tt(["?", "?", heads], "i32")
        rows = -(-T // qb)
        blocks = -(-S // kvb)
        args += f", %idx: {idx}"
        op += f" indices(%idx : {idx})"
        # Entries −1 .. blocks: padding, valid blocks and one past the end,
        # which kernels skip as padding.
        inputs.append(spec("int", -1, blocks + 1, [B, rows, heads, entries]))
        if counts:
            args += f", %cnt: {cnt}"
            op += f" counts(%cnt : {cnt})"
            inputs.append(spec("int", 0, entries + 1, [B, rows, heads]))
        attrs.append(f"kv_block = {kvb}")
        if qb != 1:
            attrs.append(f"q_block = {qb}")
    if kv_tokens and kv_tokens[0] == "raw":
        args += f", %raw: {tt(['?', '?'], 'f32')}"
        inputs.append(fl([1, L]))
        body += f"  %c1 = arith.constant 1 : index\n  %L = tensor.dim %raw, %c1 : {tt(['?', '?'], 'f32')}\n"
    elif kv_tokens:
        body += f"  %L = arith.constant {L} : index\n"
    if kv_tokens:
        op += " kv_tokens(%L)"
    mask = [m for m in ["causal" if causal else "",
                        f"window = {window}" if window else "",
                        f"sink = {sink}" if sink else ""] if m]
    if mask:
        attrs.insert(0, "mask = #skim.mask<" + ", ".join(mask) + ">")
    if scale is not None:
        attrs.append("scale = " + f32attr(scale))
    if softcap is not None:
        attrs.append("softcap = " + f32attr(softcap))
    if key_stride != 1:
        attrs.append(f"key_stride = {key_stride}")
    if key_offset:
        attrs.append(f"key_offset = {key_offset}")
    if schedule:
        attrs.append(f"schedule = #skim.schedule<{schedule}>")
    if attrs:
        op += " {" + ", ".join(attrs) + "}"
    op += f"\n      : {q}, {k}, {v}\n"
    text = (f"func.func @attention({args})\n    -> ({o}, {lse}) {{\n{body}{op}"
            f"  return %o, %lse : {o}, {lse}\n}}\n")
    add(name, text, inputs, gpu_flags)


# GQA groups 1 .. 16 and head dims, one length each, all lengths covered.
for hq, hkv, d, dv, B, T, S in [
        (2, 2, 64, 64, 2, 63, 63), (4, 2, 128, 128, 1, 100, 100),
        (3, 1, 64, 64, 2, 1, 1000), (6, 2, 192, 128, 1, 100, 777),
        (4, 1, 64, 64, 1, 1000, 1000), (5, 1, 128, 128, 1, 1, 1),
        (10, 2, 64, 64, 1, 63, 63), (8, 1, 192, 128, 1, 150, 150),
        (16, 1, 64, 64, 1, 50, 777), (16, 1, 128, 128, 1, 1, 1000),
        (3, 3, 64, 64, 1, 200, 200)]:
    attention(f"gqa{hq // hkv}_h{hq}x{hkv}_d{d}_T{T}_S{S}_B{B}", hq, hkv, d, dv,
              B=B, T=T, S=S)
attention("long4097_h2x1_d64", 2, 1, 64, T=4097, S=4097)

# A TMA producer warpgroup (--warp-specialize): the default tile (one
# consumer warpgroup), FlashAttention-3's two consumer warpgroups with the
# overlap, D 64 in f16, two key loops (window + sink), odd lengths.
_WS = ("--warp-specialize",)
attention("ws_bf16_h16x1_d128_T300_S300", 16, 1, 128, t="bf16", T=300, S=300, gpu_flags=_WS)
attention("ws_overlap_bf16_h16x1_d128_bm128n128w8_T333_S333", 16, 1, 128, t="bf16", T=333,
          S=333, schedule="block_m = 128, block_n = 128, warps = 8",
          gpu_flags=_WS + ("--overlap-softmax",))
attention("ws_f16_h8x2_d64_T100_S777", 8, 2, 64, t="f16", T=100, S=777, causal=False,
          gpu_flags=_WS)
attention("ws_bf16_h8x2_d64_window100_sink4_T150_S300", 8, 2, 64, t="bf16", T=150, S=300,
          window=100, sink=4, gpu_flags=_WS)
# The KV-major order: NSA's group of 16 (wgmma), per-head lists of a group
# of 4 with counts, and f32 (SIMT); non-causal, odd lengths.
attention("kvmajor_bf16_h16x1_d128_n16_T200_S600", 16, 1, 128, t="bf16", T=200, S=600,
          sel=(1, 16, 64, 1, False), schedule="order = kv_major")
attention("kvmajor_f16_h8x2_d64_heads8_counts_T150_S300", 8, 2, 64, t="f16", T=150, S=300,
          sel=(8, 6, 64, 1, True), schedule="order = kv_major")
attention("kvmajor_f32_h8x2_d64_kvb128_noncausal_T100_S1000", 8, 2, 64, T=100, S=1000,
          causal=False, sel=(2, 4, 128, 1, False), schedule="order = kv_major")
# Per-token selection tiles in CTAs of one or two warps (a schedule's warps
# is the CTA on NVIDIA), split-KV decode among them.
attention("tpt1w1_bf16_h16x1_d128_n16_T48_S600", 16, 1, 128, t="bf16", T=48, S=600,
          sel=(1, 16, 64, 1, False), schedule="tokens_per_tile = 1, warps = 1")
attention("tpt2w2_bf16_h16x1_d128_n8_bn32_T33_S500", 16, 1, 128, t="bf16", T=33, S=500,
          sel=(1, 8, 64, 1, False), schedule="tokens_per_tile = 2, warps = 2, block_n = 32")
attention("tpt1w1_split4_bf16_h16x1_d128_n16_B3_T1_S2000", 16, 1, 128, t="bf16", B=3, T=1,
          S=2000, sel=(1, 16, 128, 1, False),
          schedule="tokens_per_tile = 1, warps = 1, split_kv = 4")
attention("long4097_h1x1_d64_window1000_sink4_bf16", 1, 1, 64, t="bf16", T=4097, S=4097,
          window=1000, sink=4)

# Masks, softcap and scale (AttentionTest's list), and masks at their edges.
for tag, kw in [
        ("window100", dict(window=100)), ("sink4", dict(sink=4)),
        ("window100_sink4", dict(window=100, sink=4)), ("dense", dict(causal=False)),
        ("window100_noncausal", dict(causal=False, window=100)),
        ("softcap2", dict(softcap=2.0)),
        ("softcap1.5_scale0.3125_window37_sink3_noncausal",
         dict(causal=False, window=37, sink=3, softcap=1.5, scale=0.3125)),
        ("window1", dict(window=1)), ("window2_sink1", dict(window=2, sink=1)),
        ("sink1_noncausal", dict(causal=False, sink=1)),
        ("window64_sink64", dict(window=64, sink=64)),
        ("window5000", dict(window=5000))]:
    attention(f"mask_{tag}_T200_S200", 4, 2, 64, T=200, S=200, **kw)
attention("mask_causal_more_rows_than_keys_T100_S30", 4, 2, 64, T=100, S=30)
attention("mask_window3_sink5000_noncausal_B2_T1_S70", 4, 2, 64, B=2, T=1, S=70,
          causal=False, window=3, sink=5000)
attention("mask_window1_T65_S129", 4, 2, 64, T=65, S=129, window=1)
attention("softcap5_scale4_T200", 4, 2, 64, T=200, S=200, softcap=5.0, scale=4.0)

# Schedules, odd tile sizes among them.
for i, sch in enumerate(["block_m = 16, block_n = 32", "block_m = 128, block_n = 64",
                         "pack_gqa = false", "block_m = 1, block_n = 1",
                         "block_m = 3, block_n = 7", "block_m = 48, block_n = 24",
                         "pack_gqa = false, block_m = 5, block_n = 96",
                         "block_m = 64, block_n = 64, warps = 8, stages = 3, "
                         "tokens_per_tile = 4, split_kv = 2"]):
    attention(f"schedule{i}_h6x2_window50_sink3_T130", 6, 2, 64, T=130, S=130, window=50,
              sink=3, schedule=sch)

# Pooled keys (NSA's compressed branch): key_stride, key_offset, kv_tokens.
for B, T, L in [(1, 1000, 1000), (2, 1, 1000), (1, 100, 777), (1, 40, 40), (1, 1, 20)]:
    attention(f"pooled_raw_B{B}_T{T}_L{L}", 2, 1, 64, B=B, T=T, S=pool_count(L, 32, 16),
              key_stride=16, key_offset=31, kv_tokens=("raw", L))
attention("pooled_const_T100_L777", 4, 1, 64, T=100, S=pool_count(777, 32, 16),
          key_stride=16, key_offset=31, kv_tokens=("const", 777))
# Rows with no allowed key: kv_tokens below T; a window between strided keys;
# no keys at all.
attention("empty_rows_kvtokens_B2_T100_L50", 4, 2, 64, B=2, T=100, S=50,
          kv_tokens=("raw", 50))
attention("empty_rows_window8_strided_T300", 2, 1, 64, T=300, S=pool_count(300, 32, 16),
          window=8, key_stride=16, key_offset=31, kv_tokens=("raw", 300))
attention("empty_S0_dense_T5", 2, 2, 64, T=5, S=0, causal=False)

# Given selections.
for hq, hkv, d, dv, sel, kw, B, T, S in [
        (8, 2, 64, 64, (2, 4, 64, 1, False), {}, 1, 100, 1000),
        (8, 2, 64, 64, (2, 4, 64, 64, False), {}, 1, 150, 1000),
        (8, 2, 64, 64, (2, 4, 64, 1, True), {}, 2, 1, 300),
        (8, 2, 64, 64, (2, 4, 128, 64, True), {}, 1, 150, 300),
        (8, 2, 64, 64, (2, 4, 128, 1, False), {}, 2, 63, 63),
        (8, 2, 64, 64, (2, 4, 64, 1, False), dict(window=100, sink=4), 1, 150, 200),
        (8, 2, 64, 64, (2, 4, 128, 64, True), dict(window=100, sink=4), 1, 150, 300),
        (4, 2, 64, 64, (4, 5, 64, 48, True), {}, 1, 300, 300),
        (16, 1, 64, 64, (16, 3, 64, 1, True), {}, 1, 50, 777),
        (16, 1, 64, 64, (1, 8, 64, 64, False), dict(schedule="block_m = 128, block_n = 64"), 1, 150, 300),
        (4, 1, 128, 128, (1, 6, 128, 1, True), dict(schedule="pack_gqa = false"), 1, 100, 777),
        (2, 1, 192, 128, (2, 4, 64, 64, True), {}, 1, 200, 200),
        (6, 2, 64, 64, (2, 3, 64, 16, True), dict(schedule="block_m = 3, block_n = 7"), 1, 130, 130)]:
    h, n, kvb, qb, counts = sel
    tag = "_".join(f"{k}{v}" for k, v in kw.items() if k != "schedule")
    tag += "_sched" if "schedule" in kw else ""
    attention(f"sel_h{hq}x{hkv}_d{d}_heads{h}_n{n}_kvb{kvb}_qb{qb}{'_counts' if counts else ''}"
              f"{'_' + tag if tag else ''}_B{B}_T{T}_S{S}", hq, hkv, d, dv, B=B, T=T, S=S,
              sel=sel, **kw)
attention("sel_kvtokens_h4x2_kvb64_T100_L337", 4, 2, 64, T=100, S=300,
          sel=(2, 4, 64, 1, True), kv_tokens=("raw", 337))

# bf16 and f16.
for hq, hkv, d, dv, kw, T, S in [
        (8, 2, 64, 64, {}, 150, 300),
        (8, 1, 128, 128, dict(schedule="pack_gqa = false"), 100, 777),
        (4, 1, 192, 128, dict(schedule="block_m = 16, block_n = 32"), 100, 100),
        (8, 2, 64, 64, dict(window=100, sink=4), 150, 300),
        (8, 2, 64, 64, dict(causal=False), 63, 63),
        (4, 2, 128, 128, dict(softcap=2.0), 200, 200)]:
    for t in ("bf16", "f16"):
        tag = "_".join(f"{k}{v}" for k, v in kw.items() if k != "schedule")
        attention(f"{t}_h{hq}x{hkv}_d{d}{'_' + tag if tag else ''}_T{T}_S{S}", hq, hkv, d, dv,
                  t=t, T=T, S=S, **kw)
# Eight warps: 16 rows each at block_m 128, and half of them idle at 64.
# split_kv: decode-like selections (one token, 16 heads of a group) and a
# causal window, cut into parts merged by a second kernel; more parts than
# selected blocks included.
attention("bf16_split8_sel_decode_h16x1_d128_B3_T1_S3000", 16, 1, 128, t="bf16", B=3, T=1,
          S=3000, sel=(1, 6, 128, 1, False), schedule="split_kv = 8")
attention("bf16_split4_sel_h16x1_d64_T20_S700", 16, 1, 64, t="bf16", T=20, S=700,
          sel=(1, 4, 64, 1, True), schedule="split_kv = 4")
attention("bf16_split3_window100_sink4_h8x2_d64_T150_S300", 8, 2, 64, t="bf16", T=150, S=300,
          window=100, sink=4, schedule="split_kv = 3")
attention("f32_split5_h4x1_d64_T70_S500", 4, 1, 64, T=70, S=500, schedule="split_kv = 5")
# Long KV loops on the wgmma path: a prefill window over a long prefix (the
# shape of NSA's window branch) and a causal run of many whole chunks.
attention("bf16_h16x1_d64_window512_T64_S1100", 16, 1, 64, t="bf16", T=64, S=1100, window=512)
attention("bf16_h16x1_d64_window100_T64_S1100", 16, 1, 64, t="bf16", T=64, S=1100, window=100)
attention("bf16_h16x1_d128_T384_S384", 16, 1, 128, t="bf16", T=384, S=384)
attention("bf16_h16x1_d128_warps8_bm128_T300_S300", 16, 1, 128, 128, t="bf16", T=300, S=300,
          schedule="block_m = 128, warps = 8")
attention("f16_h8x2_d64_warps8_bm64_T150_S300", 8, 2, 64, 64, t="f16", T=150, S=300,
          schedule="block_m = 64, warps = 8")
for t in ("bf16", "f16"):
    attention(f"{t}_sel_qb1_counts_T150_S300", 8, 2, 64, t=t, T=150, S=300, sel=(2, 4, 64, 1, True))
    attention(f"{t}_sel_qb64_T150_S1000", 8, 2, 64, t=t, T=150, S=1000, sel=(2, 4, 64, 64, False))
attention("bf16_pooled_raw_T300_L300", 4, 1, 64, t="bf16", T=300, S=pool_count(300, 32, 16),
          key_stride=16, key_offset=31, kv_tokens=("raw", 300))


# --- top-k and block scores -------------------------------------------------

def topk(name, heads, n, block, first, last, B, T, L, kind="float", const=False):
    scores = tt(["?", "?", heads, "?"], "f32")
    idx, cnt = tt(["?", "?", heads, n], "i32"), tt(["?", "?", heads], "i32")
    args = f"%s: {scores}"
    inputs = [spec(kind, -1, 1, [B, T, heads, -(-L // block)]) if kind != "ties"
              else spec("ties", 1, 5, [B, T, heads, -(-L // block)])]
    if const:
        body = f"  %L = arith.constant {L} : index\n"
    else:
        args += f", %raw: {tt(['?', '?'], 'f32')}"
        inputs.append(fl([1, L]))
        body = f"  %c1 = arith.constant 1 : index\n  %L = tensor.dim %raw, %c1 : {tt(['?', '?'], 'f32')}\n"
    text = (f"func.func @topk({args}) -> ({idx}, {cnt}) {{\n{body}"
            f"  %i, %c = skim.topk %s kv_tokens(%L) {{n = {n}, block = {block}, "
            f"force_first = {first}, force_last = {last}}} : {scores}\n"
            f"  return %i, %c : {idx}, {cnt}\n}}\n")
    add(name, text, inputs)


shapes = [(2, 1000, 1000), (1, 1, 1000), (1, 100, 777), (1, 512, 512), (1, 1, 1)]
for i, (n, first, last, block) in enumerate([(1, 0, 0, 64), (3, 1, 2, 64), (4, 0, 4, 64),
                                             (4, 4, 0, 16), (5, 2, 1, 128), (8, 1, 2, 64),
                                             (16, 1, 2, 32), (7, 0, 1, 64)]):
    B, T, L = shapes[i % len(shapes)]
    for kind in ("float", "ties", "mixed"):
        topk(f"topk_n{n}_force{first}{last}_block{block}_{kind}_B{B}_T{T}_L{L}", 3, n, block,
             first, last, B, T, L, kind)
topk("topk_const_kvtokens_n6_T100_L777", 3, 6, 64, 1, 2, 1, 100, 777, "ties", const=True)
topk("topk_decode_n16_B2_T1_L1000", 3, 16, 64, 1, 2, 2, 1, 1000, "mixed")


def moba_scores(name, returns, B, T, L, scale=None):
    q, km = tt(["?", "?", 8, 64], "f32"), tt(["?", "?", 2, 64], "f32")
    scores, idx, cnt = tt(["?", "?", 8, "?"], "f32"), tt(["?", "?", 8, 4], "i32"), tt(["?", "?", 8], "i32")
    attrs = "block = 64" + (f", scale = {f32attr(scale)}" if scale else "")
    results = {"scores": [("%s", scores)], "fused": [("%i", idx), ("%c", cnt)],
               "both": [("%s", scores), ("%i", idx), ("%c", cnt)]}[returns]
    text = (f"func.func @f(%q: {q}, %km: {km}, %raw: {tt(['?', '?'], 'f32')})"
            f" -> ({', '.join(r[1] for r in results)}) {{\n"
            f"  %c1 = arith.constant 1 : index\n  %L = tensor.dim %raw, %c1 : {tt(['?', '?'], 'f32')}\n"
            f"  %s = skim.block_scores moba %q, %km kv_tokens(%L) {{{attrs}}} : {q}, {km} -> {scores}\n")
    if returns != "scores":
        text += (f"  %i, %c = skim.topk %s kv_tokens(%L) {{n = 4, block = 64, force_first = 1, "
                 f"force_last = 2}} : {scores}\n")
    text += f"  return {', '.join(r[0] for r in results)} : {', '.join(r[1] for r in results)}\n}}\n"
    add(name, text, [fl([B, T, 8, 64], -2, 2), fl([B, L // 64, 2, 64]), fl([1, L])])


moba_scores("moba_scores_alone_B2_T300_L300", "scores", 2, 300, 300)
moba_scores("moba_scores_scaled_T100_L777", "scores", 1, 100, 777, scale=0.125)
moba_scores("moba_scores_fused_topk_B2_T300_L300", "fused", 2, 300, 300)
moba_scores("moba_scores_fused_topk_T1_L1000", "fused", 1, 1, 1000)
moba_scores("moba_scores_both_T100_L777", "both", 1, 100, 777)
moba_scores("moba_scores_both_T50_L50", "both", 1, 50, 50)


# --- NSA and MoBA -----------------------------------------------------------

def nsa(name, hq, hkv, d, t="f32", B=1, T=1, S=1, per_branch=False, pool_weights=False,
        **attrs):
    q, k = tt(["?", "?", hq, d], t), tt(["?", "?", hkv, d], t)
    g, o = tt(["?", "?", hq], t), tt(["?", "?", hq, d], t)
    l = attrs.get("cmp_block", 32)
    w = tt([l * d, d], t)
    args = f"%q: {q}, %kc: {k}, %vc: {k}"
    inputs = [fl([B, T, hq, d], -2, 2), fl([B, S, hkv, d]), fl([B, S, hkv, d])]
    if per_branch:
        args += f", %ks: {k}, %kw: {k}, %vs: {k}, %vw: {k}"
        inputs += [fl([B, S, hkv, d])] * 4
    args += f", %gc: {g}, %gs: {g}, %gw: {g}"
    inputs += [fl([B, T, hq], 0, 1)] * 3
    if pool_weights:
        args += f", %wk: {w}, %wv: {w}"
        ws = 2 / math.sqrt(l * d)
        inputs += [fl([l * d, d], -ws, ws)] * 2
    text = (f"func.func @nsa({args}) -> {o} {{\n  %o = skim.nsa %q, "
            f"keys(%kc{', %ks, %kw' if per_branch else ''}), "
            f"values(%vc{', %vs, %vw' if per_branch else ''}), gates(%gc, %gs, %gw)")
    if pool_weights:
        text += " pool_weights(%wk, %wv)"
    parts = []
    for key, value in attrs.items():
        if key == "scale" or key == "softcap":
            parts.append(f"{key} = {f32attr(value)}")
        elif key == "schedules":
            parts.append(f"schedules = {{{value}}}")
        else:
            parts.append(f"{key} = {value}")
    if parts:
        text += " {" + ", ".join(parts) + "}"
    keys = ", ".join([k] * (3 if per_branch else 1))
    text += f"\n      : {q}, keys({keys}), values({keys}), gates {g}"
    if pool_weights:
        text += f", pool_weights {w}, {w}"
    text += f"\n  return %o : {o}\n}}\n"
    add(name, text, inputs)


for hq, hkv in ((16, 1), (4, 2)):
    # 1100 tokens: more than n = 16 blocks of 64, so the selection is by score.
    for B, T, S in ((2, 40, 100), (1, 64, 1100),
                    (2, 1, 1000), (1, 50, 777), (1, 20, 20), (2, 1, 31), (1, 48, 48),
                    (1, 1, 1), (1, 3, 70)):
        nsa(f"nsa_paper_h{hq}x{hkv}_B{B}_T{T}_S{S}", hq, hkv, 64, B=B, T=T, S=S)
nsa("nsa_paper_h64x4_d128_bf16_T32_S1100", 64, 4, 128, t="bf16", T=32, S=1100)
for hq, hkv in ((16, 1), (4, 2)):
    nsa(f"nsa_l16_d16_sel16_h{hq}x{hkv}_T50_S300", hq, hkv, 64, T=50, S=300,
        cmp_block=16, cmp_stride=16, sel_block=16)
nsa("nsa_n4_window128_h4x2_T100_S777", 4, 2, 64, T=100, S=777, num_selected=4, window=128)
nsa("nsa_forced01_scale_schedules_h16x1_T50_S300", 16, 1, 64, T=50, S=300, num_selected=3,
    window=64, force_first=0, force_last=1, scale=0.1875,
    schedules="compressed = #skim.schedule<block_m = 16, block_n = 32>, "
              "selected = #skim.schedule<pack_gqa = false>, "
              "window = #skim.schedule<block_m = 128, block_n = 64>")
nsa("nsa_wide_schedules_h4x2_T150_S300", 4, 2, 64, T=150, S=300, cmp_block=16, cmp_stride=16,
    sel_block=16, num_selected=5, force_first=2, force_last=2,
    schedules="compressed = #skim.schedule<block_m = 128, block_n = 16, pack_gqa = false>, "
              "selected = #skim.schedule<block_m = 16, block_n = 16>")
nsa("nsa_odd_schedules_h4x2_T100_S777", 4, 2, 64, T=100, S=777, num_selected=4, window=100,
    schedules="compressed = #skim.schedule<block_m = 3, block_n = 7>, "
              "selected = #skim.schedule<block_m = 5, block_n = 24>, "
              "window = #skim.schedule<block_m = 1, block_n = 1>, "
              "pool = #skim.schedule<block_m = 7>")
nsa("nsa_linear_pool_h4x2_T150_S300", 4, 2, 64, T=150, S=300, pool_weights=True, num_selected=4,
    window=128)
nsa("nsa_per_branch_h4x2_T100_S777", 4, 2, 64, T=100, S=777, per_branch=True, num_selected=4,
    window=128)
nsa("nsa_per_branch_linear_pool_h4x2_T100", 4, 2, 64, T=100, S=100, per_branch=True,
    pool_weights=True, num_selected=4, window=128)
nsa("nsa_softcap3_h4x2_d32_T150_S300", 4, 2, 32, T=150, S=300, num_selected=4, window=64,
    softcap=3.0)
nsa("nsa_bf16_h16x1_T64_S1100", 16, 1, 64, t="bf16", T=64, S=1100)
nsa("nsa_bf16_l16_h4x2_T100_S777", 4, 2, 64, t="bf16", T=100, S=777, cmp_block=16,
    cmp_stride=16, sel_block=16)
nsa("nsa_f16_h4x2_T150_S300", 4, 2, 64, t="f16", T=150, S=300, num_selected=4, window=128)


def moba(name, hq, hkv, d, block, top_k, t="f32", B=1, T=1, S=1, scale=None, schedules=""):
    q, k = tt(["?", "?", hq, d], t), tt(["?", "?", hkv, d], t)
    o, lse = tt(["?", "?", hq, d], t), tt(["?", hq, "?"], "f32")
    attrs = f"block = {block}, top_k = {top_k}"
    if scale:
        attrs += f", scale = {f32attr(scale)}"
    if schedules:
        attrs += f", schedules = {{{schedules}}}"
    text = (f"func.func @moba(%q: {q}, %k: {k}, %v: {k}) -> ({o}, {lse}) {{\n"
            f"  %o, %lse = skim.moba %q, %k, %v {{{attrs}}}\n      : {q}, {k}, {k}\n"
            f"  return %o, %lse : {o}, {lse}\n}}\n")
    add(name, text, [fl([B, T, hq, d], -2, 2), fl([B, S, hkv, d]), fl([B, S, hkv, d])])


for block, top_k, B, T, S in [(64, 1, 2, 100, 100), (64, 3, 1, 150, 1000),
                              (64, 8, 1, 100, 777), (128, 1, 2, 1, 1000),
                              (128, 3, 1, 150, 300), (128, 8, 1, 100, 1000),
                              (512, 1, 1, 100, 777), (512, 3, 1, 100, 2000),
                              (512, 8, 2, 1, 1000)]:
    moba(f"moba_block{block}_top{top_k}_B{B}_T{T}_S{S}", 8, 2, 64, block, top_k, B=B, T=T, S=S)
moba("moba_h4x4_block128_T150_S1000", 4, 4, 64, 128, 3, T=150, S=1000)
moba("moba_h16x1_d128_T40_S300", 16, 1, 128, 128, 3, T=40, S=300)
moba("moba_h16x1_d128_schedules_B2_T30_S300", 16, 1, 128, 128, 3, B=2, T=30, S=300,
     schedules="selected = #skim.schedule<block_m = 16, block_n = 32>, "
               "pool = #skim.schedule<block_m = 128>")
moba("moba_unpacked_schedule_T100_S300", 8, 2, 64, 128, 3, T=100, S=300,
     schedules="selected = #skim.schedule<pack_gqa = false, block_m = 128, block_n = 64>")
moba("moba_scale_B2_T60_S300", 8, 2, 64, 128, 3, B=2, T=60, S=300, scale=0.3125)
moba("moba_bf16_block64_top3_T150_S1000", 8, 2, 64, 64, 3, t="bf16", T=150, S=1000)
moba("moba_bf16_block512_top1_T100_S777", 8, 2, 64, 512, 1, t="bf16", T=100, S=777)
moba("moba_f16_block64_top3_T150_S300", 8, 2, 64, 64, 3, t="f16", T=150, S=300)


# --- merge, combine, pool ---------------------------------------------------

def gather(op, n, o, keyword, side, side_type, results):
    """skim.merge / skim.combine over n partials %o<i> with their %<side><i>
    (LSEs or gates); `results` are (name, type) pairs."""
    outs = ", ".join(f"%o{i}" for i in range(n))
    sides = ", ".join(f"%{side}{i}" for i in range(n))
    args = ", ".join([f"%o{i}: {o}" for i in range(n)] + [f"%{side}{i}: {side_type}" for i in range(n)])
    names, types = ", ".join(r[0] for r in results), ", ".join(r[1] for r in results)
    return (f"func.func @{op}({args}) -> ({types}) {{\n  {names} = skim.{op}({outs}) "
            f"{keyword}({sides}) : ({', '.join([o] * n)}), ({', '.join([side_type] * n)})\n"
            f"  return {names} : {types}\n}}\n")


for t in ("f32", "bf16", "f16"):
    for n in (1, 2, 3):
        o, l = tt(["?", "?", 4, 32], t), tt(["?", 4, "?"], "f32")
        text = gather("merge", n, o, "lse", "l", l, [("%o", o), ("%l", l)])
        for B, T in ((2, 37), (1, 1)):
            add(f"merge{n}_{t}_B{B}_T{T}", text,
                [fl([B, T, 4, 32], -3, 3)] * n + [spec("holes", -2, 3, [B, 4, T])] * n)
        o, g = tt(["?", "?", 8, 48], t), tt(["?", "?", 8], t)
        add(f"combine{n}_{t}_B2_T77", gather("combine", n, o, "gates", "g", g, [("%r", o)]),
            [fl([2, 77, 8, 48], -3, 3)] * n + [fl([2, 77, 8])] * n)

for kind, block, stride, dout, pe, t in [
        ("mean", 32, 16, 64, False, "f32"), ("mean", 64, 64, 64, False, "f32"),
        ("mean", 16, 16, 64, False, "bf16"), ("linear", 32, 16, 64, True, "f32"),
        ("linear", 16, 8, 32, False, "f32"), ("linear", 32, 16, 48, True, "bf16"),
        ("mean", 16, 32, 64, False, "f32"), ("linear", 8, 24, 16, True, "f32"),
        ("mean", 1, 1, 64, False, "f32"), ("mean", 32, 16, 64, False, "f16")]:
    heads, d = 2, 64
    x, out = tt(["?", "?", heads, d], t), tt(["?", "?", heads, dout], t)
    w, pt = tt([block * d, dout], t), tt([block, d], t)
    args = f"%x: {x}"
    op = f"  %r = skim.pool {kind} %x"
    if kind == "linear":
        args += f", %w: {w}" + (f", %pe: {pt}" if pe else "")
        op += f" weights(%w : {w})" + (f" pos_emb(%pe : {pt})" if pe else "")
    text = (f"func.func @pool({args}) -> {out} {{\n{op} {{block = {block}, stride = {stride}}}"
            f" : {x}\n  return %r : {out}\n}}\n")
    ws = 2 / math.sqrt(block * d)
    for B, S in ((2, 100), (1, 500), (1, 20), (1, block)):
        inputs = [fl([B, S, heads, d])]
        if kind == "linear":
            inputs.append(fl([block * d, dout], -ws, ws))
            if pe:
                inputs.append(fl([block, d]))
        add(f"pool_{kind}_l{block}_d{stride}_out{dout}{'_pe' if pe else ''}_{t}_B{B}_S{S}",
            text, inputs)


def compile_case(root, name, text, inputs):
    """Writes the case's spec and source and compiles both artifacts; returns
    the failure text, or ""."""
    d = os.path.join(root, "cases", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "spec.txt"), "w") as f:
        f.write("\n".join(inputs) + "\n")
    with open(os.path.join(d, "variant.mlir"), "w") as f:
        f.write(text)
    errors = ""
    flags = []
    for line in text.splitlines():
        if line.startswith("// gpu flags: "):
            flags = line[len("// gpu flags: "):].split()
    for target, out in (("host", "cpu.skim"), (GPU_TARGET, "gpu.skim")):
        extra = flags if target == GPU_TARGET and GPU_TARGET == "sm_90a" else []
        r = subprocess.run([SKIM, "compile", os.path.join(d, "variant.mlir"), "--target",
                            target, "-o", os.path.join(d, out)] + extra,
                           capture_output=True, text=True)
        if r.returncode:
            errors += f"{name}: {target}: FAILED\n{r.stderr[:1500]}\n"
    return errors


def main(argv):
    root = os.path.join(REPO, ".gpucheck")
    only, listing, jobs, keep = [], False, os.cpu_count() or 1, False
    it = iter(argv)
    for a in it:
        if a == "--out":
            root = os.path.abspath(next(it))
        elif a == "--list":
            listing = True
        elif a == "-j":
            jobs = int(next(it))
        elif a == "--keep":
            keep = True
        else:
            only.append(a)
    chosen = [c for c in cases if not only or any(c[0].startswith(p) for p in only)]
    if keep:  # compiled already (same source text): leave alone
        def same(c):
            d = os.path.join(root, "cases", c[0])
            try:
                return (open(os.path.join(d, "variant.mlir")).read() == c[1]
                        and all(os.path.exists(os.path.join(d, a)) for a in ("cpu.skim", "gpu.skim")))
            except OSError:
                return False
        chosen = [c for c in chosen if not same(c)]
    if listing:
        print("\n".join(c[0] for c in chosen))
        return 0
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for (name, _, _), errors in zip(chosen, pool.map(lambda c: compile_case(root, *c), chosen)):
            failed += bool(errors)
            print(errors.rstrip() if errors else name + " ok", flush=True)
    print(f"{len(chosen) - failed} of {len(chosen)} cases compiled")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
