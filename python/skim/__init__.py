"""skim: block-sparse attention kernels, compiled on first use.

A thin ctypes layer over skim's C API (``libskim.so``, ``skim/skim.h``)::

    import numpy as np, skim
    kernel = skim.compile(skim.preset("causal", heads="8/1", dim=64))
    q = np.random.rand(1, 256, 8, 64).astype(np.float32)
    k = np.random.rand(1, 256, 1, 64).astype(np.float32)
    v = np.random.rand(1, 256, 1, 64).astype(np.float32)
    out, lse = kernel(q, k, v)

Inputs are any objects with ``__dlpack__`` (NumPy arrays, PyTorch tensors,
CuPy or JAX arrays); only CPU tensors run until the GPU backends land.

Finding the library, first match wins:

1. ``$SKIM_LIBRARY``, the path of ``libskim.so``;
2. the installed layout: ``cmake --install`` writes ``skim/_install.py``
   with the library's path relative to this package (by default the package
   is ``<prefix>/lib/python3/dist-packages/skim`` and the library
   ``<prefix>/lib/libskim.so``);
3. ``libskim.so`` in this package's folder;
4. the build tree of a source checkout: ``$SKIM_BUILD_DIR/lib/libskim.so``,
   else ``<checkout>/build/lib/libskim.so``.

Outputs are allocated here, with the shapes and dtypes the C API reports:
NumPy arrays, or PyTorch tensors when the inputs are PyTorch tensors (the only
way to get a bfloat16 output without ``out=``, since NumPy has no bfloat16).
"""

import ctypes
import os
import sys

__all__ = ["Error", "Kernel", "compile", "library_path", "preset", "version"]


class Error(RuntimeError):
    """A failure reported by skim's C API; the message is the C message."""


# --- DLPack -----------------------------------------------------------------

_kDLCPU = 1
_kDLInt, _kDLUInt, _kDLFloat, _kDLBfloat = 0, 1, 2, 4


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


# (code, bits) -> the dtype's name in NumPy and PyTorch.
_DTYPE_NAMES = {
    (_kDLFloat, 32): "float32",
    (_kDLFloat, 16): "float16",
    (_kDLBfloat, 16): "bfloat16",
    (_kDLInt, 32): "int32",
}

# A prototype of our own rather than argtypes on ctypes.pythonapi's shared
# function object, which other modules may declare differently.
_PyCapsule_GetPointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))

# --- the library ------------------------------------------------------------

_LIBRARY_NAME = "libskim.so"
_package_dir = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("SKIM_LIBRARY")
    if env:
        # An explicit choice is the only candidate: silently falling back to
        # another build would hide a typo.
        return [env]
    found = []
    try:
        from . import _install  # written by `cmake --install`
        found.append(os.path.normpath(os.path.join(_package_dir, _install.LIBRARY)))
    except ImportError:
        pass
    found.append(os.path.join(_package_dir, _LIBRARY_NAME))
    checkout = os.path.dirname(os.path.dirname(_package_dir))  # python/skim -> root
    build = os.environ.get("SKIM_BUILD_DIR") or os.path.join(checkout, "build")
    found.append(os.path.join(build, "lib", _LIBRARY_NAME))
    return found


def _load():
    tried = []
    for path in _candidates():
        if not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return path, ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("skim: cannot load %s; tried: %s. Set SKIM_LIBRARY to its path."
                      % (_LIBRARY_NAME, "; ".join(tried)))


_path, _lib = _load()

_c_kernel_p = ctypes.c_void_p
_c_tensors = ctypes.POINTER(ctypes.c_void_p)  # DLManagedTensor *const *
_c_error = ctypes.POINTER(ctypes.c_void_p)    # char **error (freed by us)


def _declare(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_version = _declare("skim_version", ctypes.c_char_p)
_preset = _declare("skim_preset", ctypes.c_void_p, ctypes.c_char_p, _c_error)
_compile = _declare("skim_compile", _c_kernel_p, ctypes.c_char_p, ctypes.c_char_p, _c_error)
_kernel_free = _declare("skim_kernel_free", None, _c_kernel_p)
_num_inputs = _declare("skim_kernel_num_inputs", ctypes.c_int, _c_kernel_p)
_num_outputs = _declare("skim_kernel_num_outputs", ctypes.c_int, _c_kernel_p)
_output_dtype = _declare("skim_kernel_output_dtype", _DLDataType, _c_kernel_p, ctypes.c_int)
_output_shape = _declare("skim_kernel_output_shape", ctypes.c_int, _c_kernel_p, _c_tensors,
                         ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                         ctypes.POINTER(ctypes.c_int), _c_error)
_run = _declare("skim_kernel_run", ctypes.c_int, _c_kernel_p, _c_tensors, ctypes.c_int,
                _c_tensors, ctypes.c_int, ctypes.c_void_p, _c_error)
_free_string = _declare("skim_free_string", None, ctypes.c_void_p)


def _take_string(ptr):
    """The text of a malloc'ed C string, which is freed."""
    if not ptr:
        return ""
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        _free_string(ptr)


def _raise_error(error, fallback):
    message = _take_string(error.value) if error.value else fallback
    raise Error(message)


def library_path():
    """The path of the libskim.so this module loaded."""
    return _path


def version():
    """skim's version, e.g. "skim 0.1.0"."""
    return _version().decode()


def preset(variant, heads="8/1", dim=64, dtype="f32", **params):
    """The MLIR text of a preset variant.

    variant: "nsa", "moba", "window" or "causal". heads: "Hq/Hkv", an int
    (Hq = Hkv) or a pair. dtype: "f32", "bf16" or "f16". params: the
    variant's own integers: dv, window, sink (window/causal), block, top_k
    (moba), cmp_block, cmp_stride, sel_block, selected (nsa).
    """
    if isinstance(heads, (tuple, list)):
        heads = "%d/%d" % tuple(heads)
    words = [("variant", variant), ("heads", heads), ("dim", dim), ("dtype", dtype)]
    words += sorted(params.items())
    spec = []
    for key, value in words:
        value = str(value)
        if not value or any(c.isspace() for c in value):
            raise ValueError("skim.preset: %s=%r must be one word" % (key, value))
        spec.append("%s=%s" % (key, value))
    error = ctypes.c_void_p()
    text = _preset(" ".join(spec).encode(), ctypes.byref(error))
    if not text:
        _raise_error(error, "skim_preset failed")
    return _take_string(text)


def compile(mlir, target="host"):  # noqa: A001 - the natural name here
    """Compiles a variant (MLIR text in the skim dialect, one function) for
    `target`, or loads it from the JIT cache ($SKIM_CACHE_DIR, default
    ~/.cache/skim). Returns a Kernel."""
    if isinstance(mlir, bytes):
        mlir = mlir.decode()
    error = ctypes.c_void_p()
    handle = _compile(mlir.encode(), target.encode() if target else None, ctypes.byref(error))
    if not handle:
        _raise_error(error, "skim_compile failed")
    return Kernel(handle)


# --- tensors ----------------------------------------------------------------


def _is_torch(obj):
    return type(obj).__module__.split(".")[0] == "torch"


def _export(obj, what):
    """(producer, capsule, DLManagedTensor* as an int) of a DLPack producer.

    The capsule is borrowed, not consumed: skim only reads and writes the
    tensor during the (synchronous) call, and the caller still owns it. So the
    capsule keeps its name "dltensor" and its deleter is never called here;
    when the capsule is collected, its destructor calls the deleter, which
    releases the producer's reference and nothing else. Renaming it to
    "used_dltensor" would make us responsible for the deleter, and calling
    the deleter while the capsule is alive would free the DLManagedTensor
    under it. Callers keep the capsule (and the producer) alive until the C
    call returns.
    """
    exporter = getattr(obj, "__dlpack__", None)
    if exporter is None:
        raise TypeError("%s (%s) is not a DLPack tensor: it has no __dlpack__"
                        % (what, type(obj).__name__))
    try:
        # No max_version: skim's C API takes the unversioned DLManagedTensor.
        capsule = exporter()
    except BufferError as e:
        # DLPack before 1.0 cannot mark a tensor read-only, so NumPy refuses
        # to export read-only arrays; skim only reads inputs, a copy will do.
        flags = getattr(obj, "flags", None)
        if what.startswith("input") and flags is not None and not flags.writeable:
            obj = obj.copy()
            return _export(obj, what)
        raise Error("%s cannot be exported through DLPack: %s" % (what, e)) from e
    try:
        pointer = _PyCapsule_GetPointer(capsule, b"dltensor")
    except (TypeError, ValueError) as e:
        raise Error("%s: __dlpack__ did not return a 'dltensor' capsule (%s)" % (what, e)) from e
    return obj, capsule, pointer


def _pointers(exported):
    return (ctypes.c_void_p * max(len(exported), 1))(*[p for _, _, p in exported])


class Kernel:
    """A compiled variant. Call it with its inputs; it returns a tuple of its
    outputs (allocated here, or the `out=` tensors)."""

    def __init__(self, handle):
        self._handle = handle
        self.num_inputs = _num_inputs(handle)
        self.num_outputs = _num_outputs(handle)
        self._dtypes = tuple(_output_dtype(handle, i) for i in range(self.num_outputs))

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle and _kernel_free is not None:
            _kernel_free(handle)

    def __repr__(self):
        return "<skim.Kernel %d inputs, %d outputs, output dtypes %s>" % (
            self.num_inputs, self.num_outputs, ", ".join(self.output_dtypes))

    @property
    def output_dtypes(self):
        """The outputs' dtypes by name: "float32", "float16", "bfloat16", "int32"."""
        return tuple(_DTYPE_NAMES.get((t.code, t.bits), "dlpack(%d,%d)" % (t.code, t.bits))
                     for t in self._dtypes)

    def output_shapes(self, *inputs):
        """The outputs' shapes for these inputs."""
        exported = [_export(x, "input #%d" % i) for i, x in enumerate(inputs)]
        return tuple(self._shape(exported, i) for i in range(self.num_outputs))

    def _shape(self, exported, index):
        shape = (ctypes.c_int64 * 8)()
        rank = ctypes.c_int()
        error = ctypes.c_void_p()
        if _output_shape(self._handle, _pointers(exported), len(exported), index, shape,
                         ctypes.byref(rank), ctypes.byref(error)):
            _raise_error(error, "skim_kernel_output_shape failed")
        return tuple(shape[d] for d in range(rank.value))

    def _allocate(self, exported, inputs):
        dtypes = self.output_dtypes
        shapes = [self._shape(exported, i) for i in range(self.num_outputs)]
        if inputs and all(_is_torch(x) for x in inputs):
            import torch
            return [torch.empty(s, dtype=getattr(torch, d), device="cpu")
                    for s, d in zip(shapes, dtypes)]
        import numpy as np
        outputs = []
        for i, (s, d) in enumerate(zip(shapes, dtypes)):
            if d not in ("float32", "float16", "int32"):
                raise Error("output #%d is %s, which NumPy cannot hold: pass PyTorch tensors, "
                            "preallocated outputs through out=, or use an f32/f16 variant"
                            % (i, d))
            outputs.append(np.empty(s, dtype=d))
        return outputs

    def __call__(self, *inputs, out=None):
        exported = [_export(x, "input #%d" % i) for i, x in enumerate(inputs)]
        if out is None:
            outputs = self._allocate(exported, inputs)
        else:
            outputs = list(out) if isinstance(out, (tuple, list)) else [out]
        exported_out = [_export(x, "output #%d" % i) for i, x in enumerate(outputs)]
        error = ctypes.c_void_p()
        # `exported` and `exported_out` hold the producers and their capsules
        # until the run returns.
        rc = _run(self._handle, _pointers(exported), len(exported), _pointers(exported_out),
                  len(exported_out), None, ctypes.byref(error))
        if rc:
            _raise_error(error, "skim_kernel_run failed")
        return tuple(outputs)
