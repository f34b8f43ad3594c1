#!/usr/bin/env python3
"""skim on the H200 through its Python module, beside FlexAttention and SDPA,
on the anchors' shapes (shared/anchors/README.md) at 8k to 64k tokens.

  python3 bench/h200.py prepare              # here, with LLVM: the artifacts
  python3 bench/h200.py build                # there: libskim_runtime.so
  python3 bench/h200.py run OUTDIR [--sizes 8192,16384] [--patterns causal,...]
                                   [--skim-cap-s 20]
  python3 bench/h200.py kernels --patterns decode,... [--size 16384]
                                             # skim's kernels alone, for ncu

`prepare` compiles every variant of bench/h200_cases.py for sm_90a (wgmma;
`--target sm_90` for the mma.sync kernels) into
.gpubench/h200/ (carried to the GPU machine; git-ignored) with a manifest
naming the commit; a variant the GPU lowering refuses is recorded with its
message and becomes a "not supported yet" row, so re-run `prepare` whenever
the compiler changes. It also writes the GPU tests' artifacts
(.gpubench/pytest/) and a copy of dlpack.h, which the GPU machine lacks.

`run` builds libskim_runtime.so from runtime/ with CMake (no LLVM), loads the
artifacts with skim.load and, for each pattern and size, times skim (runs
under 100 ms with triton's do_bench, as the baselines, and also serially
between synchronisations, host overhead included, as skim_serial_ms; CUDA
events for longer ones, few runs, none when the previous size predicts more
than --skim-cap-s), FlexAttention
(torch.compile'd, the same blocks through a BlockMask) and SDPA (FA2 and
cuDNN, dense causal and decode), checks skim's output against FlexAttention
or SDPA (max |error|; sampled rows against a float32 reference for true NSA,
whose per-token selection FlexAttention cannot express), and records peak
device memory: torch.cuda.max_memory_allocated around one call, plus skim's
workspace, which skim allocates outside PyTorch. It writes
OUTDIR/<date>-h200.json (and bench/results/ when the checkout is writable),
prints a Markdown table, and plots when matplotlib is there.

Counting, as the anchors do: FLOPs = 4 · B · Hq · D · allowed (query, key)
pairs ("TF" = TFLOP/s on allowed pairs); decode counts the K and V bytes
read per second. How each pattern's blocks and selections are drawn is in
bench/h200_cases.py's docstring.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import h200_cases as cases

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREPARED = os.path.join(ROOT, ".gpubench", "h200")
RUNTIME_BUILD = "/tmp/skim-runtime"

# Row name -> (artifact, how skim's time grows with the tokens).
PATTERNS = {
    "causal": ("causal", 2),
    "window512": ("window512", 1),
    "nsa_like": ("nsa_like", 1),
    "moba": ("moba", 1),
    "moba_preset": ("moba_preset", 1),
    "decode": ("decode", 1),
    "nsa_selected_random": ("nsa_selected", 1),
    "nsa_selected_local": ("nsa_selected", 1),
    "nsa_selected_tpt4_random": ("nsa_selected_tpt4", 1),
    "nsa_selected_tpt4_local": ("nsa_selected_tpt4", 1),
    "nsa_selected_tpt1_random": ("nsa_selected_tpt1", 1),
    "nsa_selected_tpt1_local": ("nsa_selected_tpt1", 1),
    "nsa_selected_tpt1w1_random": ("nsa_selected_tpt1w1", 1),
    "nsa_selected_tpt1w1_local": ("nsa_selected_tpt1w1", 1),
    "nsa_selected_kvmajor_random": ("nsa_selected_kvmajor", 1),
    "nsa_selected_kvmajor_local": ("nsa_selected_kvmajor", 1),
    "nsa_selected_g4_random": ("nsa_selected_g4", 1),
    "nsa_selected_g4_local": ("nsa_selected_g4", 1),
    "nsa_selected_g4_kvmajor_random": ("nsa_selected_g4_kvmajor", 1),
    "nsa_selected_g4_kvmajor_local": ("nsa_selected_g4_kvmajor", 1),
    "nsa_given_random": ("nsa_given", 1),
    "nsa_given_local": ("nsa_given", 1),
    "nsa_preset": ("nsa_preset", 1),
    "nsa_preset_cmp64x64": ("nsa_preset_cmp64x64", 1),
    "nsa_preset_cmp32w2": ("nsa_preset_cmp32w2", 1),
    "nsa_preset_cmp16w1": ("nsa_preset_cmp16w1", 1),
}
PATTERNS.update({name: (name, 2) for name in cases.CAUSAL_SCHEDULES})
PATTERNS.update({name: (name, 1) for name in ("decode_split16", "decode_split8", "decode_tpt1",
                                               "decode_tpt1_split4", "decode_tpt1_split8",
                                               "decode_tpt1_split16", "decode_tpt1w1_split4",
                                               "decode_w1_split2")})
# The same kernels with K and V by cp.async instead of TMA (`--tma=false`).
PATTERNS.update({name: (name, 2 if name.startswith("causal") else 1) for name in cases.OVERLAP})
PATTERNS.update({"causal_cpasync": ("causal_cpasync", 2),
                 "window512_bm128w4": ("window512_bm128w4", 1),
                 "nsa_like_cpasync": ("nsa_like_cpasync", 1)})
PATTERNS.update({name: (name, 2 if name.startswith("causal") else 1)
                 for name in cases.WARP_SPECIALIZED})

# Per-token selection: measured against dense attention, not FlexAttention.
TRUE_NSA = ("nsa_selected_random", "nsa_selected_local", "nsa_selected_tpt4_random",
            "nsa_selected_tpt4_local", "nsa_selected_tpt1_random", "nsa_selected_tpt1_local",
            "nsa_selected_tpt1w1_random", "nsa_selected_tpt1w1_local",
            "nsa_selected_kvmajor_random", "nsa_selected_kvmajor_local",
            "nsa_selected_g4_random", "nsa_selected_g4_local", "nsa_selected_g4_kvmajor_random",
            "nsa_selected_g4_kvmajor_local", "nsa_given_random",
            "nsa_given_local", "nsa_preset", "nsa_preset_cmp64x64", "nsa_preset_cmp32w2",
            "nsa_preset_cmp16w1")

# --- prepare (here) ----------------------------------------------------------


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def git(*args):
    r = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def prepare(args):
    skim = args.skim or os.environ.get("SKIM") or os.path.join(ROOT, "build", "bin", "skim")
    os.makedirs(PREPARED, exist_ok=True)
    artifacts = {}
    for name, source in cases.ARTIFACTS.items():
        path = os.path.join(PREPARED, name + ".skim")
        if os.path.exists(path):
            os.remove(path)  # never run a stale artifact
        flags = []
        if isinstance(source, tuple):  # (source, extra `skim compile` flags)
            source, flags = source
        if isinstance(source, str):
            mlir = os.path.join(PREPARED, name + ".mlir")
            with open(mlir, "w") as f:
                f.write(source)
            source = [mlir]
        source = [*source, *flags]
        r = subprocess.run([skim, "compile", *source, "--target", args.target, "-o", path],
                           capture_output=True, text=True)
        message = (r.stderr or r.stdout).strip()
        artifacts[name] = {"ok": r.returncode == 0, "message": message.splitlines()[0]
                           if r.returncode and message else ""}
        if r.returncode == 0:
            artifacts[name]["sha256"] = sha256(path)
        print("%-12s %s" % (name, "ok" if r.returncode == 0 else "FAILED: " + message[:300]))
    dlpack = os.path.join(ROOT, ".gpubench", "include", "dlpack")
    os.makedirs(dlpack, exist_ok=True)
    shutil.copy("/usr/include/dlpack/dlpack.h", dlpack)
    env = dict(os.environ, SKIM=skim)
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "python", "gpu_artifacts.py"),
                    os.path.join(ROOT, ".gpubench", "pytest")], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    # The compiler is built from the working tree: name what differs from
    # the commit, since that is what the artifacts were compiled with.
    dirty = [line.split(None, 1)[1] for line in git("status", "--porcelain", "--untracked-files=no",
                                      "--", "compiler", "dialects").splitlines()]
    manifest = {"commit": git("rev-parse", "HEAD"), "dirty": bool(dirty), "dirty_files": dirty,
                "target": args.target,
                "prepared": datetime.datetime.now().isoformat(timespec="seconds"),
                "compiler": subprocess.run([skim, "info"], capture_output=True,
                                           text=True).stdout.split("\n")[0],
                "artifacts": artifacts}
    with open(os.path.join(PREPARED, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


# --- build (there) -----------------------------------------------------------


def build_runtime():
    """libskim_runtime.so from runtime/ alone: CMake and a C++ compiler."""
    include = os.path.join(ROOT, ".gpubench", "include")
    for step in (["cmake", "-S", os.path.join(ROOT, "runtime"), "-B", RUNTIME_BUILD, "-G",
                  "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DSKIM_DLPACK_DIR=" + include],
                 ["ninja", "-C", RUNTIME_BUILD, "skim_runtime"]):
        r = subprocess.run(step, capture_output=True, text=True)
        if r.returncode:
            sys.exit("build failed: %s\n%s" % (" ".join(step), (r.stdout + r.stderr)[-3000:]))
    return os.path.join(RUNTIME_BUILD, "lib", "libskim_runtime.so")


# --- run (there) -------------------------------------------------------------


class Bench:
    """Timers, memory and the baselines, over one torch."""

    def __init__(self, skim_cap_s):
        import torch
        import torch._dynamo
        from torch.nn.attention.flex_attention import flex_attention
        self.torch = torch
        # One compiled FlexAttention per shape and mask: more than dynamo's
        # default of 8 recompiles, past which it would silently run eagerly.
        torch._dynamo.config.cache_size_limit = 256
        torch._dynamo.config.accumulated_cache_size_limit = 4096
        self.flex = torch.compile(flex_attention, dynamic=False)
        self.cap_ms = skim_cap_s * 1000
        self.dense = {}  # tokens -> cuDNN causal ms, for the NSA rows

    def events(self, fn, reps):
        torch = self.torch
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        times = []
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times)

    def baseline(self, fn):
        """(median ms, peak extra MiB, output) of a baseline after a warm-up
        (FlexAttention compiles there)."""
        from triton.testing import do_bench
        torch = self.torch
        fn()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        out = fn()
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
        return do_bench(fn, warmup=25, rep=100, return_mode="median"), peak, out

    def skim(self, kernel, inputs):
        """(median ms, peak MiB, outputs, serial timings or None): outputs start
        as NaN, so an element the kernels miss shows; one run first (the
        image is loaded before it), then more only while runs are short:
        those under 100 ms are timed as the baselines are (do_bench), and
        also one at a time between synchronisations ("serial", the latency
        a caller waiting on each run sees, host overhead included; under
        1 ms also through the DLPack protocol's stream handshake)."""
        torch = self.torch
        workspace = kernel.workspace_bytes(*inputs)  # loads the image
        outputs = [torch.full(s, float("nan"), dtype=getattr(torch, d), device="cuda")
                   for s, d in zip(kernel.output_shapes(*inputs), kernel.output_dtypes)]
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()

        def call():
            kernel(*inputs, out=outputs)
        first = self.events(call, 1)
        serial = None
        extra = torch.cuda.max_memory_allocated() - base
        peak = (sum(o.numel() * o.element_size() for o in outputs) + workspace + extra) / 2**20
        if first < 100:
            # The baselines' timer (back-to-back calls, host work overlapping
            # the GPU's): one method for every column. The serial latency,
            # host overhead included, is kept beside it.
            from triton.testing import do_bench
            import skim
            reps = max(5, min(50, int(500 / max(first, 0.01))))
            serial = {"skim_serial_ms": self.events(call, reps)}
            if first < 1:
                # Where host work shows: the same calls with the DLPack
                # protocol's stream handshake instead of to_dlpack.
                skim._FAST_TORCH_EXPORT = False
                serial["skim_serial_protocol_ms"] = self.events(call, reps)
                skim._FAST_TORCH_EXPORT = True
            ms = do_bench(call, warmup=25, rep=100, return_mode="median")
        elif first < 2000:
            ms = statistics.median([first, self.events(call, 1), self.events(call, 1)])
        else:
            ms = first
        return ms, peak, outputs, serial


def qkv(torch, n, batch=cases.B, tokens=None, seed=0, hkv=cases.HKV):
    """q [B, Hq, T, D], k and v [B, Hkv, S, D], bf16 in (-1, 1) times 2 for q:
    PyTorch's layout; skim reads the same storage as [B, T, H, D] views."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    shapes = ((batch, cases.HQ, tokens or n, cases.D), (batch, hkv, n, cases.D),
              (batch, hkv, n, cases.D))
    return [((torch.rand(s, device="cuda", generator=g) * 2 - 1) * (2 if i == 0 else 1))
            .to(torch.bfloat16) for i, s in enumerate(shapes)]


def btd(*xs):
    return [x.transpose(1, 2) for x in xs]


def flex_mask(torch, tiles, n, mask_mod, tokens=None):
    """A BlockMask from (full, partial) 128-blocks per query tile."""
    from torch.nn.attention.flex_attention import BlockMask
    tokens = tokens or n
    nq, nk = (tokens + cases.BS - 1) // cases.BS, (n + cases.BS - 1) // cases.BS
    counts = [torch.zeros(1, 1, nq, dtype=torch.int32) for _ in range(2)]
    lists = [torch.zeros(1, 1, nq, nk, dtype=torch.int32) for _ in range(2)]
    for i, blocks in enumerate(tiles):
        for which, chosen in enumerate((blocks[1], blocks[0])):  # partial, then full
            counts[which][0, 0, i] = len(chosen)
            if chosen:
                lists[which][0, 0, i, :len(chosen)] = torch.tensor(sorted(chosen))
    partial_n, partial, full_n, full = (x.cuda() for x in (counts[0], lists[0], counts[1],
                                                           lists[1]))
    if not any(f for f, _ in tiles):  # decode: as the anchors pass it
        full_n = full = None
    return BlockMask.from_kv_blocks(partial_n, partial, full_n, full, BLOCK_SIZE=cases.BS,
                                    mask_mod=mask_mod, seq_lengths=(tokens, n))


def max_error(torch, got, want):
    return float((got.float() - want.float()).abs().max())


def setup(bench, pattern, n):
    """What one row runs: skim's inputs, the baselines, the reference check,
    and the allowed pairs of one head (or bytes, for decode)."""
    torch = bench.torch
    F = torch.nn.functional
    from torch.nn.attention import SDPBackend, sdpa_kernel
    flex = bench.flex

    def causal(b, h, i, j):
        return i >= j

    def window(b, h, i, j):
        return (i >= j) & (i - j < cases.WINDOW)

    def sdpa(backends, q, k, v, is_causal):
        def call():
            with sdpa_kernel(backends):
                return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal,
                                                      enable_gqa=True)
        return call

    row = {"baselines": {}, "reference": None, "pairs": None}
    if pattern.startswith(("causal", "nsa_like", "window512")) or pattern in ("moba",
                                                                              "moba_preset"):
        q, k, v = qkv(torch, n)
        row["inputs"] = btd(q, k, v)
        if pattern.startswith("causal"):
            row["pairs"] = n * (n + 1) // 2
            bm = flex_mask(torch, cases.causal_tiles(n), n, causal)
            row["baselines"]["sdpa_fa2"] = sdpa(SDPBackend.FLASH_ATTENTION, q, k, v, True)
            row["baselines"]["sdpa_cudnn"] = sdpa(SDPBackend.CUDNN_ATTENTION, q, k, v, True)
        elif pattern.startswith("window512"):
            row["pairs"] = cases.window_pairs(n)
            bm = flex_mask(torch, cases.window_tiles(n), n, window)
        elif pattern.startswith("nsa_like"):
            tiles = cases.nsa_like_tiles(torch, n)
            row["pairs"] = cases.tile_pairs(tiles)
            row["inputs"].append(cases.blocks_tensor(
                torch, [f + p for f, p in tiles], 21, "cuda"))
            bm = flex_mask(torch, tiles, n, causal)
        elif pattern == "moba":
            tiles, moba_blocks = cases.moba_tiles(torch, n)
            row["pairs"] = cases.tile_pairs(tiles)
            row["inputs"].append(cases.blocks_tensor(torch, moba_blocks, 3, "cuda"))
            bm = flex_mask(torch, tiles, n, causal)
        if pattern != "moba_preset":  # its own selection: Flex's is the moba row's
            row["baselines"]["flex"] = lambda: flex(q, k, v, block_mask=bm, enable_gqa=True)
        row["reference"] = lambda outs, got: {
            "err_vs_" + name: max_error(torch, outs[0], got[name].transpose(1, 2))
            for name in ("flex", "sdpa_cudnn") if name in got}
    elif pattern.startswith("decode"):
        n = cases.DECODE_KEYS
        q, k, v = qkv(torch, n, batch=cases.DECODE_BATCH, tokens=1)
        picks = cases.decode_blocks(torch)
        idx = cases.blocks_tensor(torch, [picks], 16, "cuda")
        row["inputs"] = btd(q, k, v) + [idx.expand(cases.DECODE_BATCH, -1, -1, -1).contiguous()]
        row["bytes"] = 2 * cases.DECODE_BATCH * cases.HKV * len(picks) * cases.BS * cases.D * 2
        row["dense_bytes"] = 2 * cases.DECODE_BATCH * cases.HKV * n * cases.D * 2
        bm = flex_mask(torch, [([], picks)], n, None, tokens=1)
        row["baselines"]["flex"] = lambda: flex(q, k, v, block_mask=bm, enable_gqa=True)
        row["baselines"]["sdpa_dense"] = sdpa(
            [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
             SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH], q, k, v, False)
        row["reference"] = lambda outs, got: {
            "err_vs_flex": max_error(torch, outs[0], got["flex"].transpose(1, 2))}
    else:  # true NSA
        # The small-group rows have 16 KV heads (G = 4), the others 4.
        hkv = cases.SMALL_GROUP_HKV if "_g4" in pattern else cases.HKV
        q, k, v = qkv(torch, n, hkv=hkv)
        row["inputs"] = btd(q, k, v)
        if n not in bench.dense:  # measured against dense attention
            row["baselines"]["sdpa_cudnn"] = sdpa(SDPBackend.CUDNN_ATTENTION, q, k, v, True)
        g = torch.Generator(device="cuda").manual_seed(4)
        gates = [torch.rand(1, n, cases.HQ, device="cuda", generator=g).to(torch.bfloat16)
                 for _ in range(3)]
        if not pattern.startswith("nsa_preset"):
            sel = cases.nsa_selection(torch, n, pattern.endswith("local"), "cuda", hkv=hkv)
            # Allowed (token, query head) pairs of one head, on average.
            sel_pairs = cases.selected_keys(torch, sel, n) * (cases.HQ // hkv) // cases.HQ
            row["inputs"].append(sel)
            # Past the first quarter, where a token has more blocks than it
            # selects, so the selection matters.
            rows = torch.randint(n // 4, n, (32,), device="cuda", generator=g)
            if pattern.startswith("nsa_selected"):
                row["pairs"] = sel_pairs
                row["reference"] = lambda outs, got: {"err_vs_fp32_rows": max_error(
                    torch, outs[0][0, rows], cases.selected_reference(torch, q, k, v, sel, rows))}
            else:
                row["pairs"] = (cases.compressed_pairs(n) + sel_pairs + cases.window_pairs(n))
                row["reference"] = lambda outs, got: {"err_vs_fp32_rows": max_error(
                    torch, outs[0][0, rows],
                    cases.nsa_given_reference(torch, q, k, v, sel, gates, rows))}
        if pattern.startswith(("nsa_given", "nsa_preset")):
            row["inputs"] += gates
    return row


def run_row(bench, kernel, pattern, n, growth, last):
    """One table row: every number, or why it is missing."""
    torch = bench.torch
    entry = {"pattern": pattern, "tokens": cases.DECODE_KEYS if pattern.startswith("decode") else n}
    row = setup(bench, pattern, n)
    got = {}
    for name, fn in row["baselines"].items():
        try:
            ms, peak, out = bench.baseline(fn)
            entry[name + "_ms"], entry[name + "_peak_mib"] = ms, peak
            got[name] = out
        except Exception as e:  # a baseline failing must not end the run
            entry[name + "_error"] = "%s: %s" % (type(e).__name__, str(e)[:300])
    if "sdpa_cudnn_ms" in entry:
        bench.dense[n] = entry["sdpa_cudnn_ms"]
    if kernel is None:
        entry["status"] = "not supported yet"
    elif last and last[1] * (n / last[0]) ** growth > bench.cap_ms:
        entry["status"] = "skipped: one run predicted at %.0f s" % (
            last[1] * (n / last[0]) ** growth / 1000)
    else:
        ms, peak, outs, serial = bench.skim(kernel, row["inputs"])
        entry["skim_ms"], entry["skim_peak_mib"] = ms, peak
        entry.update(serial or {})
        entry["skim_unwritten"] = int(sum(torch.isnan(o).sum() for o in outs))
        if row["reference"]:
            entry.update(row["reference"](outs, got))
        entry["status"] = "ok" if entry["skim_unwritten"] == 0 else "unwritten outputs"
    for key in [k for k in entry if k.endswith("_ms")]:
        if row.get("bytes"):
            size = row["dense_bytes"] if key.startswith("sdpa") else row["bytes"]
            entry[key.replace("_ms", "_tbps")] = size / entry[key] / 1e9
        elif row["pairs"]:
            flops = 4 * cases.B * cases.HQ * cases.D * row["pairs"]
            entry[key.replace("_ms", "_tflops")] = flops / entry[key] / 1e9
    if pattern in TRUE_NSA and "skim_ms" in entry:
        dense = bench.dense.get(n)
        if dense:
            entry["dense_cudnn_ms"] = dense
            entry["speedup_vs_dense"] = dense / entry["skim_ms"]
    return entry


def markdown(rows):
    def cell(r, key, fmt="%.3g"):
        return fmt % r[key] if key in r else "—"
    lines = ["| pattern | tokens | skim ms | skim TF | Flex ms | Flex TF | FA2 ms | cuDNN ms "
             "| max err | skim MiB | Flex MiB | status |", "|" + " --- |" * 12]
    for r in rows:
        err = [k for k in r if k.startswith("err_vs_")]
        speed = "skim_tbps" if "skim_tbps" in r else "skim_tflops"
        flex_speed = "flex_tbps" if "flex_tbps" in r else "flex_tflops"
        unit = " TB/s" if speed.endswith("tbps") else ""
        lines.append("| %s | %dk | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["pattern"], r["tokens"] // 1024, cell(r, "skim_ms"), cell(r, speed) + unit
            if speed in r else "—", cell(r, "flex_ms"), cell(r, flex_speed) + unit
            if flex_speed in r else "—", cell(r, "sdpa_fa2_ms"),
            cell(r, "sdpa_cudnn_ms") if "sdpa_cudnn_ms" in r else cell(r, "sdpa_dense_ms"),
            ", ".join("%.2g (%s)" % (r[k], k[7:]) for k in err) or "—",
            cell(r, "skim_peak_mib", "%.0f"), cell(r, "flex_peak_mib", "%.0f"),
            r.get("status", "")))
    return "\n".join(lines)


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: no plot")
        return
    patterns = [p for p in PATTERNS if any(r["pattern"] == p and "skim_ms" in r for r in rows)]
    if not patterns:
        return
    cols = min(4, len(patterns))
    fig, axes = plt.subplots((len(patterns) + cols - 1) // cols, cols, squeeze=False,
                             figsize=(4 * cols, 3.2 * ((len(patterns) + cols - 1) // cols)))
    for ax, p in zip(axes.flat, patterns):
        mine = [r for r in rows if r["pattern"] == p]
        for key, style in (("skim_ms", "o-"), ("flex_ms", "s--"), ("sdpa_cudnn_ms", "^:"),
                           ("dense_cudnn_ms", "^:")):
            pts = [(r["tokens"], r[key]) for r in mine if key in r]
            if pts:
                ax.loglog(*zip(*pts), style, label=key[:-3])
        ax.set_title(p)
        ax.set_xlabel("tokens")
        ax.set_ylabel("ms")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(patterns):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print("plot:", path)


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(PREPARED, "manifest.json")) as f:
        manifest = json.load(f)
    library = os.environ.get("SKIM_LIBRARY") or build_runtime()
    os.environ["SKIM_LIBRARY"] = library
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import skim
    import torch
    import triton
    bench = Bench(args.skim_cap_s)
    sizes = [int(s) for s in args.sizes.split(",")]
    patterns = args.patterns.split(",") if args.patterns else list(PATTERNS)
    rows = []
    started = time.time()
    for pattern in patterns:
        artifact, growth = PATTERNS[pattern]
        kernel, load_error = None, manifest["artifacts"][artifact]["message"]
        path = os.path.join(PREPARED, artifact + ".skim")
        expected = manifest["artifacts"][artifact].get("sha256")
        if manifest["artifacts"][artifact]["ok"] and expected and sha256(path) != expected:
            # A stale copy on the GPU machine once ran an older compiler's kernels.
            load_error = "the artifact differs from the one `prepare` wrote"
        elif manifest["artifacts"][artifact]["ok"]:
            try:
                kernel = skim.load(os.path.join(PREPARED, artifact + ".skim"))
            except skim.Error as e:
                load_error = str(e)
        last = None
        for n in ([cases.DECODE_KEYS] if pattern.startswith("decode") else sizes):
            try:
                entry = run_row(bench, kernel, pattern, n, growth, last)
            except Exception as e:  # one row failing must not end the run
                entry = {"pattern": pattern, "tokens": n,
                         "status": "error: %s: %s" % (type(e).__name__, str(e)[:400])}
            if kernel is None:
                entry["skim_error"] = load_error
            if "skim_ms" in entry:
                last = (n, entry["skim_ms"])
            entry["elapsed_s"] = round(time.time() - started, 1)
            rows.append(entry)
            print(json.dumps(entry), flush=True)
            torch.cuda.empty_cache()
    props = torch.cuda.get_device_properties(0)
    driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    date = datetime.date.today().isoformat()
    result = {
        "benchmark": "h200: skim (Python module, runtime-only library) vs FlexAttention, SDPA",
        "date": date, "device": props.name, "sms": props.multi_processor_count,
        "driver": driver, "cuda": torch.version.cuda, "torch": torch.__version__,
        "triton": triton.__version__, "skim": skim.version(), "library": library,
        "commit": manifest["commit"], "dirty_tree": manifest["dirty"],
        "dirty_files": manifest.get("dirty_files", []), "note": manifest.get("note", ""),
        "compiler": manifest["compiler"], "target": manifest.get("target", "sm_90"),
        "artifacts": manifest["artifacts"],
        "shapes": {"B": cases.B, "Hq": cases.HQ, "Hkv": cases.HKV, "D": cases.D,
                   "dtype": "bf16", "tokens": sizes,
                   "decode": {"batch": cases.DECODE_BATCH, "keys": cases.DECODE_KEYS}},
        "rows": rows,
    }
    name = "%s-h200" % date
    for folder in (args.outdir, os.path.join(ROOT, "bench", "results")):
        try:
            with open(os.path.join(folder, name + ".json"), "w") as f:
                json.dump(result, f, indent=1)
        except OSError as e:
            print("not written to %s: %s" % (folder, e))
    table = markdown(rows)
    with open(os.path.join(args.outdir, name + ".md"), "w") as f:
        f.write(table + "\n")
    plot(rows, os.path.join(args.outdir, name + ".png"))
    print("\n%s, %s, driver %s, torch %s, commit %s%s\n" % (
        props.name, date, driver, torch.__version__, manifest["commit"][:10],
        " (dirty tree)" if manifest["dirty"] else ""))
    print(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="compile the GPU artifacts (needs the compiler)")
    p.add_argument("--skim", help="the skim tool (default $SKIM, else build/bin/skim)")
    p.add_argument("--target", default="sm_90a",
                   help="sm_90a (wgmma, the default) or sm_90 (mma.sync)")
    sub.add_parser("build", help="build libskim_runtime.so and print its path")
    r = sub.add_parser("run", help="time and check on the GPU")
    r.add_argument("outdir")
    r.add_argument("--sizes", default=",".join(str(n) for n in cases.SIZES))
    r.add_argument("--patterns", help="comma-separated, from: " + ", ".join(PATTERNS))
    r.add_argument("--skim-cap-s", type=float, default=20.0,
                   help="skip skim where the last size predicts a longer run")
    k = sub.add_parser("kernels", help="run each pattern's skim kernels twice, nothing "
                       "else (for a profiler: ncu --kernel-name regex:skim_k ...)")
    k.add_argument("--patterns", required=True)
    k.add_argument("--size", type=int, default=16384)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args)
    elif args.command == "build":
        print(build_runtime())
    elif args.command == "kernels":
        kernels_only(args)
    else:
        run(args)


def kernels_only(args):
    """Each pattern's inputs, then two calls of its skim kernels (the first
    loads the image): what a profiler attached to this process should see."""
    os.environ.setdefault("SKIM_LIBRARY", build_runtime())
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import skim
    bench = Bench(20.0)
    for pattern in args.patterns.split(","):
        artifact, _ = PATTERNS[pattern]
        kernel = skim.load(os.path.join(PREPARED, artifact + ".skim"))
        inputs = setup(bench, pattern, args.size)["inputs"]
        for _ in range(2):
            kernel(*inputs)
        bench.torch.cuda.synchronize()
        print(pattern, "ran", flush=True)


if __name__ == "__main__":
    main()
