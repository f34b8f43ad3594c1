"""skim: block-sparse attention kernels, compiled on first use.

A thin ctypes layer over skim's C API (``skim/skim.h``)::

    import numpy as np, skim
    kernel = skim.compile(skim.preset("causal", heads="8/1", dim=64))
    q = np.random.rand(1, 256, 8, 64).astype(np.float32)
    k = np.random.rand(1, 256, 1, 64).astype(np.float32)
    v = np.random.rand(1, 256, 1, 64).astype(np.float32)
    out, lse = kernel(q, k, v)

On a GPU, with an artifact compiled for it (``skim.compile(..., target=
"sm_90")``, or ``skim compile ... --target sm_90 -o x.skim`` elsewhere)::

    kernel = skim.load("x.skim")
    out, lse = kernel(q, k, v)       # torch CUDA tensors, on the current stream

Inputs are any objects with ``__dlpack__`` (NumPy arrays, PyTorch tensors,
CuPy or JAX arrays) on the kernel's device: the CPU for ``host`` kernels, a
CUDA GPU for ``sm_*`` kernels.

Two libraries implement the C API: ``libskim.so`` (compiler and runtime) and
``libskim_runtime.so`` (runtime only, built without LLVM: ``skim.load`` and
running work, ``skim.compile`` and ``skim.preset`` raise ``skim.Error``;
``skim.has_compiler()`` tells which one is loaded). Finding one, first match
wins:

1. ``$SKIM_LIBRARY``, the path of either library;
2. the installed layout: ``cmake --install`` writes ``skim/_install.py``
   with the library's path relative to this package (by default the package
   is ``<prefix>/lib/python3/dist-packages/skim`` and the library
   ``<prefix>/lib/libskim.so``);
3. ``libskim.so``, then ``libskim_runtime.so``, in this package's folder;
4. the same two in the build tree of a source checkout:
   ``$SKIM_BUILD_DIR/lib``, else ``<checkout>/build/lib``.

Outputs are allocated here, with the shapes and dtypes the C API reports:
NumPy arrays, or PyTorch tensors on the inputs' device when the inputs are
PyTorch tensors (the only way to get a bfloat16 output without ``out=``,
since NumPy has no bfloat16).
"""

import ctypes
import os
import sys

__all__ = ["Error", "Kernel", "compile", "has_compiler", "library_path", "load", "preset",
           "version"]


class Error(RuntimeError):
    """A failure reported by skim's C API; the message is the C message."""


# --- DLPack -----------------------------------------------------------------

_kDLCPU, _kDLCUDA, _kDLROCM, _kDLCUDAManaged = 1, 2, 10, 13
_DEVICE_NAMES = {_kDLCPU: "cpu", _kDLCUDA: "cuda", _kDLROCM: "rocm"}
# Memory a GPU kernel reads: DLPack's producers synchronise on a stream.
_GPU_DEVICES = (_kDLCUDA, _kDLCUDAManaged, _kDLROCM)
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

# The full library first: it can do everything the runtime-only one can.
_LIBRARY_NAMES = ("libskim.so", "libskim_runtime.so")
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
    checkout = os.path.dirname(os.path.dirname(_package_dir))  # python/skim -> root
    build = os.environ.get("SKIM_BUILD_DIR") or os.path.join(checkout, "build")
    for folder in (_package_dir, os.path.join(build, "lib")):
        found += [os.path.join(folder, name) for name in _LIBRARY_NAMES]
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
                      % (" or ".join(_LIBRARY_NAMES), "; ".join(tried)))


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
_compile_tuned = _declare("skim_compile_tuned", _c_kernel_p, ctypes.c_char_p, ctypes.c_char_p,
                          ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, _c_error)
_load_file = _declare("skim_load", _c_kernel_p, ctypes.c_char_p, _c_error)
_load_bytes = _declare("skim_load_bytes", _c_kernel_p, ctypes.c_char_p, ctypes.c_size_t,
                       _c_error)
_kernel_free = _declare("skim_kernel_free", None, _c_kernel_p)
_device_type = _declare("skim_kernel_device_type", ctypes.c_int, _c_kernel_p)
_target = _declare("skim_kernel_target", ctypes.c_char_p, _c_kernel_p)
_num_inputs = _declare("skim_kernel_num_inputs", ctypes.c_int, _c_kernel_p)
_num_outputs = _declare("skim_kernel_num_outputs", ctypes.c_int, _c_kernel_p)
_output_dtype = _declare("skim_kernel_output_dtype", _DLDataType, _c_kernel_p, ctypes.c_int)
_output_shape = _declare("skim_kernel_output_shape", ctypes.c_int, _c_kernel_p, _c_tensors,
                         ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                         ctypes.POINTER(ctypes.c_int), _c_error)
_workspace_bytes = _declare("skim_kernel_workspace_bytes", ctypes.c_int, _c_kernel_p,
                            _c_tensors, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64), _c_error)
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
    """The path of the library this module loaded (libskim.so or
    libskim_runtime.so)."""
    return _path


def has_compiler():
    """Whether the loaded library can compile (libskim.so), or only load and
    run compiled artifacts (libskim_runtime.so)."""
    return not version().endswith("(runtime only)")


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


def compile(mlir, target="host", sizes=None):  # noqa: A001 - the natural name here
    """Compiles a variant (MLIR text in the skim dialect, one function) for
    `target` ("host", or an NVIDIA chip: "sm_80", "sm_90", "sm_90a"), or
    loads it from the JIT cache ($SKIM_CACHE_DIR, default ~/.cache/skim).

    `sizes` = (batch, tokens) or (batch, tokens, key_tokens), the sizes the
    kernel will mostly run at: stages without a schedule then get the ones
    `skim tune` stored for this machine's device and that shape bucket
    (docs/Autotuner.md), else the target's defaults. The kernel still runs
    at any size. Returns a Kernel.

    `sizes="auto"` returns a TunedKernel instead, which compiles once per
    shape bucket of the inputs it is called with, each time with that
    bucket's tuned schedules."""
    if isinstance(mlir, bytes):
        mlir = mlir.decode()
    if isinstance(sizes, str):
        if sizes != "auto":
            raise ValueError(f'sizes is a tuple or "auto", got {sizes!r}')
        return TunedKernel(mlir, target)
    error = ctypes.c_void_p()
    chip = target.encode() if target else None
    if sizes is None:
        handle = _compile(mlir.encode(), chip, ctypes.byref(error))
    else:
        sizes = tuple(sizes)
        if len(sizes) not in (2, 3) or not all(isinstance(n, int) for n in sizes):
            raise ValueError("sizes are (batch, tokens) or (batch, tokens, key_tokens) "
                             f"integers, got {sizes!r}")
        batch, tokens, key_tokens = (sizes + (0,))[:3]
        handle = _compile_tuned(mlir.encode(), chip, batch, tokens, key_tokens,
                                ctypes.byref(error))
    if not handle:
        _raise_error(error, "skim_compile failed")
    return Kernel(handle)


def load(source):
    """Loads a compiled artifact without the compiler: `source` is a path
    (written by ``skim compile ... -o FILE``) or the artifact's bytes.
    Returns a Kernel. A GPU artifact needs no driver until its first call."""
    error = ctypes.c_void_p()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        handle = _load_bytes(data, len(data), ctypes.byref(error))
    else:
        handle = _load_file(os.fsencode(os.fspath(source)), ctypes.byref(error))
    if not handle:
        _raise_error(error, "skim_load failed")
    return Kernel(handle)


# --- tensors ----------------------------------------------------------------


def _is_torch(obj):
    return type(obj).__module__.split(".")[0] == "torch"


def _device_of(obj):
    """(DLPack device type, device id) of a producer; CPU without
    ``__dlpack_device__`` (NumPy before 1.22, simple producers)."""
    device = getattr(obj, "__dlpack_device__", None)
    if device is None:
        return _kDLCPU, 0
    kind, index = device()
    return int(kind), int(index)


def _dlpack_stream(handle):
    """The `stream` to hand a producer for work queued on stream `handle`.
    DLPack reserves 0 for CUDA and calls the legacy default stream 1."""
    return handle if handle else 1


def _export(obj, what, stream=None):
    """(producer, capsule, DLManagedTensor* as an int) of a DLPack producer.

    A GPU tensor is exported for `stream` (the consumer's stream, per
    DLPack): the producer orders its pending writes before that stream's
    later work, so the kernel queued there reads finished data.

    The capsule is borrowed, not consumed: skim only reads and writes the
    tensor during the call (on a GPU, the work the call queues), and the
    caller still owns it. So the capsule keeps its name "dltensor" and its
    deleter is never called here; when the capsule is collected, its
    destructor calls the deleter, which releases the producer's reference and
    nothing else. Renaming it to "used_dltensor" would make us responsible
    for the deleter, and calling the deleter while the capsule is alive would
    free the DLManagedTensor under it. Callers keep the capsule (and the
    producer) alive until the C call returns.
    """
    exporter = getattr(obj, "__dlpack__", None)
    if exporter is None:
        raise TypeError("%s (%s) is not a DLPack tensor: it has no __dlpack__"
                        % (what, type(obj).__name__))
    try:
        # No max_version: skim's C API takes the unversioned DLManagedTensor.
        # CPU producers (NumPy) refuse any stream but None.
        capsule = exporter() if stream is None else exporter(stream=_dlpack_stream(stream))
    except BufferError as e:
        # DLPack before 1.0 cannot mark a tensor read-only, so NumPy refuses
        # to export read-only arrays; skim only reads inputs, a copy will do.
        flags = getattr(obj, "flags", None)
        if what.startswith("input") and flags is not None and not flags.writeable:
            obj = obj.copy()
            return _export(obj, what, stream)
        raise Error("%s cannot be exported through DLPack: %s" % (what, e)) from e
    try:
        pointer = _PyCapsule_GetPointer(capsule, b"dltensor")
    except (TypeError, ValueError) as e:
        raise Error("%s: __dlpack__ did not return a 'dltensor' capsule (%s)" % (what, e)) from e
    return obj, capsule, pointer


# PyTorch tensors on the stream the run uses (PyTorch's current one) go out
# through torch.utils.dlpack.to_dlpack: the __dlpack__(stream=) handshake
# would only find the streams equal, at ~10 us of Python per tensor, which on
# a decode-sized call is more than the kernel (bench/NOTES.md). False forces
# the protocol path (the benchmark compares the two).
_FAST_TORCH_EXPORT = True


def _export_torch(obj, what):
    """_export for a PyTorch tensor whose writes are queued on the stream the
    run goes on: no stream handshake is needed."""
    if obj.requires_grad:
        # As __dlpack__ refuses: skim's outputs would silently lose autograd.
        raise Error("%s requires grad; skim does not differentiate, pass "
                    "tensor.detach()" % what)
    import torch.utils.dlpack
    capsule = torch.utils.dlpack.to_dlpack(obj)
    return obj, capsule, _PyCapsule_GetPointer(capsule, b"dltensor")


def _export_any(obj, what, stream, torch_stream):
    """_export, with `stream` for GPU producers only; PyTorch CUDA tensors
    through _export_torch when the run is on PyTorch's current stream."""
    if torch_stream and _is_torch(obj) and obj.device.type == "cuda":
        return _export_torch(obj, what)
    return _export(obj, what, stream if _device_of(obj)[0] in _GPU_DEVICES else None)


def _pointers(exported):
    return (ctypes.c_void_p * max(len(exported), 1))(*[p for _, _, p in exported])


def _stream_handle(stream, inputs):
    """The stream a GPU run goes on, as an int: `stream` (an int handle or an
    object with ``cuda_stream``, such as torch.cuda.Stream), else PyTorch's
    current stream on the inputs' device, else the default stream (0)."""
    if stream is not None:
        return int(getattr(stream, "cuda_stream", stream))
    # CPU tensors among the inputs are the C API's to refuse, by name.
    on_gpu = [x for x in inputs if _is_torch(x) and x.device.type == "cuda"]
    if on_gpu:
        import torch
        return torch.cuda.current_stream(on_gpu[0].device).cuda_stream
    return 0


class Kernel:
    """A compiled variant. Call it with its inputs; it returns a tuple of its
    outputs (allocated here, or the `out=` tensors).

    On a GPU the call returns once the kernels are queued on the stream
    (`stream=`, by default PyTorch's current stream), as PyTorch's own
    operations do."""

    def __init__(self, handle):
        self._handle = handle
        self.num_inputs = _num_inputs(handle)
        self.num_outputs = _num_outputs(handle)
        self._dtypes = tuple(_output_dtype(handle, i) for i in range(self.num_outputs))
        self._device_type = _device_type(handle)
        self.target = _target(handle).decode()

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle and _kernel_free is not None:
            _kernel_free(handle)

    def __repr__(self):
        return "<skim.Kernel %s (%s), %d inputs, %d outputs, output dtypes %s>" % (
            self.device, self.target, self.num_inputs, self.num_outputs,
            ", ".join(self.output_dtypes))

    @property
    def device(self):
        """Where it runs: "cpu", "cuda" or "rocm"."""
        return _DEVICE_NAMES.get(self._device_type, "dlpack(%d)" % self._device_type)

    @property
    def output_dtypes(self):
        """The outputs' dtypes by name: "float32", "float16", "bfloat16", "int32"."""
        return tuple(_DTYPE_NAMES.get((t.code, t.bits), "dlpack(%d,%d)" % (t.code, t.bits))
                     for t in self._dtypes)

    def _export_inputs(self, inputs, stream=None, torch_stream=False):
        return [_export_any(x, "input #%d" % i, stream, torch_stream)
                for i, x in enumerate(inputs)]

    def output_shapes(self, *inputs):
        """The outputs' shapes for these inputs."""
        exported = self._export_inputs(inputs)
        return tuple(self._shape(exported, i) for i in range(self.num_outputs))

    def workspace_bytes(self, *inputs):
        """Memory a call with these inputs takes beside the inputs and
        outputs: the kernel's own workspace, allocated once per stream and
        kept (outside PyTorch's allocator, so torch.cuda.max_memory_allocated
        does not count it)."""
        exported = self._export_inputs(inputs)
        size = ctypes.c_uint64()
        error = ctypes.c_void_p()
        if _workspace_bytes(self._handle, _pointers(exported), len(exported),
                            ctypes.byref(size), ctypes.byref(error)):
            _raise_error(error, "skim_kernel_workspace_bytes failed")
        return size.value

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
            return [torch.empty(s, dtype=getattr(torch, d), device=inputs[0].device)
                    for s, d in zip(shapes, dtypes)]
        if any(_device_of(x)[0] != _kDLCPU for x in inputs):
            raise Error("outputs on a GPU are allocated only for PyTorch inputs: pass out=")
        import numpy as np
        outputs = []
        for i, (s, d) in enumerate(zip(shapes, dtypes)):
            if d not in ("float32", "float16", "int32"):
                raise Error("output #%d is %s, which NumPy cannot hold: pass PyTorch tensors, "
                            "preallocated outputs through out=, or use an f32/f16 variant"
                            % (i, d))
            outputs.append(np.empty(s, dtype=d))
        return outputs

    def __call__(self, *inputs, out=None, stream=None):
        on_gpu = self._device_type != _kDLCPU
        handle = _stream_handle(stream, inputs) if on_gpu else None
        # Without `stream=`, a GPU run goes on PyTorch's current stream.
        torch_stream = on_gpu and stream is None and _FAST_TORCH_EXPORT
        exported = self._export_inputs(inputs, handle, torch_stream)
        if out is None:
            outputs = self._allocate(exported, inputs)
        else:
            outputs = list(out) if isinstance(out, (tuple, list)) else [out]
        exported_out = [_export_any(x, "output #%d" % i, handle, torch_stream)
                        for i, x in enumerate(outputs)]
        error = ctypes.c_void_p()
        # `exported` and `exported_out` hold the producers and their capsules
        # until the run returns.
        rc = _run(self._handle, _pointers(exported), len(exported), _pointers(exported_out),
                  len(exported_out), handle or None, ctypes.byref(error))
        if rc:
            _raise_error(error, "skim_kernel_run failed")
        return tuple(outputs)


def _pow2_ceil(n):
    p = 1
    while p < n:
        p *= 2
    return p


class TunedKernel:
    """A variant compiled per shape bucket (`skim.compile(mlir, target,
    sizes="auto")`). A call takes the kernel for its inputs' bucket: batch
    exactly, tokens and key tokens rounded up to powers of two, as `skim
    tune` buckets them; the first call of a bucket compiles it (or loads it
    from the JIT cache) with that bucket's tuned schedules. The sizes are
    read as every preset lays its inputs out: batch and tokens from input #0
    (the queries, [B, T, H, D]), key tokens from input #1 (the keys); a
    variant whose inputs come in another order still computes the right
    thing, with another bucket's schedules."""

    def __init__(self, mlir, target):
        self._mlir = mlir
        self._target = target
        self._kernels = {}
        self._any = None

    def _sizes(self, inputs):
        if len(inputs) < 2:
            raise Error("a TunedKernel reads its sizes from inputs #0 (queries) and #1 "
                        "(keys): got %d input(s)" % len(inputs))
        q, k = (getattr(x, "shape", None) for x in inputs[:2])
        if q is None or k is None or len(q) != 4 or len(k) != 4:
            raise Error("a TunedKernel reads its sizes from inputs #0 and #1 as [B, T, H, D] "
                        "tensors: got shapes %s and %s" % (q, k))
        return int(q[0]), int(q[1]), int(k[1])

    def kernel_for(self, *inputs):
        """The Kernel these inputs run with, compiled on first use."""
        batch, tokens, keys = self._sizes(inputs)
        bucket = (batch, _pow2_ceil(tokens), _pow2_ceil(keys))
        kernel = self._kernels.get(bucket)
        if kernel is None:
            kernel = compile(self._mlir, self._target, sizes=(batch, tokens, keys))
            self._kernels[bucket] = kernel
            self._any = self._any or kernel
        return kernel

    def _some_kernel(self):
        # Properties that do not depend on the sizes: any bucket's kernel,
        # else the variant as written.
        if self._any is None:
            self._any = compile(self._mlir, self._target)
        return self._any

    num_inputs = property(lambda self: self._some_kernel().num_inputs)
    num_outputs = property(lambda self: self._some_kernel().num_outputs)
    device = property(lambda self: self._some_kernel().device)
    output_dtypes = property(lambda self: self._some_kernel().output_dtypes)
    target = property(lambda self: self._some_kernel().target)

    @property
    def buckets(self):
        """The (batch, tokens, key tokens) buckets compiled so far."""
        return sorted(self._kernels)

    def output_shapes(self, *inputs):
        return self.kernel_for(*inputs).output_shapes(*inputs)

    def workspace_bytes(self, *inputs):
        return self.kernel_for(*inputs).workspace_bytes(*inputs)

    def __call__(self, *inputs, out=None, stream=None):
        return self.kernel_for(*inputs)(*inputs, out=out, stream=stream)

    def __repr__(self):
        return "<skim.TunedKernel for %s, buckets %s>" % (self._target, self.buckets)
