"""Finds the skim package and keeps the JIT cache out of ~/.cache.

`import skim` uses PYTHONPATH when it provides the package (an installed
tree); otherwise the checkout's python/ folder, which loads
build/lib/libskim.so (or $SKIM_LIBRARY).
"""

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile

if importlib.util.find_spec("skim") is None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))

# The JIT reads $SKIM_CACHE_DIR on the first compile of the process.
if "SKIM_CACHE_DIR" not in os.environ:
    os.environ["SKIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="skim-pytest-cache-")
    atexit.register(shutil.rmtree, os.environ["SKIM_CACHE_DIR"], True)
