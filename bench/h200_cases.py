"""What bench/h200.py runs: the skim variants (as `skim compile` arguments or
MLIR), the block patterns and selections, how allowed pairs are counted, and
the references for sampled rows. No torch at import: `prepare` runs where the
compiler is, without torch.

Shapes (shared/anchors/README.md): B 1, Hq 64, Hkv 4 (GQA group 16),
D = Dv = 128, bf16; decode is 16 sequences of one token over 64k keys.

How the index tensors are made (identical in skim and FlexAttention, so the
outputs compare element by element):

* nsa_like: per 128-token query tile i, KV blocks of 128: block 0 (sink), the
  4 blocks before i (a 512-token window, whole blocks), 15 more blocks drawn
  without replacement from the rest of [1, i) with torch.randperm on a CPU
  torch.Generator seeded 0, and the diagonal block i under the causal mask.
  This is the anchors' pattern_nsa_like draw for draw. skim gets the sorted
  block list (at most 21, -1 padded) per tile and KV head.
* moba: per 128-token query tile, the tile's own 512-token MoBA block
  (causal) and 2 earlier MoBA blocks drawn with torch.randperm (CPU
  generator, seed 0) as the anchors' pattern_moba does. skim reads 512-key
  blocks (3 entries); FlexAttention gets the same keys as 128-blocks.
* window512: every key within 512 tokens before the query, exactly (token
  granularity in both; the anchors' Flex row used whole 128-blocks).
* decode: 16 selected 128-blocks of 64k keys, shared by every sequence and
  head: block 0, the last 4, and up to 11 drawn with torch.randperm (CPU
  generator, seed 1), as the anchors' decode row.
* nsa_selected / nsa_given (true NSA, per-token selection of 64-key blocks
  shared by the GQA group, n = 16): for token t (own block o = t // 64) and
  each KV head, block 0, o and o - 1, plus 13 distinct blocks from [1, o - 1):
  - random: drawn uniformly from all of them, per token and head (the
    anchors' rule for the public Triton NSA kernel rows);
  - local: drawn uniformly from the 32 blocks just before o - 1, once per
    64-token query block and head, so neighbouring tokens share their blocks,
    as trained models' selections tend to.
  Fewer when fewer blocks exist, sorted ascending, -1 padded to 16. Drawn on
  the GPU with torch.rand on a CUDA torch.Generator (seed 2 random, 3 local)
  and topk over the allowed candidates. The `_g4` rows draw the same way for
  16 KV heads (GQA group 4, FSA's setting; Hq stays 64).
"""

B, HQ, HKV, D = 1, 64, 4, 128
GROUP = HQ // HKV
# The small-group rows (FSA's setting): the same queries over 16 KV heads.
SMALL_GROUP_HKV = 16
SIZES = (8192, 16384, 32768, 65536)
BS = 128          # FlexAttention's block; the anchors' pattern blocks
WINDOW = 512
DECODE_BATCH, DECODE_KEYS = 16, 65536
# NSA, the paper's defaults: compression l = 32, d = 16; selection l' = 64,
# n = 16; window w = 512.
CMP_BLOCK, CMP_STRIDE, SEL_BLOCK, SELECTED = 32, 16, 64, 16

# --- the skim variants -------------------------------------------------------


def _t(dims, dtype):
    return "tensor<" + "x".join(str(d) for d in dims) + "x" + dtype + ">"


Q_T = _t(["?", "?", HQ, D], "bf16")
KV_T = _t(["?", "?", HKV, D], "bf16")
LSE_T = _t(["?", HQ, "?"], "f32")
GATE_T = _t(["?", "?", HQ], "bf16")


def selected_mlir(entries, kv_block, q_block, schedule="", hkv=HKV):
    """Causal attention over given KV blocks: indices [B, tiles, Hkv, entries]."""
    idx = _t(["?", "?", hkv, entries], "i32")
    kv = _t(["?", "?", hkv, D], "bf16")
    sched = f", schedule = #skim.schedule<{schedule}>" if schedule else ""
    return (f"func.func @selected(%q: {Q_T}, %k: {kv}, %v: {kv}, %idx: {idx})\n"
            f"    -> ({Q_T}, {LSE_T}) {{\n"
            f"  %o, %lse = skim.attention %q, %k, %v indices(%idx : {idx})\n"
            f"      {{mask = #skim.mask<causal>, kv_block = {kv_block}, q_block = {q_block}"
            f"{sched}}}\n"
            f"      : {Q_T}, {kv}, {kv}\n"
            f"  return %o, %lse : {Q_T}, {LSE_T}\n}}\n")


def nsa_given_mlir():
    """NSA's three branches and gates (skim.nsa expanded) with the selection
    given instead of computed: compressed keys (mean pools, causal by block
    end), the given 64-key blocks, a 512-token window; combined by gates."""
    idx = _t(["?", "?", HKV, SELECTED], "i32")
    three = f"{Q_T}, {KV_T}, {KV_T}"
    return (
        f"func.func @nsa_given(%q: {Q_T}, %k: {KV_T}, %v: {KV_T}, %idx: {idx},\n"
        f"    %gc: {GATE_T}, %gs: {GATE_T}, %gw: {GATE_T}) -> {Q_T} {{\n"
        f"  %c1 = arith.constant 1 : index\n"
        f"  %kc = skim.pool mean %k {{block = {CMP_BLOCK}, stride = {CMP_STRIDE}}} : {KV_T}\n"
        f"  %vc = skim.pool mean %v {{block = {CMP_BLOCK}, stride = {CMP_STRIDE}}} : {KV_T}\n"
        f"  %s = tensor.dim %k, %c1 : {KV_T}\n"
        f"  %oc, %lc = skim.attention %q, %kc, %vc kv_tokens(%s) {{key_offset = "
        f"{CMP_BLOCK - 1}, key_stride = {CMP_STRIDE}, mask = #skim.mask<causal>}} : {three}\n"
        f"  %os, %ls = skim.attention %q, %k, %v indices(%idx : {idx}) "
        f"{{kv_block = {SEL_BLOCK}, mask = #skim.mask<causal>}} : {three}\n"
        f"  %ow, %lw = skim.attention %q, %k, %v "
        f"{{mask = #skim.mask<causal, window = {WINDOW}>}} : {three}\n"
        f"  %o = skim.combine(%oc, %os, %ow) gates(%gc, %gs, %gw) : "
        f"({Q_T}, {Q_T}, {Q_T}), ({GATE_T}, {GATE_T}, {GATE_T})\n"
        f"  return %o : {Q_T}\n}}\n")


def causal_mlir(schedule, window=0):
    """The causal (or window) preset with a tile schedule (what the autotuner
    will pick)."""
    mask = f"causal, window = {window}" if window else "causal"
    return (f"func.func @causal(%q: {Q_T}, %k: {KV_T}, %v: {KV_T}) -> ({Q_T}, {LSE_T}) {{\n"
            f"  %o, %lse = skim.attention %q, %k, %v {{mask = #skim.mask<{mask}>, "
            f"schedule = #skim.schedule<{schedule}>}} : {Q_T}, {KV_T}, {KV_T}\n"
            f"  return %o, %lse : {Q_T}, {LSE_T}\n}}\n")


# Tile schedules of the causal row besides sm_90a's default (block_m 64,
# block_n 64, one warpgroup of 4 warps, K and V by TMA): 64 rows spelled out,
# 128 rows in one warpgroup (two 64-row slices; the default with cp.async),
# and two warpgroups of one slice each.
CAUSAL_SCHEDULES = {
    "causal_bm64w4": "block_m = 64, block_n = 64, warps = 4",
    "causal_bm128w4": "block_m = 128, block_n = 64, warps = 4",
    "causal_bm128w8": "block_m = 128, block_n = 64, warps = 8",
    "causal_bm128n128w8": "block_m = 128, block_n = 128, warps = 8",
}

_PRESET = ["--heads", f"{HQ}/{HKV}", "--dim", str(D), "--dtype", "bf16"]

# Artifact name -> `skim compile` arguments, or MLIR text.
ARTIFACTS = {
    "causal": ["--variant", "causal"] + _PRESET,
    "window512": ["--variant", "window", "--window", str(WINDOW)] + _PRESET,
    "nsa_like": selected_mlir(1 + 4 + 15 + 1, BS, BS),
    "moba": selected_mlir(3, 512, BS),
    "moba_preset": ["--variant", "moba", "--block", "512", "--top-k", "3"] + _PRESET,
    "decode": selected_mlir(16, BS, 1),
    # Split-KV decode: each (sequence, KV head) in 16 or 8 parts of the
    # selected blocks, merged by a second kernel.
    "decode_split16": selected_mlir(16, BS, 1, "split_kv = 16"),
    "decode_split8": selected_mlir(16, BS, 1, "split_kv = 8"),
    "nsa_selected": selected_mlir(SELECTED, SEL_BLOCK, 1),
    # Four tokens per tile (64 rows: wgmma's M), walking the union of their
    # selections, each row masked to its own.
    "nsa_selected_tpt4": selected_mlir(SELECTED, SEL_BLOCK, 1, "tokens_per_tile = 4"),
    # One token per tile (16 rows: mma.sync, cp.async), what packing buys.
    "nsa_selected_tpt1": selected_mlir(SELECTED, SEL_BLOCK, 1, "tokens_per_tile = 1"),
    # The same 16-row tile in a CTA of one warp (the default CTA has four, of
    # which only the first has rows).
    "nsa_selected_tpt1w1": selected_mlir(SELECTED, SEL_BLOCK, 1,
                                         "tokens_per_tile = 1, warps = 1"),
    # FSA's KV-major order: the selection inverted, one program per block and
    # run of its tokens, exact softmax in two passes, P·V summed atomically.
    "nsa_selected_kvmajor": selected_mlir(SELECTED, SEL_BLOCK, 1, "order = kv_major"),
    # A small group (G = 4: Hkv 16), FSA's case: the default packs 16 tokens
    # a tile over the union of their selections; KV-major does not.
    "nsa_selected_g4": selected_mlir(SELECTED, SEL_BLOCK, 1, hkv=SMALL_GROUP_HKV),
    "nsa_selected_g4_kvmajor": selected_mlir(SELECTED, SEL_BLOCK, 1, "order = kv_major",
                                             hkv=SMALL_GROUP_HKV),
    # Decode with one token's 16 rows per tile instead of a 64-row wgmma tile
    # three quarters empty, alone and in 4 split-KV parts.
    "decode_tpt1": selected_mlir(16, BS, 1, "tokens_per_tile = 1"),
    "decode_tpt1_split4": selected_mlir(16, BS, 1, "tokens_per_tile = 1, split_kv = 4"),
    "decode_tpt1_split8": selected_mlir(16, BS, 1, "tokens_per_tile = 1, split_kv = 8"),
    "decode_tpt1_split16": selected_mlir(16, BS, 1, "tokens_per_tile = 1, split_kv = 16"),
    "decode_tpt1w1_split4": selected_mlir(16, BS, 1,
                                          "tokens_per_tile = 1, warps = 1, split_kv = 4"),
    # The autotuner's model's pick for this shape without a device
    # (`skim tune --dry-run`: one warp, a 16-row tile, two parts).
    "decode_w1_split2": selected_mlir(16, BS, 1, "warps = 1, split_kv = 2"),
    "nsa_given": nsa_given_mlir(),
    "nsa_preset": ["--variant", "nsa"] + _PRESET,
}
ARTIFACTS.update({name: causal_mlir(sched) for name, sched in CAUSAL_SCHEDULES.items()})


def nsa_preset_mlir(compressed_schedule):
    """The NSA preset's variant with a schedule for its fused compressed
    stage (compressed attention, block scores and top-n in one kernel)."""
    g = GATE_T
    return (f"func.func @nsa(%q: {Q_T}, %k: {KV_T}, %v: {KV_T}, %gc: {g}, %gs: {g}, "
            f"%gw: {g}) -> {Q_T} {{\n"
            f"  %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw) {{cmp_block = "
            f"{CMP_BLOCK}, cmp_stride = {CMP_STRIDE}, sel_block = {SEL_BLOCK}, num_selected = "
            f"{SELECTED}, window = {WINDOW}, schedules = {{compressed = "
            f"#skim.schedule<{compressed_schedule}>}}}} : {Q_T}, keys({KV_T}), values({KV_T}), "
            f"gates {g}\n  return %o : {Q_T}\n}}\n")


# Compressed-stage tiles on mma.sync: the default 32 rows (two tokens) in
# four warps leave two warps without rows; 64 rows in four warps, or 32 in
# two and 16 in one, give every warp its 16.
ARTIFACTS["nsa_preset_cmp64x64"] = nsa_preset_mlir("block_m = 64, block_n = 64")
ARTIFACTS["nsa_preset_cmp32w2"] = nsa_preset_mlir("block_m = 32, block_n = 64, warps = 2")
ARTIFACTS["nsa_preset_cmp16w1"] = nsa_preset_mlir("block_m = 16, block_n = 64, warps = 1")
# K and V by cp.async rather than TMA, to show what TMA buys in the same run.
ARTIFACTS["causal_cpasync"] = (ARTIFACTS["causal"], ["--tma=false"])
ARTIFACTS["window512_bm128w4"] = causal_mlir("block_m = 128, block_n = 64, warps = 4", WINDOW)
# The softmax overlapped with the matmuls (`--overlap-softmax`, off by
# default): the default tile, and the two-warpgroup tiles it helps.
OVERLAP = {
    "causal_overlap": ARTIFACTS["causal"],
    "causal_bm128w8_overlap": ARTIFACTS["causal_bm128w8"],
    "causal_bm128n128w8_overlap": ARTIFACTS["causal_bm128n128w8"],
    "nsa_like_overlap": ARTIFACTS["nsa_like"],
}
ARTIFACTS.update({name: (source, ["--overlap-softmax"]) for name, source in OVERLAP.items()})
ARTIFACTS["nsa_like_cpasync"] = (ARTIFACTS["nsa_like"], ["--tma=false"])
# A TMA producer warpgroup (`--warp-specialize`, off by default): the
# default tile (one consumer warpgroup, two CTAs per SM), FlashAttention-3's
# 128 x 128 tile of two consumer warpgroups with the overlap, and a window.
WARP_SPECIALIZED = {
    "causal_ws": (ARTIFACTS["causal"], ["--warp-specialize"]),
    "causal_ws_overlap": (ARTIFACTS["causal"], ["--warp-specialize", "--overlap-softmax"]),
    "causal_bm128w8_ws_overlap": (ARTIFACTS["causal_bm128w8"],
                                  ["--warp-specialize", "--overlap-softmax"]),
    "causal_bm128n128w8_ws_overlap": (ARTIFACTS["causal_bm128n128w8"],
                                      ["--warp-specialize", "--overlap-softmax"]),
    "window512_ws": (ARTIFACTS["window512"], ["--warp-specialize"]),
}
ARTIFACTS.update(WARP_SPECIALIZED)

# --- block patterns (per 128-token query tile) -------------------------------


def nsa_like_tiles(torch, n, topk=16, window_blocks=4, seed=0):
    """[(full blocks, partial blocks)] per tile: the anchors' pattern_nsa_like."""
    g = torch.Generator().manual_seed(seed)
    tiles = []
    for i in range(n // BS):
        win = set(range(max(0, i - window_blocks), i))
        cand = [j for j in range(1, i) if j not in win]
        pick = set()
        if cand:
            idx = torch.randperm(len(cand), generator=g)[:max(0, topk - 1)].tolist()
            pick = {cand[t] for t in idx}
        tiles.append((sorted(({0} if i > 0 else set()) | win | pick), [i]))
    return tiles


def moba_tiles(torch, n, moba_block=512, topk=3, seed=0):
    """([(full, partial)] per tile, [MoBA blocks] per tile): the anchors'
    pattern_moba, plus the MoBA-block view skim reads."""
    g = torch.Generator().manual_seed(seed)
    r = moba_block // BS
    tiles, blocks = [], []
    for i in range(n // BS):
        cur = (i * BS) // moba_block
        pick = []
        if cur:
            pick = [int(t) for t in torch.randperm(cur, generator=g)[:topk - 1].tolist()]
        tiles.append(([j for m in pick for j in range(m * r, (m + 1) * r)]
                      + list(range(cur * r, i)), [i]))
        blocks.append(sorted(pick) + [cur])
    return tiles, blocks


def causal_tiles(n):
    return [(list(range(i)), [i]) for i in range(n // BS)]


def window_tiles(n):
    """Blocks every row of the tile sees whole, and the two it sees in part
    (the window's far edge and the diagonal)."""
    w = WINDOW // BS
    return [(list(range(max(0, i - w + 1), i)), [i - w, i] if i >= w else [i])
            for i in range(n // BS)]


def decode_blocks(torch, n=DECODE_KEYS, seed=1):
    nk = n // BS
    g = torch.Generator().manual_seed(seed)
    return sorted(set([0] + list(range(nk - 4, nk))
                      + torch.randperm(nk, generator=g)[:11].tolist()))


def tile_pairs(tiles):
    """Allowed (query, key) pairs of one head, as the anchors count them."""
    full = sum(len(f) for f, _ in tiles) * BS * BS
    return full + len(tiles) * BS * (BS + 1) // 2


def window_pairs(n):
    return sum(min(WINDOW, p + 1) for p in range(n))


def blocks_tensor(torch, lists, entries, device):
    """[1, tiles, Hkv, entries] int32, -1 padded: the same blocks for every
    KV head."""
    out = torch.full((1, len(lists), HKV, entries), -1, dtype=torch.int32)
    for i, blocks in enumerate(lists):
        if blocks:
            out[0, i, :, :len(blocks)] = torch.tensor(sorted(blocks), dtype=torch.int32)
    return out.to(device)


# --- true NSA selections -----------------------------------------------------


def nsa_selection(torch, n, local, device, chunk=4096, hkv=HKV):
    """[1, n, Hkv, 16] int32 per-token selections (module docstring)."""
    gen = torch.Generator(device=device).manual_seed(3 if local else 2)
    extra = SELECTED - 3
    own_all = torch.arange(n, device=device) // SEL_BLOCK
    if local:
        own_all = own_all[::SEL_BLOCK]  # one draw per query block
    out = []
    for start in range(0, own_all.numel(), chunk):
        own = own_all[start:start + chunk]
        nb = int(own.max()) + 1
        cand = torch.arange(nb, device=device)
        lo = (own - 1 - 32).clamp(min=1) if local else torch.ones_like(own)
        allowed = (cand[None, :] >= lo[:, None]) & (cand[None, :] < (own - 1)[:, None])
        score = torch.rand(own.numel(), hkv, nb, generator=gen, device=device)
        score = score.masked_fill(~allowed[:, None, :], -1.0)
        top, pick = score.topk(min(extra, nb), dim=-1)
        pick = pick.masked_fill(top < 0, -1)
        none = torch.full_like(own, -1)
        base = torch.stack([torch.zeros_like(own), torch.where(own >= 2, own - 1, none),
                            torch.where(own >= 1, own, none)], -1)
        rows = torch.cat([base[:, None, :].expand(-1, hkv, -1), pick], -1)
        big = torch.iinfo(torch.int64).max
        rows = torch.where(rows < 0, big, rows).sort(-1).values
        rows = torch.where(rows == big, -1, rows)
        if rows.shape[-1] < SELECTED:
            rows = torch.nn.functional.pad(rows, (0, SELECTED - rows.shape[-1]), value=-1)
        out.append(rows)
    sel = torch.cat(out)
    if local:
        sel = sel.repeat_interleave(SEL_BLOCK, 0)[:n]
    return sel[None].to(torch.int32).contiguous()


def selected_keys(torch, sel, n):
    """Allowed keys per (token, KV head) of a per-token selection, summed."""
    t = torch.arange(n, device=sel.device)[None, :, None, None]
    allowed = (t - sel.long() * SEL_BLOCK + 1).clamp(0, SEL_BLOCK)
    return int(allowed.masked_fill(sel < 0, 0).sum())


def compressed_pairs(n):
    """Allowed (query, compressed key) pairs of one head."""
    nb = (n - CMP_BLOCK) // CMP_STRIDE + 1 if n >= CMP_BLOCK else 0
    total = 0
    for j in range(nb):
        total += max(0, n - (j * CMP_STRIDE + CMP_BLOCK - 1))
    return total


# --- references for sampled rows (float32, from the bf16 inputs) -------------


def _attend(torch, q, keys, values, allowed):
    """q [R, Hkv, G, D]; keys, values [R, Hkv, K, D]; allowed [R, Hkv, K].
    Rows with no allowed key give 0, as skim's attention does."""
    scores = torch.einsum("rhgd,rhkd->rhgk", q, keys) / D ** 0.5
    scores = scores.masked_fill(~allowed[:, :, None, :], float("-inf"))
    weights = torch.nan_to_num(scores.softmax(-1), nan=0.0)
    return torch.einsum("rhgk,rhkd->rhgd", weights, values)


def _rows_q(q, rows, hkv=HKV):
    """q [B, Hq, T, D] (torch layout) at `rows` as [R, Hkv, G, D]."""
    return q[0, :, rows].float().permute(1, 0, 2).reshape(len(rows), hkv, HQ // hkv, D)


def _gather(torch, x, keys):
    """x [B, Hkv, S, D] at keys [R, Hkv, K] (clamped) -> [R, Hkv, K, D]."""
    heads = torch.arange(x.shape[1], device=x.device)[None, :, None]
    return x[0].float()[heads, keys.clamp(0, x.shape[2] - 1)]


def selected_reference(torch, q, k, v, sel, rows):
    """The selected branch at `rows`: [R, Hq, D]."""
    blocks = sel[0, rows].long()  # [R, Hkv, 16]
    keys = (blocks[..., None] * SEL_BLOCK
            + torch.arange(SEL_BLOCK, device=q.device)).flatten(-2)
    allowed = ((blocks >= 0)[..., None].expand(-1, -1, -1, SEL_BLOCK).flatten(-2)
               & (keys <= rows[:, None, None]))
    out = _attend(torch, _rows_q(q, rows, k.shape[1]), _gather(torch, k, keys),
                  _gather(torch, v, keys), allowed)
    return out.reshape(len(rows), HQ, D)


def window_reference(torch, q, k, v, rows):
    keys = rows[:, None, None] - torch.arange(WINDOW, device=q.device)
    keys = keys.expand(-1, HKV, -1)
    out = _attend(torch, _rows_q(q, rows), _gather(torch, k, keys), _gather(torch, v, keys),
                  keys >= 0)
    return out.reshape(len(rows), HQ, D)


def compressed_reference(torch, q, k, v, rows):
    """Mean pools of 32 keys every 16, key j standing at 16 j + 31; rounded
    to bf16 as skim's pool stores them."""
    def pool(x):
        return x[0].float().unfold(1, CMP_BLOCK, CMP_STRIDE).mean(-1).bfloat16().float()
    kc, vc = pool(k), pool(v)  # [Hkv, nb, D]
    nb = kc.shape[1]
    end = torch.arange(nb, device=q.device) * CMP_STRIDE + CMP_BLOCK - 1
    allowed = (end[None, None, :] <= rows[:, None, None]).expand(-1, HKV, -1)
    expand = (len(rows), HKV, nb, D)
    out = _attend(torch, _rows_q(q, rows), kc[None].expand(expand), vc[None].expand(expand),
                  allowed)
    return out.reshape(len(rows), HQ, D)


def nsa_given_reference(torch, q, k, v, sel, gates, rows):
    """Σ gate · branch at `rows`, branches rounded to bf16 as skim stores
    them: [R, Hq, D]."""
    branches = (compressed_reference(torch, q, k, v, rows),
                selected_reference(torch, q, k, v, sel, rows),
                window_reference(torch, q, k, v, rows))
    out = 0
    for gate, branch in zip(gates, branches):
        out = out + gate[0, rows].float()[..., None] * branch.bfloat16().float()
    return out
