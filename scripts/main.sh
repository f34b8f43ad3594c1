#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job: compile the NSA example
# through skim-opt, expanding the variant into primitive ops.
#
#   bash scripts/main.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKIM_BUILD_DIR:-$root/build}"

bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" skim-opt
"$build/bin/skim-opt" "$root/examples/nsa.mlir" --skim-expand-variants
