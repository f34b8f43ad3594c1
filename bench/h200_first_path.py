#!/usr/bin/env python3
"""Where skim's first NVIDIA path stands: its SIMT kernels (no tensor cores)
beside SDPA (FlashAttention-2, cuDNN) and FlexAttention, in one run on the
GPU machine, on the anchors' shapes at 8k tokens (B 1, Hq 64, Hkv 4, D 128,
bf16): dense causal and a 512-token sliding window.

  python3 bench/h200_first_path.py prepare     # here: compile the skim kernels
  python3 bench/h200_first_path.py run OUTDIR  # on the GPU machine, with
                                               # .gpubench/ and tests/gpu built

FLOPs are counted as shared/anchors/README.md does: 4 · B · Hq · D per
allowed (query, key) pair.
"""
import datetime
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, ".gpubench")
B, HQ, HKV, D, N, W = 1, 64, 4, 128, 8192, 512
VARIANTS = {"causal": ["--variant", "causal"],
            "window512": ["--variant", "window", "--window", str(W)]}


def pairs(name):
    if name == "causal":
        return N * (N + 1) // 2
    return sum(min(W, p + 1) for p in range(N))


def prepare():
    skim = os.path.join(ROOT, "build", "bin", "skim")
    for name, args in VARIANTS.items():
        d = os.path.join(CASES, name)
        os.makedirs(d, exist_ok=True)
        subprocess.run([skim, "compile", *args, "--heads", f"{HQ}/{HKV}", "--dim", str(D),
                        "--dtype", "bf16", "--target", "sm_90", "-o",
                        os.path.join(d, "gpu.skim")], check=True)
        with open(os.path.join(d, "spec.txt"), "w") as f:
            f.write(f"float -2 2 4 {B} {N} {HQ} {D}\n")
            f.write(f"float -1 1 4 {B} {N} {HKV} {D}\n" * 2)
    print("prepared", ", ".join(VARIANTS))


def run(out):
    import torch
    import torch.nn.functional as F
    import triton
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    from triton.testing import do_bench

    def bench(fn):
        fn()
        torch.cuda.synchronize()
        return do_bench(fn, warmup=25, rep=100, return_mode="median")

    gpucheck = os.environ.get("GPUCHECK", "/tmp/skim-gpucheck/gpucheck")
    q = torch.randn(B, HQ, N, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(B, HKV, N, D, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(B, HKV, N, D, device="cuda", dtype=torch.bfloat16)
    flex = torch.compile(flex_attention, dynamic=False)
    masks = {"causal": lambda b, h, i, j: i >= j,
             "window512": lambda b, h, i, j: (i >= j) & (i - j < W)}
    rows = []
    for name in VARIANTS:
        flops = 4 * B * HQ * D * pairs(name)
        entry = {"pattern": name}
        if name == "causal":
            for label, backend in (("sdpa_fa2", SDPBackend.FLASH_ATTENTION),
                                   ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
                with sdpa_kernel(backend):
                    entry[label + "_ms"] = bench(lambda: F.scaled_dot_product_attention(
                        q, k, v, is_causal=True, enable_gqa=True))
        bm = create_block_mask(masks[name], 1, 1, N, N)
        entry["flex_ms"] = bench(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True))
        r = subprocess.run([gpucheck, "time", os.path.join(CASES, name), "3"],
                           capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith("time ")]
        entry["skim_simt_ms"] = float(line[0].split()[-1]) if line else None
        if not line:
            entry["skim_error"] = (r.stderr or r.stdout)[-500:]
        for key in [k for k in entry if k.endswith("_ms") and entry[k]]:
            entry[key.replace("_ms", "_tflops")] = flops / entry[key] / 1e9
        rows.append(entry)
        print(json.dumps(entry), flush=True)
    commit = open(os.path.join(ROOT, ".gpubench", "commit")).read().strip() \
        if os.path.exists(os.path.join(ROOT, ".gpubench", "commit")) else "unknown"
    result = {
        "benchmark": "first_nvidia_path_vs_baselines",
        "device": torch.cuda.get_device_name(),
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "torch": torch.__version__, "triton": triton.__version__,
        "shape": {"B": B, "T": N, "S": N, "Hq": HQ, "Hkv": HKV, "D": D, "dtype": "bf16"},
        "skim_path": "SIMT lowering of the tile level (no tensor cores): a correctness baseline",
        "rows": rows,
    }
    with open(os.path.join(out, "h200_first_path.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        prepare()
    elif sys.argv[1:2] == ["run"]:
        run(sys.argv[2] if len(sys.argv) > 2 else ".")
    else:
        sys.exit(__doc__)
