#!/usr/bin/env bash
# Nsight Compute over skim's kernels of some benchmark rows, on the GPU
# machine after `bash scripts/h200.sh` has built the runtime library:
#
#   bash scripts/h200_profile.sh decode,decode_split8,nsa_like [SIZE]
#
# Per row, the kernels' duration, throughput against the card's peaks,
# occupancy, warp stall reasons and L1/L2 traffic (sections SpeedOfLight,
# Occupancy, LaunchStats, WarpStateStats, MemoryWorkloadAnalysis) go to $OUT/ncu-<row>.txt. The second call of
# each kernel is the one to read (the first loads the image).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${OUT:-$root/.gpubench/out}"
mkdir -p "$out"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
if [ ! -x "$ncu" ]; then
  echo "h200_profile.sh: no ncu" >&2
  exit 1
fi
lib=$(python3 bench/h200.py build) || exit 1
status=0
IFS=, read -ra rows <<<"$1"
for row in "${rows[@]}"; do
  SKIM_LIBRARY="$lib" "$ncu" --kernel-name regex:skim_k \
    --section SpeedOfLight --section Occupancy --section LaunchStats \
    --section WarpStateStats --section MemoryWorkloadAnalysis \
    python3 bench/h200.py kernels --patterns "$row" --size "${2:-16384}" \
    >"$out/ncu-$row.txt" 2>&1 || status=1
  grep -E "skim_k|Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Compute \(SM\) Throughput|DRAM Throughput|Memory Throughput|L2 Cache Throughput|L2 Hit Rate|L1/TEX Hit Rate|Stall|Warp Cycles Per Issued" \
    "$out/ncu-$row.txt" | head -60
done
exit $status
