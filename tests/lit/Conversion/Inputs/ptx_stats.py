#!/usr/bin/env python3
"""Counts the instructions that matter in the PTX of a gpu.binary (format=isa)
printed by skim-opt, and with --ptxas ARCH runs `ptxas -v` on it and reports
registers and spills, for FileCheck.

  skim-opt ... gpu-module-to-binary{format=isa} | ptx_stats.py [--ptxas sm_90] [--module N]

--module N picks the N-th module of --split-input-file output; --warp-roles
adds the launch bounds, setmaxnreg, consumer barriers and plain mbarrier
arrivals of a warp-specialised kernel.
"""
import re
import subprocess
import sys
import tempfile

text = sys.stdin.read()
if "--module" in sys.argv:
    text = text.split("\n// -----\n")[int(sys.argv[sys.argv.index("--module") + 1])]
match = re.search(r'assembly = "(.*?)"(?:>|,)', text, re.S) or re.search(r'"(//\\0A.*?)"', text, re.S)
if not match:
    sys.exit("ptx_stats.py: no PTX assembly in the input")
ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), match.group(1))
ptx = ptx.replace('\\\\', '\\')

patterns = {
    "mma.sync": r"^\s*mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.(\w+)\.\w+\.f32",
    "ldmatrix": r"^\s*ldmatrix\.sync\.aligned\.m8n8\.(x\d)(\.trans)?\.shared\.b16",
    "cp.async": r"^\s*cp\.async\.cg\.shared\.global",
    "shfl.bfly": r"^\s*shfl\.sync\.bfly\.b32",
    "ex2.approx": r"^\s*ex2\.approx",
    "wgmma": r"^\s*wgmma\.mma_async\.sync\.aligned\.(m64n\d+k16)\.f32\.\w+\.\w+",
    "wgmma.fence": r"^\s*wgmma\.fence\.sync\.aligned",
    "wgmma.wait_group": r"^\s*wgmma\.wait_group\.sync\.aligned",
    "fence.proxy.async": r"^\s*fence\.proxy\.async\.shared::cta",
    "cp.async.bulk.tensor": r"^\s*(?:@%p\d+\s+)?cp\.async\.bulk\.tensor\.(\d)d\.shared::cluster\.global",
    "mbarrier.init": r"^\s*(?:@%p\d+\s+)?mbarrier\.init\.shared\.b64",
    "mbarrier.arrive.expect_tx": r"^\s*(?:@%p\d+\s+)?mbarrier\.arrive\.expect_tx\.shared\.b64",
    "mbarrier.try_wait.parity": r"^\s*mbarrier\.try_wait\.parity\.shared\.b64",
    "tensor-map params": r"^\s*\.param \.align 64 \.b8 \w+\[128\]",
    "red.global.v2.f32.add": r"^\s*(?:@%p\d+\s+)?red\.global\.v2\.f32\.add",
    "local memory": r"^\s*(ld|st)\.local",
}
# With --warp-roles: what a producer warpgroup split adds (WarpSpecialize.h).
if "--warp-roles" in sys.argv:
    patterns.update({
        "maxnreg": r"^\.maxnreg (\d+)",
        "maxntid": r"^\.maxntid (\d+)",
        "setmaxnreg": r"^\s*setmaxnreg\.(inc|dec)\.sync\.aligned\.u32\s+(\d+)",
        "bar.sync consumers": r"^\s*bar\.sync\s+1,\s*(\d+)",
        "mbarrier.arrive": r"^\s*mbarrier\.arrive\.shared\.b64",
    })
for name, pattern in patterns.items():
    hits = re.findall(pattern, ptx, re.M)
    print(f"{name}: {len(hits)}")
    if name in ("mma.sync", "ldmatrix", "wgmma", "cp.async.bulk.tensor", "maxnreg",
                "maxntid", "setmaxnreg", "bar.sync consumers") and hits:
        kinds = {}
        for h in hits:
            key = "".join(h) if isinstance(h, tuple) else h
            kinds[key] = kinds.get(key, 0) + 1
        for key in sorted(kinds):
            print(f"  {name} {key}: {kinds[key]}")

if "--ptxas" in sys.argv:
    arch = sys.argv[sys.argv.index("--ptxas") + 1]
    with tempfile.NamedTemporaryFile("w", suffix=".ptx") as f:
        f.write(ptx)
        f.flush()
        r = subprocess.run(["/usr/local/cuda/bin/ptxas", f"-arch={arch}", "-v", f.name,
                            "-o", "/dev/null"], capture_output=True, text=True)
    if r.returncode:
        sys.exit("ptxas failed:\n" + r.stderr)
    for line in r.stderr.splitlines():
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            print(f"spills: {m.group(1)} stores, {m.group(2)} loads")
        m = re.search(r"Used (\d+) registers", line)
        if m:
            print(f"registers: {m.group(1)}")
