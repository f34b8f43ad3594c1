#!/usr/bin/env bash
# Sets everything up, builds, and runs every test: Catch2 units through ctest,
# then lit. Exits non-zero on any failure; prints each runner's summary.
#
#   bash scripts/test.sh
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKIM_BUILD_DIR:-$root/build}"

bash "$root/scripts/setup.sh" || exit 1
bash "$root/scripts/build.sh" || { echo "test: build failed" >&2; exit 1; }

status=0
echo "== ctest (unit) =="
# The `slow` label holds what CI skips; run it with SKIM_SLOW=1.
exclude=(-LE slow)
[ "${SKIM_SLOW:-0}" = 1 ] && exclude=()
(cd "$build" && ctest --output-on-failure -j "${SKIM_JOBS:-2}" "${exclude[@]}") || status=1

echo "== lit =="
/usr/lib/llvm-22/bin/lit -sv "$build/tests/lit" || status=1

exit $status
