#!/usr/bin/env bash
# Configures (once) and builds skim in ./build with clang-22, lld and ccache.
#
#   bash scripts/build.sh [extra ninja targets]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKIM_BUILD_DIR:-$root/build}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld >/dev/null
fi
# Two jobs at most: a file with many MLIR headers takes ~0.5 GB to compile.
ninja -C "$build" -j "${SKIM_JOBS:-2}" "$@"
