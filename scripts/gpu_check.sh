#!/usr/bin/env bash
# Checks skim's NVIDIA kernels against its CPU kernels (themselves checked
# against the reference) on a GPU machine that has CUDA, CMake and g++ but no
# LLVM. Two steps:
#
#   bash scripts/gpu_check.sh prepare   # here: compile cases, expected outputs
#   bash scripts/gpu_check.sh run       # on the GPU machine, with .gpucheck/
#                                       # carried along: build, run, compare
#
# Results go to .gpucheck/results.txt (and $OUT when set).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cases="$root/.gpucheck"
case "${1:-}" in
  prepare)
    bash "$root/scripts/build.sh" skim skim-gpucheck
    python3 "$root/tests/gpu/make_cases.py" "$cases"
    "$root/build/tests/skim-gpucheck" gen "$cases"/cases/*/
    ;;
  run)
    cmake -S "$root/tests/gpu" -B /tmp/skim-gpucheck -G Ninja >/dev/null
    ninja -C /tmp/skim-gpucheck >/dev/null
    /tmp/skim-gpucheck/gpucheck run "$cases/results.txt" "$cases"/cases/*/
    if [ -n "${OUT:-}" ]; then cp "$cases/results.txt" "$OUT/"; fi
    ;;
  *)
    echo "usage: bash scripts/gpu_check.sh prepare|run" >&2
    exit 2
    ;;
esac
