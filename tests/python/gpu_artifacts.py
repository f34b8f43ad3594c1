#!/usr/bin/env python3
"""The sm_90a artifacts the GPU tests load, and where they come from.

On a machine with the compiler the tests write them with the skim tool into
a temporary folder; a GPU machine without LLVM gets them carried along in a
folder named by $SKIM_TEST_ARTIFACTS, written beforehand with

    python3 tests/python/gpu_artifacts.py DIR     # uses build/bin/skim or $SKIM
"""

import os
import subprocess
import sys

# name -> `skim compile` arguments (B, T and S stay dynamic).
ARTIFACTS = {
    "causal_bf16_h8_2_d64": ["--variant", "causal", "--heads", "8/2", "--dim", "64",
                             "--dtype", "bf16"],
    "window_f32_h4_1_d32": ["--variant", "window", "--heads", "4/1", "--dim", "32",
                            "--window", "48"],
}
TARGET = "sm_90a"  # wgmma where a gemm fits


def skim_tool():
    """The skim tool of this checkout's build, or None."""
    if os.environ.get("SKIM"):
        return os.environ["SKIM"]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.environ.get("SKIM_BUILD_DIR") or os.path.join(root, "build")
    tool = os.path.join(build, "bin", "skim")
    return tool if os.path.exists(tool) else None


def write(name, folder):
    """Compiles artifact `name` into `folder`; returns its path."""
    path = os.path.join(folder, name + ".skim")
    subprocess.run([skim_tool(), "compile", *ARTIFACTS[name], "--target", TARGET, "-o", path],
                   check=True, capture_output=True, text=True)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2 or not skim_tool():
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    for artifact in ARTIFACTS:
        print(write(artifact, sys.argv[1]))
