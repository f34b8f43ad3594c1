#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job: NSA (the paper's
# defaults) compiled for this machine and run on random inputs, checked
# against the reference on sampled rows. There is no GPU path yet, so the main
# job runs on the CPU.
#
#   bash scripts/main.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKIM_BUILD_DIR:-$root/build}"

bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" skim
"$build/bin/skim" run --variant nsa --seq 4096 --heads 16/1 --dim 128 --check
