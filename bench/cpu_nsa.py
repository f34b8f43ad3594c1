#!/usr/bin/env python3
"""CPU benchmark: skim's NSA forward on this machine, in GFLOP/s on allowed pairs.

Counts FLOPs as shared/anchors/README.md does (4 * B * Hq * D per allowed
(query, key) pair), with the pairs of each branch counted exactly for causal
NSA with T = S: compressed keys visible to row p, the selected blocks (all
complete except the own block, n of them once enough blocks exist), and the
window. Writes bench/results/<date>-cpu-<host>.json.

  python3 bench/cpu_nsa.py [--seq 8192] [--heads 64/4] [--dim 128] [--repeat 3]
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nsa_pairs(t, l=32, d=16, lsel=64, n=16, w=512):
    total = {"compressed": 0, "selected": 0, "window": 0}
    for p in range(t):
        total["compressed"] += (p - (l - 1)) // d + 1 if p >= l - 1 else 0
        own = p // lsel
        # Rows that see no compressed key get only the forced blocks: block 0
        # and the own block, which are the same block while p < l - 1 < l'.
        count = min(n, own + 1) if p >= l - 1 else 1
        total["selected"] += (count - 1) * lsel + (p % lsel + 1)
        total["window"] += min(w, p + 1)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=8192)
    ap.add_argument("--heads", default="64/4")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--dtype", default="f32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skim", default=os.path.join(ROOT, "build", "bin", "skim"))
    args = ap.parse_args()
    hq, hkv = (int(x) for x in args.heads.split("/"))
    cmd = [args.skim, "run", "--variant", "nsa", "--seq", str(args.seq),
           "--heads", args.heads, "--dim", str(args.dim), "--dtype", args.dtype,
           "--repeat", str(args.repeat)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"median ([0-9.]+) ms", out).group(1))
    threads = int(re.search(r"\((\d+) threads\)", out).group(1))
    compile_ms = float(re.search(r"in ([0-9.]+) ms", out).group(1))
    pairs = nsa_pairs(args.seq)
    flops = 4 * hq * args.dim * sum(pairs.values())
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    result = {
        "benchmark": "nsa_forward_cpu",
        "device": f"{cpu} ({threads} threads)",
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "shape": {"B": 1, "T": args.seq, "S": args.seq, "Hq": hq, "Hkv": hkv,
                  "D": args.dim, "dtype": args.dtype,
                  "nsa": {"l": 32, "d": 16, "l_sel": 64, "n": 16, "window": 512}},
        "allowed_pairs_per_head": pairs,
        "compile_ms": compile_ms,
        "time_ms": ms,
        "gflops": flops / (ms * 1e-3) / 1e9,
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results",
                        f"{result['date']}-cpu-nsa-{platform.node() or 'host'}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"NSA forward T={args.seq} Hq/Hkv={args.heads} D={args.dim} {args.dtype}: "
          f"{ms:.1f} ms, {result['gflops']:.1f} GFLOP/s on allowed pairs "
          f"({threads} threads) -> {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
