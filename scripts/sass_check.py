#!/usr/bin/env python3
"""What the GPU actually runs: per kernel of skim artifacts, the tensor-core
instructions of the SASS (HGMMA: wgmma, HMMA: mma.sync), the TMA loads
(UTMALDG) and mbarrier transaction arrivals (SYNCS.ARRIVE.TRANS64), and any
local memory (LDL/STL: spills or register arrays that did not become
registers).

  python3 scripts/sass_check.py [--expect-hgmma NAME,...] [--expect-tma NAME,...]
                                [--expect-no-local NAME,...] ARTIFACT.skim...

Needs cuobjdump (CUDA toolkit); artifacts must hold a cubin (cuda.cubin).
Exit status 1 when an artifact named in --expect-hgmma (by file stem) has no
HGMMA, one named in --expect-tma has no UTMALDG, or one named in
--expect-no-local uses local memory; other artifacts
are reported only (SIMT stages may keep per-thread arrays in local memory).
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile


def sections(path):
    """The artifact's sections (runtime/include/skim/runtime/Artifact.h)."""
    data = open(path, "rb").read()
    if data[:8] != b"SKIMART\0":
        sys.exit(f"{path}: not a skim artifact")
    _, count = struct.unpack_from("<II", data, 8)
    at, out = 16, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, at)
        name = data[at + 4:at + 4 + n].decode()
        (size,) = struct.unpack_from("<Q", data, at + 4 + n)
        start = at + 12 + n
        out[name] = data[start:start + size]
        at = start + size
    return out


def kernels(sass):
    """Kernel name -> its SASS text, from cuobjdump -sass output."""
    out, name = {}, None
    for line in sass.splitlines():
        m = re.match(r"\s*Function : (\S+)", line)
        if m:
            name = m.group(1)
            out[name] = []
        elif name:
            out[name].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def main(argv):
    expect = {"--expect-hgmma": set(), "--expect-tma": set(), "--expect-no-local": set()}
    while argv[:1] and argv[0] in expect:
        expect[argv[0]].update(argv[1].split(","))
        argv = argv[2:]
    no_local = expect["--expect-no-local"]
    tool = shutil.which("cuobjdump") or "/usr/local/cuda/bin/cuobjdump"
    if not os.path.exists(tool):
        print("sass_check: cuobjdump not found, skipped")
        return 0
    status = 0
    for path in argv:
        stem = os.path.splitext(os.path.basename(path))[0]
        cubin = sections(path).get("cuda.cubin")
        if cubin is None:
            print(f"{stem}: no cubin (PTX artifact), skipped")
            continue
        with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
            f.write(cubin)
            f.flush()
            r = subprocess.run([tool, "-sass", f.name], capture_output=True, text=True)
        if r.returncode:
            print(f"{stem}: cuobjdump failed: {r.stderr.strip()[:300]}")
            status = 1
            continue
        hgmma_total = tma_total = 0
        for name, text in kernels(r.stdout).items():
            hgmma = len(re.findall(r"\bHGMMA\.", text))
            hmma = len(re.findall(r"\bHMMA\.", text))
            tma = len(re.findall(r"\bUTMALDG\b", text))
            arrive = len(re.findall(r"\bSYNCS\.ARRIVE\.TRANS64\b", text))
            local = len(re.findall(r"\b(LDL|STL)\b", text))
            hgmma_total += hgmma
            tma_total += tma
            print(f"{stem} {name}: HGMMA {hgmma}, HMMA {hmma}, UTMALDG {tma}, "
                  f"SYNCS.ARRIVE.TRANS64 {arrive}, local memory {local}")
            if local and stem in no_local:
                print(f"{stem} {name}: FAIL local memory")
                status = 1
        if stem in expect["--expect-hgmma"] and hgmma_total == 0:
            print(f"{stem}: FAIL no HGMMA")
            status = 1
        if stem in expect["--expect-tma"] and tma_total == 0:
            print(f"{stem}: FAIL no UTMALDG")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
