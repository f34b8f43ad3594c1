"""Reads `llvm-readelf --notes` of an AMD code object on stdin and prints,
per kernel, the waves a SIMD can hold by registers and, with the skim
artifact as argv[2] (the plan gives each kernel's block and dynamic LDS),
by LDS. Exits 1 naming any kernel below argv[1] waves (by LDS only for the
kernels named in argv[3:], when given).

CDNA (gfx90a, gfx942): a SIMD has 512 registers a lane, VGPRs and AGPRs
together, allocated in granules of 8, at most 8 waves; a CU has 64 KB of
LDS and four SIMDs.
RDNA3 (gfx1100): a SIMD32 has 1536 VGPRs a lane (a wave64 takes two lanes'
worth), allocated here in granules of 24 (the largest gfx11 uses, so the
count errs low), at most 16 waves; in CU mode a CU has 64 KB of LDS and two
SIMDs (WGP mode shares 128 KB among four: the same 32 KB a SIMD, with no
more rounding down).
"""
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
target = re.search(r"amdhsa\.target:\s+\S*--(gfx\w+)", text)
if not target:
    sys.exit("no amdhsa.target in the notes")
rdna = target.group(1).startswith("gfx11")
# Kernel entries of amdhsa.kernels are the list items two spaces in.
kernels = re.split(r"\n  - (?=\.)", text.split("amdhsa.kernels:", 1)[-1])[1:]
bad = False


def field(kernel, name, default=None):
    m = re.search(r"\." + name + r":\s+(\d+)", kernel)
    if not m and default is None:
        sys.exit(f"no .{name} in a kernel's notes")
    return int(m.group(1)) if m else default


for k in kernels:
    name = re.search(r"\.name:\s+(\S+)", k).group(1)
    vgpr = field(k, "vgpr_count")
    agpr = field(k, "agpr_count", 0)
    wave = field(k, "wavefront_size")
    if rdna:
        used = -(-vgpr // 24) * 24
        waves = min(16, (1536 * 32) // (used * wave)) if used else 16
        lds_total, simds, most = 65536, 2, 16
    else:
        used = -(-(vgpr + agpr) // 8) * 8
        waves = min(8, 512 // used) if used else 8
        lds_total, simds, most = 65536, 4, 8
    line = f"{name}: {vgpr} VGPRs + {agpr} AGPRs -> {waves} waves a SIMD"
    bad |= waves < need
    if name in plan:
        threads, lds = plan[name]
        groups = lds_total // lds if lds else 32
        by_lds = min(most, groups * -(-threads // wave) // simds)
        line += f"; {lds} bytes of LDS -> {by_lds}"
        bad |= name in checked_lds and by_lds < need
    print(line)
if not kernels:
    sys.exit("no kernels in the notes")
sys.exit(1 if bad else 0)
