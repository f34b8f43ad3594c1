#!/usr/bin/env python3
"""Native Sparse Attention with skim from Python.

Compiles NSA (compressed, selected and sliding-window branches with their
gates) for this CPU, or loads it from the JIT cache, and runs it on random
NumPy inputs.

    PYTHONPATH=<prefix>/lib/python3/dist-packages /usr/bin/python3 examples/python/nsa.py
    /usr/bin/python3 examples/python/nsa.py --seq 4096 --heads 16/1 --dim 128

(From a checkout, `PYTHONPATH=python` uses build/lib/libskim.so.)
"""

import argparse
import time

import numpy as np

import skim


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--heads", default="8/1", help="query heads / key-value heads")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    hq, hkv = (int(h) for h in args.heads.split("/"))

    # The paper's defaults: compressed blocks of 32 every 16 tokens, 16
    # selected blocks of 64, a window of 512.
    mlir = skim.preset("nsa", heads=args.heads, dim=args.dim, dtype="f32", cmp_block=32,
                       cmp_stride=16, sel_block=64, selected=16, window=512)
    start = time.perf_counter()
    kernel = skim.compile(mlir)
    print("%s: compiled (or loaded from the cache) in %.0f ms"
          % (skim.version(), 1e3 * (time.perf_counter() - start)))

    rng = np.random.default_rng(0)
    b, t, d = args.batch, args.seq, args.dim
    q = rng.standard_normal((b, t, hq, d), dtype=np.float32)
    k = rng.standard_normal((b, t, hkv, d), dtype=np.float32)
    v = rng.standard_normal((b, t, hkv, d), dtype=np.float32)
    # Gates in (0, 1), one per query head and branch.
    gates = [1 / (1 + np.exp(-rng.standard_normal((b, t, hq), dtype=np.float32)))
             for _ in range(3)]
    inputs = (q, k, v, *gates)
    assert kernel.num_inputs == len(inputs)

    times = []
    for _ in range(max(args.repeats, 1)):
        start = time.perf_counter()
        (out,) = kernel(*inputs)
        times.append(time.perf_counter() - start)
    if not np.isfinite(out).all():
        raise SystemExit("nsa: the output is not finite")
    print("output %s %s, checksum %.6f" % (out.shape, out.dtype, float(out.sum(dtype=np.float64))))
    print("ran in %.2f ms (median of %d)" % (1e3 * float(np.median(times)), len(times)))


if __name__ == "__main__":
    main()
