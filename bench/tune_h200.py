#!/usr/bin/env python3
"""The autotuner on the H200 (issue 7): for each anchor shape, the tuned
schedule against an exhaustive search of the pruned space, the cost model's
rank correlation with the measured times, tuned vs default.

  python3 bench/tune_h200.py prepare            # here, with the compiler
  python3 bench/tune_h200.py run OUTDIR         # there: runtime only
  python3 bench/tune_h200.py report OUTDIR      # here: the numbers
  python3 bench/tune_h200.py rescore RESULTS    # here: today's model on them

`prepare` exports each shape's pruned search space (`skim tune --export`:
every candidate compiled for sm_90a, with a manifest) into .gputune/
(git-ignored; carry it) and records how long the compiles took here. `run`
builds skim-tune-measure from runtime/ and autotune/ with CMake (no LLVM) and
runs it twice per shape: every candidate (the exhaustive search), then the
tuner's search with a 20-second budget, in the cost model's order, each on
its own fresh inputs. `report` reads both, computes Spearman's rank
correlation of predicted and measured times over every candidate that ran,
the tuned result's gap to the exhaustive best, the speedup over the default
schedule, and what the model's own pick (no device) measured, and writes
bench/results/<date>-h200-tune.json plus a Markdown table. `rescore`
prices the candidates measured in a results file with the cost model as it is now (`skim
tune --dry-run --json`) and prints the same correlations and model picks:
how a change to the model is checked against measurements already taken.

The shapes are the anchors' (bf16, B 1, Hq 64, Hkv 4, D 128, 64k tokens;
decode: 16 sequences, one token each, 64k keys). Selections are the
measurement's own: random distinct causal blocks per row
(autotune/Measure.cpp), not bench/h200.py's NSA-like and MoBA patterns.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import h200_cases as cases  # noqa: E402

WORK = os.path.join(ROOT, ".gputune")
BUDGET = "20s"
# Timed runs per candidate (the median counts): 3 keeps the exhaustive
# searches inside the device time; the tuner runs with the same count.
REPEAT = "3"
N = 65536
PRESET = ["--heads", f"{cases.HQ}/{cases.HKV}", "--dim", str(cases.D), "--dtype", "bf16"]

# name -> (variant: preset flags or MLIR text, sizes flags)
SHAPES = {
    "causal": (["--variant", "causal"] + PRESET, ["--seq", str(N)]),
    "window512": (["--variant", "window", "--window", str(cases.WINDOW)] + PRESET,
                  ["--seq", str(N)]),
    "nsa_like": (cases.selected_mlir(1 + 4 + 15 + 1, cases.BS, cases.BS), ["--seq", str(N)]),
    "moba": (cases.selected_mlir(3, 512, cases.BS), ["--seq", str(N)]),
    "nsa_selected": (cases.selected_mlir(cases.SELECTED, cases.SEL_BLOCK, 1), ["--seq", str(N)]),
    "decode": (cases.selected_mlir(16, cases.BS, 1),
               ["--batch", str(cases.DECODE_BATCH), "--seq", "1", "--kv-seq",
                str(cases.DECODE_KEYS)]),
    # Held out: other sizes of the same patterns, for checking a cost model
    # calibrated on the anchors (`prepare --shapes` / `report --label`).
    "causal_16k": (["--variant", "causal"] + PRESET, ["--seq", "16384"]),
    "window2048": (["--variant", "window", "--window", "2048"] + PRESET, ["--seq", str(N)]),
    "nsa_like_16k": (cases.selected_mlir(1 + 4 + 15 + 1, cases.BS, cases.BS),
                     ["--seq", "16384"]),
    "moba_16k": (cases.selected_mlir(3, 512, cases.BS), ["--seq", "16384"]),
    "nsa_selected_16k": (cases.selected_mlir(cases.SELECTED, cases.SEL_BLOCK, 1),
                         ["--seq", "16384"]),
    "decode_b64": (cases.selected_mlir(16, cases.BS, 1),
                   ["--batch", "64", "--seq", "1", "--kv-seq", "32768"]),
}
ANCHORS = ["causal", "window512", "nsa_like", "moba", "nsa_selected", "decode"]


def prepare(args):
    skim = os.path.join(ROOT, "build", "bin", "skim")
    os.makedirs(WORK, exist_ok=True)
    record = {}
    for name in args.shapes.split(",") if args.shapes else ANCHORS:
        variant, sizes = SHAPES[name]
        out = os.path.join(WORK, name)
        subprocess.run(["rm", "-rf", out], check=True)
        if isinstance(variant, str):
            path = os.path.join(WORK, name + ".mlir")
            with open(path, "w") as f:
                f.write(variant)
            variant = [path]
        cmd = [skim, "tune", *variant, *sizes, "--target", "sm_90a", "--export", out,
               "--compile-threads", str(os.cpu_count() or 2)]
        start = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.time() - start
        if r.returncode:
            sys.exit(f"{name}: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
        print(name, r.stdout.strip().splitlines()[-1], f"({seconds:.0f} s)")
        record[name] = {"compile_seconds": seconds, "cores": os.cpu_count(),
                        "command": " ".join(cmd[1:])}
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "compiler",
                            "dialects", "autotune"], capture_output=True, text=True).stdout
    with open(os.path.join(WORK, "prepare.json"), "w") as f:
        json.dump({"commit": commit, "dirty": bool(dirty.strip()), "shapes": record}, f,
                  indent=2)


def build():
    build_dir = "/tmp/skim-tune"
    for step in (["cmake", "-S", os.path.join(ROOT, "autotune", "tools"), "-B", build_dir,
                  "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"],
                 ["ninja", "-C", build_dir]):
        r = subprocess.run(step, capture_output=True, text=True)
        if r.returncode:
            sys.exit("build failed: %s\n%s" % (" ".join(step), (r.stdout + r.stderr)[-3000:]))
    return os.path.join(build_dir, "skim-tune-measure")


def run(args):
    tool = build()
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(WORK, "prepare.json")) as f:
        prepared = json.load(f)
    subprocess.run(["cp", os.path.join(WORK, "prepare.json"), args.outdir])
    for name in args.shapes.split(",") if args.shapes else prepared["shapes"]:
        folder = os.path.join(WORK, name)
        if not os.path.isdir(folder):
            print(f"{name}: not carried here, skipped")
            continue
        for kind, extra in (("exhaustive", []), ("tuned", ["--budget", BUDGET])):
            if args.only and kind != args.only:
                continue
            out = os.path.join(args.outdir, f"{name}-{kind}.json")
            start = time.time()
            r = subprocess.run([tool, folder, "--out", out, "--repeat", REPEAT, *extra],
                               capture_output=True, text=True)
            print(f"{name} {kind}: rc {r.returncode}, {time.time() - start:.1f} s "
                  f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}",
                  flush=True)
            if r.returncode:
                print(r.stderr[-2000:])


def spearman(a, b):
    def ranks(x):
        order = sorted(range(len(x)), key=lambda i: x[i])
        r = [0.0] * len(x)
        i = 0
        while i < len(x):
            j = i
            while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den else 0.0


def report(args):
    with open(os.path.join(args.outdir, "prepare.json")) as f:
        prepared = json.load(f)
    rows = []
    for name in prepared["shapes"]:
        try:
            with open(os.path.join(args.outdir, f"{name}-exhaustive.json")) as f:
                ex = json.load(f)
            with open(os.path.join(args.outdir, f"{name}-tuned.json")) as f:
                tu = json.load(f)
        except FileNotFoundError:
            continue
        stage = ex["stages"][0]
        ran = [t for t in stage["trials"] if t["ms"] is not None]
        failed = [t for t in stage["trials"] if t["ms"] is None]
        rho = spearman([t["predicted_ms"] for t in ran], [t["ms"] for t in ran])
        best = min(ran, key=lambda t: t["ms"])
        default = stage["trials"][0]
        pick = min(stage["trials"], key=lambda t: t["predicted_ms"])
        tuned = tu["stages"][0]
        row = {
            "shape": name, "bucket": ex["bucket"], "device": ex["device"],
            "driver": ex["driver"], "candidates": len(stage["trials"]),
            "ran": len(ran), "failed": len(failed),
            "failures": sorted({t.get("error", "")[:160] for t in failed}),
            "spearman": rho,
            "exhaustive_best_ms": best["ms"], "exhaustive_best": best["schedule"],
            "exhaustive_seconds": ex["seconds"],
            "default_ms": default["ms"],
            "model_pick": pick["schedule"], "model_pick_ms": pick["ms"],
            "tuned_ms": tuned["best_ms"], "tuned": tuned["best"],
            "tuned_trials": len(tuned["trials"]), "tuned_seconds": tu["seconds"],
            "tuned_gap_percent": 100 * (tuned["best_ms"] / best["ms"] - 1),
            "tuned_speedup_over_default": (default["ms"] / tuned["best_ms"]
                                           if default["ms"] else None),
            "compile_seconds_here": prepared["shapes"][name]["compile_seconds"],
            "compile_cores_here": prepared["shapes"][name]["cores"],
            "trials": stage["trials"],
        }
        # The model as built now (it may have been calibrated on these very
        # measurements: say so where the numbers are used).
        row["model_now"] = score_now(name, {t["schedule"]: t["ms"] for t in ran})
        rows.append(row)
    date = time.strftime("%Y-%m-%d")
    now = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    result = {"date": date, "commit": prepared["commit"], "compiler_dirty": prepared["dirty"],
              "model_now_commit": now, "budget": BUDGET, "repeat": int(REPEAT),
              "shapes": rows}
    label = f"-{args.label}" if args.label else ""
    path = os.path.join(ROOT, "bench", "results", f"{date}-h200-tune{label}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}\n")
    print("| shape | candidates (ran) | Spearman | default ms | exhaustive best ms | tuned ms "
          "(trials, s) | gap | tuned / default | model pick ms | model now: Spearman, "
          "pick ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"| {r['shape']} | {r['candidates']} ({r['ran']}) | {r['spearman']:.2f} | "
              f"{fmt(r['default_ms'])} | {fmt(r['exhaustive_best_ms'])} | "
              f"{fmt(r['tuned_ms'])} ({r['tuned_trials']}, {r['tuned_seconds']:.1f}) | "
              f"{r['tuned_gap_percent']:+.1f}% | "
              f"{(r['tuned_speedup_over_default'] or 0):.2f}x | {fmt(r['model_pick_ms'])} | "
              f"{r['model_now']['spearman']:.2f}, {fmt(r['model_now']['model_pick_ms'])} |")


def variant_args(name):
    variant, sizes = SHAPES[name]
    if isinstance(variant, str):
        path = os.path.join(WORK, name + ".mlir")
        with open(path, "w") as f:
            f.write(variant)
        variant = [path]
    return [*variant, *sizes]


def score_now(name, measured):
    """Today's cost model (`skim tune --dry-run --json`) against `measured`
    (schedule -> ms): Spearman over the candidates both have, and the
    model's own pick (CostModel.cpp's modelPick, margin included)."""
    skim = os.path.join(ROOT, "build", "bin", "skim")
    out = os.path.join(WORK, name + "-space.json")
    r = subprocess.run([skim, "tune", *variant_args(name), "--target", "sm_90a",
                        "--dry-run", "--json", out], capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stdout + r.stderr)
    with open(out) as f:
        dry = json.load(f)
    space = {c["schedule"]: c["predicted_ms"] for c in dry["space"]}
    both = [s for s in space if s in measured]
    pick = list(dry["model_pick"].values())[0]
    return {"spearman": spearman([space[s] for s in both], [measured[s] for s in both]),
            "candidates": len(both), "model_pick": pick,
            "model_pick_ms": measured.get(pick)}


def rescore(args):
    with open(args.results) as f:
        rows = {r["shape"]: r for r in json.load(f)["shapes"]}
    print("| shape | Spearman | default ms | model pick ms | pick |")
    print("| --- | --- | --- | --- | --- |")
    for name in SHAPES:
        if name not in rows:
            continue
        measured = {t["schedule"]: t["ms"] for t in rows[name]["trials"]
                    if t["ms"] is not None}
        now = score_now(name, measured)
        picked = now["model_pick_ms"]
        print(f"| {name} | {now['spearman']:.2f} ({now['candidates']} of {len(measured)}) | "
              f"{measured['']:.3f} | {'—' if picked is None else f'{picked:.3f}'} | "
              f"{now['model_pick'] or 'default'} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("--shapes", default="")
    a = sub.add_parser("run")
    a.add_argument("outdir")
    a.add_argument("--shapes", default="")
    a.add_argument("--only", choices=["exhaustive", "tuned"], default="")
    a = sub.add_parser("report")
    a.add_argument("outdir")
    a.add_argument("--label", default="", help="results file suffix (validation, ...)")
    a = sub.add_parser("rescore")
    a.add_argument("results", help="a bench/results/*-h200-tune.json")
    args = p.parse_args()
    {"prepare": prepare, "run": run, "report": report, "rescore": rescore}[args.cmd](args)


if __name__ == "__main__":
    main()
