# -*- Python -*-
# lit configuration for skim: FileCheck tests of the dialect, passes and tools.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SKIM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]

config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.skim_obj_root

# The JIT cache of the tools under test lives in the build tree, not in the
# user's home.
config.environment["SKIM_CACHE_DIR"] = os.path.join(config.skim_obj_root, "jit-cache")

# Strict FileCheck for the whole suite, as upstream MLIR does.
config.environment["FILECHECK_OPTS"] = (
    "-enable-var-scope --allow-unused-prefixes=false"
)

config.substitutions.append(("%skim_src", config.skim_src_root))
# Debian's python3 has numpy (scripts/setup.sh installs python3-numpy); a
# python3 earlier on PATH may not.
config.substitutions.append(
    ("%python", "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"))
llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# `not`, `count` and FileCheck live in LLVM's tool folder, which Debian keeps
# off PATH.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.skim_tools_dir, config.llvm_tools_dir]
# llvm-objdump and llvm-readelf from LLVM 22 (Debian's unversioned ones are
# LLVM 14, which knows no gfx942): the AMD code-object checks use them.
tools = [ToolSubst("skim-opt", unresolved="fatal"), ToolSubst("skim", unresolved="fatal"),
         ToolSubst("llvm-objdump", unresolved="fatal"),
         ToolSubst("llvm-readelf", unresolved="fatal")]
llvm_config.add_tool_substitutions(tools, tool_dirs)

if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
