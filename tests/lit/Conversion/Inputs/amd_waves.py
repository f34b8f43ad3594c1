"""Reads `llvm-readelf --notes` of a CDNA (gfx90a, gfx942) code object on
stdin and prints, per kernel, the waves a SIMD can hold by registers: the
unified file has 512 registers a lane, VGPRs and AGPRs together, allocated
in granules of 8. With the skim artifact as argv[2], also by LDS: a CU has
64 KB and four SIMDs, and the plan gives each kernel's block and dynamic
LDS. Exits 1 naming any kernel below argv[1] waves (by LDS only for the
kernels named in argv[3:], when given)."""
import re
import sys

need = int(sys.argv[1])
plan = {}
if len(sys.argv) > 2:
    for line in open(sys.argv[2], "rb").read().split(b"\n"):
        m = re.match(rb"kernel (\S+) .* block (\d+) 1 1 smem (\d+)", line)
        if m:
            plan[m.group(1).decode()] = (int(m.group(2)), int(m.group(3)))
checked_lds = set(sys.argv[3:]) or set(plan)
text = sys.stdin.read()
kernels = re.split(r"\n\s*- \.agpr_count:", text)[1:]
bad = False
for k in kernels:
    agpr = int(k.split("\n", 1)[0])
    name = re.search(r"\.name:\s+(\S+)", k).group(1)
    vgpr = int(re.search(r"\.vgpr_count:\s+(\d+)", k).group(1))
    used = -(-(vgpr + agpr) // 8) * 8
    waves = min(8, 512 // used) if used else 8
    line = f"{name}: {vgpr} VGPRs + {agpr} AGPRs -> {waves} waves a SIMD"
    bad |= waves < need
    if name in plan:
        threads, lds = plan[name]
        groups = 65536 // lds if lds else 32
        by_lds = min(8, groups * -(-threads // 64) // 4)
        line += f"; {lds} bytes of LDS -> {by_lds}"
        bad |= name in checked_lds and by_lds < need
    print(line)
if not kernels:
    sys.exit("no kernels in the notes")
sys.exit(1 if bad else 0)
