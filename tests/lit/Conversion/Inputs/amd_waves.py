"""Reads `llvm-readelf --notes` of a CDNA (gfx90a, gfx942) code object on
stdin and prints, per kernel, the waves a SIMD can hold by registers: the
unified file has 512 registers a lane, VGPRs and AGPRs together, allocated
in granules of 8. Exits 1 naming any kernel below argv[1] waves."""
import re
import sys

need = int(sys.argv[1])
text = sys.stdin.read()
kernels = re.split(r"\n\s*- \.agpr_count:", text)[1:]
bad = False
for k in kernels:
    agpr = int(k.split("\n", 1)[0])
    name = re.search(r"\.name:\s+(\S+)", k).group(1)
    vgpr = int(re.search(r"\.vgpr_count:\s+(\d+)", k).group(1))
    used = -(-(vgpr + agpr) // 8) * 8
    waves = min(8, 512 // used) if used else 8
    print(f"{name}: {vgpr} VGPRs + {agpr} AGPRs -> {waves} waves a SIMD")
    bad |= waves < need
if not kernels:
    sys.exit("no kernels in the notes")
sys.exit(1 if bad else 0)
