#!/usr/bin/env python3
"""JIT benchmark: cold compile of the NSA preset for the host, then a cache hit.

Both through `skim run` with a fresh $SKIM_CACHE_DIR: the first run compiles
(parse, skim-expand-variants ... LLVM O3, lld) and stores the artifact; the
second finds it (parse for the key, read, checksum, memfd + dlopen). Goals
from the runtime issue: cold < 1 s, hit < 5 ms. Writes
bench/results/<date>-cpu-jit-<host>.json with the medians of --repeat rounds.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skim", default=os.path.join(ROOT, "build", "bin", "skim"))
    args = ap.parse_args()
    preset = ["--variant", "nsa", "--heads", "64/4", "--dim", "128", "--seq", "64",
              "--repeat", "1"]
    cold, hit = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, SKIM_CACHE_DIR=cache)
            for times, pattern in ((cold, r"compiled .* in ([0-9.]+) ms"),
                                   (hit, r"loaded .* from the cache in ([0-9.]+) ms")):
                out = subprocess.run([args.skim, "run", *preset], env=env, check=True,
                                     capture_output=True, text=True).stdout
                times.append(float(re.search(pattern, out).group(1)))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    result = {
        "benchmark": "jit_nsa_preset_host",
        "device": platform.processor() or platform.machine(),
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "shape": {"variant": "nsa", "Hq": 64, "Hkv": 4, "D": 128, "dtype": "f32"},
        "cold_compile_ms": statistics.median(cold),
        "cache_hit_ms": statistics.median(hit),
        "rounds": args.repeat,
    }
    path = os.path.join(ROOT, "bench", "results",
                        f"{result['date']}-cpu-jit-{platform.node() or 'host'}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"NSA preset for the host: cold compile {result['cold_compile_ms']:.0f} ms, "
          f"cache hit {result['cache_hit_ms']:.1f} ms (medians of {args.repeat}) "
          f"-> {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
