#!/usr/bin/env bash
# Checks skim's NVIDIA kernels against its CPU kernels (themselves checked
# against the reference by the pipeline tests), case by case
# (tests/gpu/make_cases.py), then runs compute-sanitizer's memcheck,
# racecheck and synccheck over a representative subset.
#
#   bash scripts/gpu_check.sh prepare [PREFIX...]  # here, with LLVM: compile
#       # the cases for host and sm_90a ($SKIM_GPUCHECK_TARGET), compute
#       # the expected outputs
#   bash scripts/gpu_check.sh run [PREFIX...]      # on a GPU machine with
#       # CUDA, CMake and g++ but no LLVM, .gpucheck/ carried along: build
#       # the runtime-only driver, run, compare, sanitize
#   bash scripts/gpu_check.sh check BUILD_DIR      # ctest (label gpu): both on
#       # one machine; exits 77 (skipped) without a CUDA device
#
# Results go to .gpucheck/results.txt and .gpucheck/sanitizer-*.log (and to
# $OUT when set). Exit status: non-zero when a case or a sanitizer failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cases="${SKIM_GPUCHECK_DIR:-$root/.gpucheck}"

# Small cases that together reach every kernel kind: attention (causal,
# window + sink, selections per token and per tile), pooled keys, top-k, MoBA
# scores fused with top-k, MoBA and NSA end to end, merge, combine, pool; in
# f32 (SIMT kernels) and bf16/f16 (mma.sync kernels: cp.async, ldmatrix,
# shuffles; D 192 with Q in shared memory).
sanitized=(
  bf16_h8x2_d64_window100_sink4_T150_S300
  f16_h4x1_d192_T100_S100
  bf16_sel_qb1_counts_T150_S300
  f16_sel_qb64_T150_S1000
  nsa_bf16_h16x1_T64_S1100
  moba_bf16_block64_top3_T150_S1000
  gqa1_h2x2_d64_T63_S63_B2
  mask_causal_more_rows_than_keys_T100_S30
  mask_window3_sink5000_noncausal_B2_T1_S70
  sel_h8x2_d64_heads2_n4_kvb128_qb1_B2_T63_S63
  sel_h6x2_d64_heads2_n3_kvb64_qb16_counts__sched_B1_T130_S130
  pooled_raw_B1_T40_L40
  topk_n3_force12_block64_mixed_B1_T1_L1000
  moba_scores_both_T50_L50
  moba_block64_top1_B2_T100_S100
  nsa_paper_h4x2_B1_T3_S70
  nsa_paper_h16x1_B1_T48_S48
  merge3_f32_B1_T1
  kvmajor_bf16_h16x1_d128_n16_T200_S600
  combine2_bf16_B2_T77
  pool_linear_l8_d24_out16_pe_f32_B1_S20
  ws_overlap_bf16_h16x1_d128_bm128n128w8_T333_S333
  ws_bf16_h8x2_d64_window100_sink4_T150_S300
)

# Case directories, all or those whose names start with one of the prefixes.
list_cases() {
  local dir=$1
  shift
  for c in "$dir"/cases/*/; do
    local name
    name=$(basename "$c")
    if [ $# -eq 0 ]; then
      echo "$c"
      continue
    fi
    for p in "$@"; do
      if [[ $name == "$p"* ]]; then
        echo "$c"
        break
      fi
    done
  done
}

# run_cases DRIVER RESULTS CASE...: every case once, in as few processes as
# the watchdog allows (a case that hangs ends its process; the rest go on).
run_cases() {
  local driver=$1 results=$2
  shift 2
  local todo=("$@")
  : >"$results"
  while [ ${#todo[@]} -gt 0 ]; do
    "$driver" run "$results" "${todo[@]}" || true
    local rest=()
    for c in "${todo[@]}"; do
      grep -qF " ${c} " "$results" || rest+=("$c")
    done
    if [ ${#rest[@]} -eq ${#todo[@]} ]; then
      echo "FAIL ${todo[0]} ERROR the driver stopped before it" >>"$results"
      rest=("${rest[@]:1}")
    fi
    todo=("${rest[@]+"${rest[@]}"}")
  done
  local total failed
  total=$(grep -c '^\(PASS\|FAIL\) ' "$results" || true)
  failed=$(grep -c '^FAIL ' "$results" || true)
  echo "$failed of $total cases failed" | tee -a "$results"
  [ "$failed" -eq 0 ]
}

# sanitize DRIVER DIR: memcheck, racecheck and synccheck ($SKIM_SANITIZERS)
# over the subset, each for at most $SKIM_SANITIZER_TIMEOUT seconds (600);
# fails on any error or hazard, and on a tool that did not finish.
sanitize() {
  local driver=$1 dir=$2 status=0
  local tool_path
  tool_path=$(command -v compute-sanitizer ||
              ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
  if [ -z "$tool_path" ]; then
    echo "compute-sanitizer not found: sanitizers skipped"
    return 0
  fi
  local subset=()
  for name in "${sanitized[@]}"; do
    [ -d "$dir/cases/$name" ] && subset+=("$dir/cases/$name/")
  done
  [ ${#subset[@]} -gt 0 ] || return 0
  for tool in ${SKIM_SANITIZERS:-memcheck racecheck synccheck}; do
    local log="$dir/sanitizer-$tool.log"
    local extra=()
    [ "$tool" = memcheck ] && extra=(--leak-check no)
    [ "$tool" = racecheck ] && extra=(--racecheck-report all)
    local started=$SECONDS
    : >"$dir/sanitized-$tool.txt"
    SKIM_GPUCHECK_TIMEOUT=240 timeout "${SKIM_SANITIZER_TIMEOUT:-600}" \
      "$tool_path" --tool "$tool" --error-exitcode 99 --print-limit 20 \
      "${extra[@]}" "$driver" run "$dir/sanitized-$tool.txt" "${subset[@]}" \
      >"$log" 2>&1 || true
    local summary errors
    summary=$(grep -E '(ERROR|RACECHECK|SYNCCHECK) SUMMARY' "$log" | tail -1 || true)
    # "ERROR SUMMARY: 0 errors"; "RACECHECK SUMMARY: 0 hazards displayed (0
    # errors, 0 warnings)".
    errors=$(echo "$summary" | grep -oE '[0-9]+ (errors|hazards)' | awk '{s += $1} END {print s + 0}')
    local passed
    passed=$(grep -c '^PASS ' "$dir/sanitized-$tool.txt" 2>/dev/null || true)
    if [ -z "$summary" ] || [ "$errors" -ne 0 ] || [ "$passed" -ne ${#subset[@]} ]; then
      echo "sanitizer $tool: FAILED (${summary:-no summary}; $passed of ${#subset[@]} cases passed under it; see $log)"
      status=1
    else
      echo "sanitizer $tool: $summary over ${#subset[@]} cases ($((SECONDS - started)) s)"
    fi
  done
  return $status
}

publish() {
  if [ -n "${OUT:-}" ]; then
    cp "$cases"/results.txt "$cases"/sanitizer-*.log "$cases"/runtime-tests.log "$OUT"/ \
      2>/dev/null || true
  fi
}

mode=${1:-}
shift || true
case "$mode" in
  prepare)
    build="${SKIM_BUILD_DIR:-$root/build}"
    bash "$root/scripts/build.sh" skim skim-gpucheck
    SKIM="$build/bin/skim" python3 "$root/tests/gpu/make_cases.py" --out "$cases" "$@"
    mapfile -t dirs < <(list_cases "$cases" "$@")
    "$build/tests/skim-gpucheck" gen "${dirs[@]}" >/dev/null
    # The GPU machine needs the GPU artifacts and expected outputs only.
    rm -f "$cases"/cases/*/cpu.skim
    # What was compiled here, so that `run` can tell a stale copy there.
    (cd "$cases" && sha256sum cases/*/gpu.skim cases/*/want*.bin >artifacts.sha256)
    echo "$(du -sh --apparent-size "$cases" | cut -f1) to carry in $cases"
    ;;
  run)
    # SKIM_CATCH2_DIR (a folder holding catch2/catch.hpp) adds the runtime's
    # Catch2 tests, [gpu] cases included.
    cmake -S "$root/tests/gpu" -B /tmp/skim-gpucheck -G Ninja \
      ${SKIM_CATCH2_DIR:+-DSKIM_CATCH2_DIR="$SKIM_CATCH2_DIR"} >/dev/null
    ninja -C /tmp/skim-gpucheck >/dev/null
    driver=/tmp/skim-gpucheck/gpucheck
    status=0
    # The artifacts must be those `prepare` wrote: a stale copy on the GPU
    # machine once ran kernels of an older compiler.
    if [ -f "$cases/artifacts.sha256" ]; then
      (cd "$cases" && sha256sum --quiet -c artifacts.sha256) || {
        echo "gpu_check: the carried artifacts differ from those prepared" >&2
        exit 1
      }
    fi
    "$driver" probe || exit $?
    if [ -x /tmp/skim-gpucheck/runtime-tests ]; then
      if /tmp/skim-gpucheck/runtime-tests >"$cases/runtime-tests.log" 2>&1; then
        echo "runtime tests: $(tail -2 "$cases/runtime-tests.log" | tr -s '\n' ' ')"
      else
        echo "runtime tests: FAILED (see $cases/runtime-tests.log)"
        status=1
      fi
    fi
    mapfile -t dirs < <(list_cases "$cases" "$@")
    run_cases "$driver" "$cases/results.txt" "${dirs[@]}" || status=1
    sanitize "$driver" "$cases" || status=1
    publish
    exit $status
    ;;
  check)
    build="$(cd "${1:?usage: gpu_check.sh check BUILD_DIR}" && pwd)"
    driver="$build/tests/skim-gpucheck"
    "$driver" probe || exit $?
    cases="$build/gpucheck"
    SKIM="$build/bin/skim" python3 "$root/tests/gpu/make_cases.py" --out "$cases"
    mapfile -t dirs < <(list_cases "$cases")
    "$driver" gen "${dirs[@]}" >/dev/null
    status=0
    run_cases "$driver" "$cases/results.txt" "${dirs[@]}" || status=1
    sanitize "$driver" "$cases" || status=1
    exit $status
    ;;
  *)
    echo "usage: bash scripts/gpu_check.sh prepare [PREFIX...] | run [PREFIX...] | check BUILD_DIR" >&2
    exit 2
    ;;
esac
