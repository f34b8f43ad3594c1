#!/usr/bin/env python3
"""Builds the GPU check cases: for each variant, a CPU artifact and an sm_90
artifact (compiled here, where LLVM is) plus a spec of seeded random inputs.

  python3 tests/gpu/make_cases.py [OUT_DIR (default .gpucheck)] [case ...]

Then `gpucheck gen` (here) computes the expected outputs with the CPU
artifacts, and `gpucheck run` (on the GPU machine, built from
tests/gpu/CMakeLists.txt without LLVM) runs the GPU artifacts and compares.
scripts/gpu_check.sh does all of it.
"""
import os, subprocess, sys
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIM = os.environ.get("SKIM", os.path.join(REPO, "build", "bin", "skim"))
ROOT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith(("causal", "window", "dense", "sel_", "pool", "combine", "merge")) else os.path.join(REPO, ".gpucheck")
cases = []  # (name, source args or mlir, spec lines)

def tt(dims, t):
    return "tensor<" + "x".join(str(d) for d in dims) + "x" + t + ">"

def attn_mlir(hq, hkv, d, t, mask=None, sel=None):
    q = tt(["?", "?", hq, d], t); k = tt(["?", "?", hkv, d], t)
    o = q; lse = tt(["?", hq, "?"], "f32")
    args = f"%q: {q}, %k: {k}, %v: {k}"
    op = "  %o, %lse = skim.attention %q, %k, %v"
    attrs = []
    if sel:
        heads, entries, kvb, qb = sel
        idx = tt(["?", "?", heads, entries], "i32")
        args += f", %idx: {idx}"
        op += f" indices(%idx : {idx})"
        attrs.append(f"kv_block = {kvb}")
        if qb != 1:
            attrs.append(f"q_block = {qb}")
    if mask:
        attrs.insert(0, f"mask = #skim.mask<{mask}>")
    if attrs:
        op += " {" + ", ".join(attrs) + "}"
    op += f"\n      : {q}, {k}, {k}\n"
    return f"func.func @attention({args})\n    -> ({o}, {lse}) {{\n{op}  return %o, %lse : {o}, {lse}\n}}\n"

def fl(shape, lo=-1, hi=1):
    return f"float {lo} {hi} {len(shape)} " + " ".join(map(str, shape))

def it(shape, lo, hi):
    return f"int {lo} {hi} {len(shape)} " + " ".join(map(str, shape))

def preset(name, variant, hq, hkv, d, t, T, S, extra=()):
    args = ["--variant", variant, "--heads", f"{hq}/{hkv}", "--dim", str(d), "--dtype", t] + list(extra)
    spec = [fl([1, T, hq, d], -2, 2), fl([1, S, hkv, d]), fl([1, S, hkv, d])]
    cases.append((name, args, spec))

def mlir(name, text, spec):
    cases.append((name, text, spec))

preset("causal_f32_g4_d64_T100", "causal", 8, 2, 64, "f32", 100, 100)
preset("causal_bf16_g1_d128_T1000", "causal", 2, 2, 128, "bf16", 1000, 1000)
preset("causal_f32_g4_d128_T1_S300", "causal", 4, 1, 128, "f32", 1, 300)
preset("causal_bf16_g4_d64_T100_S1000", "causal", 8, 2, 64, "bf16", 100, 1000)
preset("window64_sink4_f32_g4_d64_T1000", "window", 4, 1, 64, "f32", 1000, 1000, ["--window", "64", "--sink", "4"])
preset("window64_sink4_bf16_g1_d128_T100", "window", 2, 2, 128, "bf16", 100, 100, ["--window", "64", "--sink", "4"])
mlir("dense_f32_g4_d64_T100_S250", attn_mlir(4, 1, 64, "f32"),
     [fl([2, 100, 4, 64], -2, 2), fl([2, 250, 1, 64]), fl([2, 250, 1, 64])])
mlir("dense_bf16_g1_d128_T1", attn_mlir(2, 2, 128, "bf16"),
     [fl([1, 1, 2, 128], -2, 2), fl([1, 77, 2, 128]), fl([1, 77, 2, 128])])
# Selection given per token (q_block 1) and per tile (q_block 64), 64-key blocks.
for qb, T, S, t in ((1, 100, 1000, "f32"), (64, 1000, 1000, "bf16"), (1, 1, 300, "f32")):
    nb = (S + 63) // 64
    mlir(f"sel_qb{qb}_{t}_g4_d64_T{T}_S{S}", attn_mlir(8, 2, 64, t, "causal", (2, 4, 64, qb)),
         [fl([1, T, 8, 64], -2, 2), fl([1, S, 2, 64]), fl([1, S, 2, 64]),
          it([1, (T + qb - 1) // qb, 2, 4], -1, nb)])
for t in ("f32", "bf16"):
    x = tt(["?", "?", 2, 64], t)
    mlir(f"pool_mean_{t}", f"func.func @pool(%x: {x}) -> {x} {{\n  %r = skim.pool mean %x {{block = 32, stride = 16}} : {x}\n  return %r : {x}\n}}\n",
         [fl([2, 1000, 2, 64])])
    o = tt(["?", "?", 8, 48], t); g = tt(["?", "?", 8], t)
    mlir(f"combine2_{t}", f"func.func @combine(%o0: {o}, %o1: {o}, %g0: {g}, %g1: {g}) -> {o} {{\n  %r = skim.combine(%o0, %o1) gates(%g0, %g1) : ({o}, {o}), ({g}, {g})\n  return %r : {o}\n}}\n",
         [fl([2, 77, 8, 48], -3, 3), fl([2, 77, 8, 48], -3, 3), fl([2, 77, 8]), fl([2, 77, 8])])
    o = tt(["?", "?", 4, 64], t); l = tt(["?", 4, "?"], "f32")
    mlir(f"merge2_{t}", f"func.func @merge(%o0: {o}, %o1: {o}, %l0: {l}, %l1: {l}) -> ({o}, {l}) {{\n  %o, %l = skim.merge(%o0, %o1) lse(%l0, %l1) : ({o}, {o}), ({l}, {l})\n  return %o, %l : {o}, {l}\n}}\n",
         [fl([2, 100, 4, 64], -3, 3), fl([2, 100, 4, 64], -3, 3), fl([2, 4, 100], -2, 3), fl([2, 4, 100], -2, 3)])

only = [a for a in sys.argv[1:] if os.path.abspath(a) != ROOT]
for name, src, spec in cases:
    if only and name not in only:
        continue
    d = os.path.join(ROOT, "cases", name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "spec.txt"), "w").write("\n".join(spec) + "\n")
    if isinstance(src, str):
        open(os.path.join(d, "variant.mlir"), "w").write(src)
        base = [os.path.join(d, "variant.mlir")]
    else:
        base = src
    ok = True
    for target, out in (("host", "cpu.skim"), ("sm_90", "gpu.skim")):
        r = subprocess.run([SKIM, "compile"] + base + ["--target", target, "-o", os.path.join(d, out)],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"{name}: {target}: FAILED\n{r.stderr[:1500]}")
            ok = False
    print(name, "ok" if ok else "FAILED")
