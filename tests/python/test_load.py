"""Loading compiled artifacts (skim.load) and the runtime-only library, on
the CPU: a loaded artifact computes what skim.compile's kernel computes,
bad files and tensors on the wrong device are errors that say so.

    /usr/bin/python3 -m pytest -q tests/python
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import skim

pytestmark = pytest.mark.skipif(not skim.has_compiler(),
                                reason="writes artifacts with the compiler (libskim.so)")

BUILD = os.path.dirname(os.path.dirname(skim.library_path()))
TOOL = os.path.join(BUILD, "bin", "skim")
RUNTIME_LIBRARY = os.path.join(BUILD, "lib", "libskim_runtime.so")
CAUSAL = ["--variant", "causal", "--heads", "4/2", "--dim", "32"]


def compile_with_tool(path, args, target="host"):
    if not os.path.exists(TOOL):
        pytest.skip("no skim tool beside %s" % skim.library_path())
    subprocess.run([TOOL, "compile", *args, "--target", target, "-o", str(path)], check=True,
                   capture_output=True, text=True, timeout=300)
    return path


@pytest.fixture(scope="module")
def causal_file(tmp_path_factory):
    return compile_with_tool(tmp_path_factory.mktemp("artifacts") / "causal.skim", CAUSAL)


def causal_inputs(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape, dtype=np.float32)
            for shape in ((1, 50, 4, 32), (1, 50, 2, 32), (1, 50, 2, 32))]


def test_load_computes_what_compile_does(causal_file):
    compiled = skim.compile(skim.preset("causal", heads="4/2", dim=32))
    inputs = causal_inputs(1)
    want = compiled(*inputs)
    for source in (causal_file, str(causal_file), causal_file.read_bytes()):
        kernel = skim.load(source)
        assert kernel.device == "cpu" and kernel.target.startswith("host:")
        assert kernel.output_dtypes == ("float32", "float32")
        for got, expected in zip(kernel(*inputs), want):
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert kernel.workspace_bytes(*inputs) == 0


def test_load_errors_name_the_file(causal_file, tmp_path):
    with pytest.raises(skim.Error, match="cannot open artifact '.*missing.skim': No such file"):
        skim.load(tmp_path / "missing.skim")
    data = bytearray(causal_file.read_bytes())
    data[len(data) // 2] ^= 0x5A
    (tmp_path / "corrupt.skim").write_bytes(bytes(data))
    with pytest.raises(skim.Error, match="corrupt.skim: artifact checksum mismatch"):
        skim.load(tmp_path / "corrupt.skim")
    with pytest.raises(skim.Error, match="truncated or corrupt"):
        skim.load(causal_file.read_bytes()[:1000])
    with pytest.raises(skim.Error, match="artifact bytes: not a skim artifact"):
        skim.load(b"func.func @f() { return }")


def test_gpu_kernel_refuses_cpu_tensors():
    kernel = skim.compile(skim.preset("causal", heads="4/2", dim=32), target="sm_90")
    assert kernel.device == "cuda" and kernel.target == "cuda:sm_90"
    with pytest.raises(skim.Error, match=r"input #0 is a CPU tensor, but this kernel runs on "
                                         r"CUDA \(target cuda:sm_90\)"):
        kernel(*causal_inputs(2))


class _ClaimsCuda:
    """A NumPy array exported as if it lived on CUDA device 0: the C API must
    refuse it before reading it."""

    def __init__(self, array):
        self.array = array

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None):
        import ctypes
        capsule = self.array.__dlpack__()
        get = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
            ("PyCapsule_GetPointer", ctypes.pythonapi))
        # DLTensor: data (8 bytes), then device_type (int32).
        ctypes.c_int32.from_address(get(capsule, b"dltensor") + 8).value = 2
        return capsule


def test_cpu_kernel_refuses_gpu_tensors():
    kernel = skim.compile(skim.preset("causal", heads="4/2", dim=32))
    q, k, v = causal_inputs(3)
    with pytest.raises(skim.Error, match="input #1 is a CUDA tensor, but this kernel runs on CPU"):
        kernel(q, _ClaimsCuda(k), v, out=(np.empty_like(q), np.empty((1, 4, 50), np.float32)))


def test_runtime_only_library(causal_file, tmp_path):
    if not os.path.exists(RUNTIME_LIBRARY):
        pytest.skip("libskim_runtime.so is not built")
    inputs = causal_inputs(4)
    for i, x in enumerate(inputs):
        np.save(tmp_path / ("in%d.npy" % i), x)
    code = ("import sys, numpy as np, skim\n"
            "assert not skim.has_compiler(), skim.version()\n"
            "try:\n"
            "    skim.compile(skim.preset('causal'))\n"
            "except skim.Error as e:\n"
            "    print(e)\n"
            "d = sys.argv[2]\n"
            "kernel = skim.load(sys.argv[1])\n"
            "o, lse = kernel(*(np.load('%s/in%d.npy' % (d, i)) for i in range(3)))\n"
            "np.save(d + '/o.npy', o)\n")
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(skim.__file__)))
    env = dict(os.environ, SKIM_LIBRARY=RUNTIME_LIBRARY, PYTHONPATH=package_root)
    result = subprocess.run([sys.executable, "-c", code, str(causal_file), str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "skim_preset needs the compiler" in result.stdout
    want, _ = skim.load(causal_file)(*inputs)
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), want)
