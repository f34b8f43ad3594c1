"""The Python module over skim's C API: presets, hand-written variants,
numerics against a float64 NumPy reference, errors, and the JIT's disk cache.

    /usr/bin/python3 -m pytest -q tests/python
"""

import ctypes
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import skim

if not skim.has_compiler():
    pytest.skip("these tests compile: they need libskim.so, not %s" % skim.library_path(),
                allow_module_level=True)

# --- reference --------------------------------------------------------------


def attention_reference(q, k, v, causal=True, window=0, sink=0, scale=None):
    """O [B, T, Hq, Dv] and LSE [B, Hq, T] (natural log) in float64.

    Query row t sits at position t + S - T; query head h reads KV head
    h // (Hq / Hkv). A key is allowed when it is causal and, if a window or
    sink is given, inside the window (the w keys ending at the row) or the
    sink (the first n keys).
    """
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    _, t_len, hq, dim = q.shape
    s_len, hkv = k.shape[1], k.shape[2]
    group = hq // hkv
    k = np.repeat(k, group, axis=2)
    v = np.repeat(v, group, axis=2)
    scale = 1.0 / np.sqrt(dim) if scale is None else scale
    scores = np.einsum("bthd,bshd->bhts", q, k) * scale
    pos = np.arange(t_len)[:, None] + (s_len - t_len)
    key = np.arange(s_len)[None, :]
    allowed = key <= pos if causal else np.ones((t_len, s_len), dtype=bool)
    if window or sink:
        extra = np.zeros_like(allowed)
        if window:
            extra |= key > pos - window
        if sink:
            extra |= key < sink
        allowed &= extra
    scores = np.where(allowed, scores, -np.inf)
    top = scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores - top)
    total = weights.sum(axis=-1, keepdims=True)
    out = np.einsum("bhts,bshe->bthe", weights / total, v)
    lse = (top + np.log(total))[..., 0]
    return out, lse


def random_inputs(seed, batch, t_len, s_len, hq, hkv, dim, dv=None, dtype=np.float32):
    rng = np.random.default_rng(seed)
    dv = dv or dim
    q = rng.standard_normal((batch, t_len, hq, dim)).astype(dtype)
    k = rng.standard_normal((batch, s_len, hkv, dim)).astype(dtype)
    v = rng.standard_normal((batch, s_len, hkv, dv)).astype(dtype)
    return q, k, v


def assert_close(actual, expected, atol=2e-5, rtol=1e-4):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                               atol=atol)


@pytest.fixture(scope="module")
def causal():
    return skim.compile(skim.preset("causal", heads="4/2", dim=32))


# --- presets and kernels ----------------------------------------------------


def test_version():
    assert skim.version().startswith("skim ")


def test_preset_text():
    text = skim.preset("window", heads=(8, 2), dim=16, window=64, sink=4)
    assert "func.func @window" in text
    assert "#skim.mask<causal, window = 64, sink = 4>" in text
    assert "tensor<?x?x8x16xf32>" in text and "tensor<?x?x2x16xf32>" in text


def test_preset_errors():
    with pytest.raises(skim.Error, match="unknown variant 'dense'"):
        skim.preset("dense")
    with pytest.raises(skim.Error, match="unknown preset key 'colour'"):
        skim.preset("causal", colour=3)
    with pytest.raises(ValueError, match="one word"):
        skim.preset("causal", dtype="f 32")


def test_kernel_signature(causal):
    assert causal.num_inputs == 3
    assert causal.num_outputs == 2
    assert causal.output_dtypes == ("float32", "float32")


def test_causal_preset_matches_reference(causal):
    q, k, v = random_inputs(1, batch=2, t_len=77, s_len=77, hq=4, hkv=2, dim=32)
    assert causal.output_shapes(q, k, v) == ((2, 77, 4, 32), (2, 4, 77))
    out, lse = causal(q, k, v)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == (2, 77, 4, 32) and lse.shape == (2, 4, 77)
    ref_out, ref_lse = attention_reference(q, k, v)
    assert_close(out, ref_out)
    assert_close(lse, ref_lse)


def test_more_keys_than_queries(causal):
    # The queries are the last T of S positions (decoding, chunked prefill).
    q, k, v = random_inputs(2, batch=1, t_len=19, s_len=150, hq=4, hkv=2, dim=32)
    out, lse = causal(q, k, v)
    ref_out, ref_lse = attention_reference(q, k, v)
    assert_close(out, ref_out)
    assert_close(lse, ref_lse)


def test_window_preset_matches_reference():
    kernel = skim.compile(skim.preset("window", heads="2/1", dim=16, window=24))
    q, k, v = random_inputs(3, batch=1, t_len=100, s_len=100, hq=2, hkv=1, dim=16)
    out, lse = kernel(q, k, v)
    ref_out, ref_lse = attention_reference(q, k, v, window=24)
    assert_close(out, ref_out)
    assert_close(lse, ref_lse)


HAND_WRITTEN = """
// Causal attention with a window of 16 keys plus 3 sink keys, an explicit
// scale, and a value dim (8) other than the key dim (16).
func.func @sinks(%q: tensor<?x?x6x16xf32>, %k: tensor<?x?x3x16xf32>,
                 %v: tensor<?x?x3x8xf32>) -> (tensor<?x?x6x8xf32>, tensor<?x6x?xf32>) {
  %o, %lse = skim.attention %q, %k, %v
      {mask = #skim.mask<causal, window = 16, sink = 3>, scale = 0.3 : f32}
      : tensor<?x?x6x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x8xf32>
  return %o, %lse : tensor<?x?x6x8xf32>, tensor<?x6x?xf32>
}
"""


def test_hand_written_mlir_matches_reference():
    kernel = skim.compile(HAND_WRITTEN)
    assert (kernel.num_inputs, kernel.num_outputs) == (3, 2)
    q, k, v = random_inputs(4, batch=2, t_len=50, s_len=64, hq=6, hkv=3, dim=16, dv=8)
    out, lse = kernel(q, k, v)
    assert out.shape == (2, 50, 6, 8)
    ref_out, ref_lse = attention_reference(q, k, v, window=16, sink=3, scale=np.float32(0.3))
    assert_close(out, ref_out)
    assert_close(lse, ref_lse)


def test_out_parameter(causal):
    q, k, v = random_inputs(5, batch=1, t_len=40, s_len=40, hq=4, hkv=2, dim=32)
    out = np.full((1, 40, 4, 32), np.nan, dtype=np.float32)
    lse = np.full((1, 4, 40), np.nan, dtype=np.float32)
    result = causal(q, k, v, out=(out, lse))
    assert result[0] is out and result[1] is lse
    ref_out, ref_lse = attention_reference(q, k, v)
    assert_close(out, ref_out)
    assert_close(lse, ref_lse)


def test_strided_inputs(causal):
    # Any strides work as long as the last dimension is contiguous.
    q, k, v = random_inputs(6, batch=1, t_len=33, s_len=33, hq=4, hkv=2, dim=32)
    wide = np.zeros((1, 33, 4, 64), dtype=np.float32)
    wide[..., 16:48] = q
    out, lse = causal(wide[..., 16:48], k, v)
    ref_out, ref_lse = attention_reference(q, k, v)
    assert_close(out, ref_out)
    assert_close(lse, ref_lse)


def test_read_only_inputs(causal):
    # NumPy cannot export read-only arrays through DLPack 0.x; skim copies them.
    q, k, v = random_inputs(7, batch=1, t_len=20, s_len=20, hq=4, hkv=2, dim=32)
    q.flags.writeable = False
    out, _ = causal(q, k, v)
    assert_close(out, attention_reference(q, k, v)[0])


# --- errors -----------------------------------------------------------------


def test_wrong_number_of_inputs(causal):
    q, k, _ = random_inputs(8, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    with pytest.raises(skim.Error, match="expected 3 inputs, got 2"):
        causal(q, k)


def test_wrong_dtype_names_the_input(causal):
    q, k, v = random_inputs(9, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    with pytest.raises(skim.Error, match="input #1") as info:
        causal(q, k.astype(np.float64), v)
    assert "64 bits" in str(info.value)


def test_non_unit_last_stride(causal):
    q, k, v = random_inputs(10, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    # A transposed view with the same shape: its last dim has stride 32.
    q_t = np.ascontiguousarray(q.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert q_t.shape == q.shape and q_t.strides[-1] != q.itemsize
    with pytest.raises(skim.Error, match="unit stride") as info:
        causal(q_t, k, v)
    assert "input #0" in str(info.value)


def test_wrong_shape(causal):
    q, k, v = random_inputs(11, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    with pytest.raises(skim.Error, match="dim 3"):
        causal(q, k[..., :16], v)


def test_wrong_outputs(causal):
    q, k, v = random_inputs(12, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    with pytest.raises(skim.Error, match="expected 2 outputs, got 1"):
        causal(q, k, v, out=(np.empty((1, 8, 4, 32), dtype=np.float32),))
    with pytest.raises(skim.Error, match="output #1"):
        causal(q, k, v, out=(np.empty((1, 8, 4, 32), dtype=np.float32),
                             np.empty((1, 4, 9), dtype=np.float32)))


def test_not_a_tensor(causal):
    with pytest.raises(TypeError, match="input #0 .list. is not a DLPack tensor"):
        causal([1.0], [2.0], [3.0])


def test_not_a_dltensor_capsule(causal):
    # A DLPack 1.0 producer asked for a versioned tensor hands out this name;
    # the capsule's pointer is never read.
    capsule_new = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p,
                                    ctypes.c_void_p)(("PyCapsule_New", ctypes.pythonapi))

    class Versioned:
        def __dlpack__(self, stream=None):
            return capsule_new(id(self), b"dltensor_versioned", None)

    q, k, v = random_inputs(16, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    with pytest.raises(skim.Error, match="input #2: __dlpack__ did not return a 'dltensor'"):
        causal(q, k, Versioned())


def test_bad_mlir():
    with pytest.raises(skim.Error, match="variant.mlir:"):
        skim.compile("func.func @broken(%q: tensor<?x?x4x32xf32>) {\n  skim.nonsense\n}\n")


def test_unknown_target():
    with pytest.raises(skim.Error, match="target 'gfx1200' has no lowering yet"):
        skim.compile(skim.preset("causal"), target="gfx1200")


def test_amd_target_compiles_and_wants_a_rocm_device():
    # The code object is loaded at the first run, on a ROCm device; there is
    # none here, and a CPU array is refused by name before that.
    kernel = skim.compile(skim.preset("causal", heads="4/2", dim=32), target="gfx942")
    assert kernel.device == "rocm" and kernel.target == "hip:gfx942"
    q, k, v = random_inputs(1, batch=1, t_len=8, s_len=8, hq=4, hkv=2, dim=32)
    with pytest.raises(skim.Error, match="input #0 is a CPU tensor"):
        kernel(q, k, v)


# --- bfloat16 ---------------------------------------------------------------


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32), ("ndim", ctypes.c_int32),
                ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16),
                ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("byte_offset", ctypes.c_uint64)]


_get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))


class BFloat16Array:
    """A uint16 NumPy array exported through DLPack as bfloat16: a stand-in
    for a bfloat16 producer that is not PyTorch (JAX, say)."""

    def __init__(self, bits):
        self.bits = bits

    def __dlpack__(self, stream=None):
        capsule = self.bits.__dlpack__()
        tensor = _DLTensor.from_address(_get_pointer(capsule, b"dltensor"))
        tensor.code, tensor.bits = 4, 16  # kDLBfloat
        return capsule


def to_bfloat16_bits(x):
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # nearest even


def from_bfloat16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def test_bfloat16_outputs_need_out_with_numpy():
    kernel = skim.compile(skim.preset("causal", heads="2/1", dim=16, dtype="bf16"))
    assert kernel.output_dtypes == ("bfloat16", "float32")
    q, k, v = (to_bfloat16_bits(x)
               for x in random_inputs(13, batch=1, t_len=30, s_len=30, hq=2, hkv=1, dim=16))
    inputs = [BFloat16Array(x) for x in (q, k, v)]
    with pytest.raises(skim.Error, match="output #0 is bfloat16, which NumPy cannot hold"):
        kernel(*inputs)
    out = np.zeros((1, 30, 2, 16), dtype=np.uint16)
    lse = np.zeros((1, 2, 30), dtype=np.float32)
    kernel(*inputs, out=(BFloat16Array(out), lse))
    ref_out, ref_lse = attention_reference(*(from_bfloat16_bits(x) for x in (q, k, v)))
    assert_close(from_bfloat16_bits(out), ref_out, atol=2e-2, rtol=2e-2)
    assert_close(lse, ref_lse, atol=1e-2, rtol=1e-2)


# --- PyTorch (skipped when it is not installed) -----------------------------


def test_torch_float32():
    torch = pytest.importorskip("torch")
    kernel = skim.compile(skim.preset("causal", heads="4/2", dim=32))
    q, k, v = random_inputs(14, batch=1, t_len=45, s_len=45, hq=4, hkv=2, dim=32)
    out, lse = kernel(*(torch.from_numpy(x) for x in (q, k, v)))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    ref_out, ref_lse = attention_reference(q, k, v)
    assert_close(out.numpy(), ref_out)
    assert_close(lse.numpy(), ref_lse)


def test_torch_bfloat16():
    torch = pytest.importorskip("torch")
    kernel = skim.compile(skim.preset("causal", heads="2/1", dim=16, dtype="bf16"))
    q, k, v = (torch.from_numpy(x).to(torch.bfloat16)
               for x in random_inputs(15, batch=1, t_len=30, s_len=30, hq=2, hkv=1, dim=16))
    out, lse = kernel(q, k, v)
    assert out.dtype == torch.bfloat16 and lse.dtype == torch.float32
    ref_out, ref_lse = attention_reference(*(x.float().numpy() for x in (q, k, v)))
    assert_close(out.float().numpy(), ref_out, atol=2e-2, rtol=2e-2)
    assert_close(lse.numpy(), ref_lse, atol=1e-2, rtol=1e-2)


# --- the JIT's disk cache ---------------------------------------------------


def child_env(tmp_path, **extra):
    """The environment of a child Python that imports this skim, with its own
    JIT cache under tmp_path and the log at info."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(skim.__file__)))
    return dict(os.environ, SKIM_CACHE_DIR=str(tmp_path / "cache"), SKIM_LOG="info",
                SKIM_LIBRARY=skim.library_path(),
                PYTHONPATH=os.pathsep.join(filter(None, [package_root,
                                                         os.environ.get("PYTHONPATH")])),
                **extra)


def test_disk_cache_across_processes(tmp_path):
    env = child_env(tmp_path)
    code = ("import numpy as np, skim\n"
            "k = skim.compile(skim.preset('window', heads='2/1', dim=16, window=8))\n"
            "x = np.random.default_rng(0).standard_normal((1, 12, 2, 16), dtype=np.float32)\n"
            "o, lse = k(x, x[:, :, :1].copy(), x[:, :, 1:].copy())\n"
            "print(float(o.sum()))\n")

    def run():
        # sys.executable: the interpreter running the tests (/usr/bin/python3 in CI).
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=120)

    first = run()
    assert first.returncode == 0, first.stderr
    assert "compiled variant" in first.stderr
    assert os.listdir(tmp_path / "cache")
    second = run()
    assert second.returncode == 0, second.stderr
    assert "compiled variant" not in second.stderr
    assert second.stdout == first.stdout


def test_missing_library_is_a_clear_error(tmp_path):
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(skim.__file__)))
    env = dict(os.environ, SKIM_LIBRARY=str(tmp_path / "libskim.so"), PYTHONPATH=package_root)
    result = subprocess.run([sys.executable, "-c", "import skim"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "cannot load libskim.so" in result.stderr
    assert str(tmp_path / "libskim.so") + " (missing)" in result.stderr


# --- tuned schedules ----------------------------------------------------------


def test_compile_with_sizes_uses_the_tuned_schedule(tmp_path):
    tool = os.environ.get("SKIM") or os.path.join(
        os.path.dirname(os.path.dirname(skim.library_path())), "bin", "skim")
    if not os.path.exists(tool):
        pytest.skip("needs the skim tool next to libskim.so (or $SKIM)")
    tuning = tmp_path / "tuning"
    # A short search on this machine's CPU stores an entry for the 64-token
    # bucket; the schedule in it is then made one the defaults never are,
    # so that its use shows.
    tuned = subprocess.run(
        [tool, "tune", "--variant", "window", "--heads", "2/1", "--dim", "16", "--window", "8",
         "--target", "host", "--seq", "64", "--budget", "2", "--no-progress",
         "--tuning-dir", str(tuning)], capture_output=True, text=True, timeout=300)
    assert tuned.returncode == 0, tuned.stdout + tuned.stderr
    entries = list(tuning.glob("*/*.json"))
    assert len(entries) == 1, tuned.stdout
    entry = json.loads(entries[0].read_text())
    assert entry["key"]["shape_bucket"] == "B1-T64-S64"
    entry["stages"][0]["schedule"] = "#skim.schedule<block_m = 16, block_n = 16>"
    entries[0].write_text(json.dumps(entry))

    env = child_env(tmp_path, SKIM_TUNING_DIR=str(tuning))
    code = ("import sys, numpy as np, skim\n"
            "mlir = skim.preset('window', heads='2/1', dim=16, window=8)\n"
            "sizes = 'auto' if sys.argv[1] == 'auto' else tuple(map(int, sys.argv[1:]))\n"
            "k = skim.compile(mlir, sizes=sizes)\n"
            "x = np.random.default_rng(0).standard_normal((1, 50, 2, 16), dtype=np.float32)\n"
            "o, lse = k(x, x[:, :, :1].copy(), x[:, :, 1:].copy())\n"
            "print(repr(o.astype(np.float64).tolist()))\n")

    def run(*sizes):
        return subprocess.run([sys.executable, "-c", code, *map(str, sizes)], env=env,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)

    hit = run(1, 50)  # 50 tokens: the 64 bucket
    assert hit.returncode == 0, hit.stderr
    assert "tuned schedules from " + str(entries[0]) + " for stage(s): attention" in hit.stderr
    miss = run(1, 50, 4096)  # keys in another bucket
    assert miss.returncode == 0, miss.stderr
    assert "tuned schedules" not in miss.stderr
    auto = run("auto")  # 50 tokens and keys, read from the inputs
    assert auto.returncode == 0, auto.stderr
    assert "tuned schedules from " + str(entries[0]) in auto.stderr
    x = np.random.default_rng(0).standard_normal((1, 50, 2, 16), dtype=np.float32)
    ref_out, _ = attention_reference(x, x[:, :, :1], x[:, :, 1:], window=8)
    for result in (hit, miss, auto):
        assert_close(np.array(eval(result.stdout)), ref_out)


def test_tuned_kernel_compiles_once_per_bucket():
    kernel = skim.compile(skim.preset("causal", heads="2/1", dim=16), sizes="auto")
    assert kernel.buckets == []
    for t_len, seed in ((40, 1), (60, 2), (100, 3)):  # 40 and 60 share the 64 bucket
        q, k, v = random_inputs(seed, batch=1, t_len=t_len, s_len=t_len, hq=2, hkv=1, dim=16)
        out, lse = kernel(q, k, v)
        ref_out, ref_lse = attention_reference(q, k, v)
        assert_close(out, ref_out)
        assert_close(lse, ref_lse)
    assert kernel.buckets == [(1, 64, 64), (1, 128, 128)]
    assert kernel.num_inputs == 3 and kernel.output_dtypes == ("float32", "float32")
    with pytest.raises(skim.Error, match="reads its sizes from inputs #0 and #1"):
        kernel(np.zeros((4, 16), np.float32), np.zeros((4, 16), np.float32))
    with pytest.raises(ValueError, match='sizes is a tuple or "auto"'):
        skim.compile(skim.preset("causal"), sizes="bucketed")


def test_compile_sizes_are_checked():
    mlir = skim.preset("causal", heads="2/1", dim=16)
    with pytest.raises(ValueError, match="sizes are"):
        skim.compile(mlir, sizes=(1,))
    with pytest.raises(ValueError, match="sizes are"):
        skim.compile(mlir, sizes=(1, 2.5))
    with pytest.raises(RuntimeError, match="batch >= 1, tokens >= 1"):
        skim.compile(mlir, sizes=(1, 0))
