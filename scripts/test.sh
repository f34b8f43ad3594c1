#!/usr/bin/env bash
# Sets everything up, builds, and runs every test: Catch2 units through ctest,
# lit, the install with its C++ and Python examples, and pytest. Exits non-zero
# on any failure; prints each runner's summary.
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

# The installed tree, used as a user would: the C++ example through
# find_package(skim), the Python example through the installed package.
# Python is Debian's /usr/bin/python3 (numpy from python3-numpy), not
# whichever python3 comes first on PATH.
echo "== install + examples =="
install_dir="$build/install"
cache="${SKIM_CACHE_DIR:-$build/test-cache}"
rm -rf "$install_dir"
if cmake --install "$build" --prefix "$install_dir" >/dev/null; then
  { cmake -S "$root/examples/cpp" -B "$build/examples-cpp" -G Ninja \
      -DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_PREFIX_PATH="$install_dir" >/dev/null &&
    cmake --build "$build/examples-cpp" >/dev/null &&
    SKIM_CACHE_DIR="$cache" "$build/examples-cpp/skim-window"; } || { echo "test: examples/cpp failed" >&2; status=1; }
  env -u SKIM_LIBRARY SKIM_CACHE_DIR="$cache" PYTHONPATH="$install_dir/lib/python3/dist-packages" \
    /usr/bin/python3 "$root/examples/python/nsa.py" --seq 512 --repeats 1 ||
    { echo "test: examples/python/nsa.py failed" >&2; status=1; }
else
  echo "test: cmake --install failed" >&2
  status=1
fi

echo "== pytest =="
(cd "$root" && SKIM_LIBRARY="$build/lib/libskim.so" /usr/bin/python3 -m pytest -q -rs tests/python) ||
  status=1

exit $status
