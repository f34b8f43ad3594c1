"""skim kernels on a CUDA GPU through the Python module, with PyTorch
tensors: against SDPA, on PyTorch's current stream and on a side stream,
on strided views, and refusing CPU tensors. Marked `gpu`; skipped without
PyTorch, a CUDA device, or the artifacts (tests/python/gpu_artifacts.py).

    python3 -m pytest -q -m gpu tests/python
"""

import os

import pytest

import skim
import gpu_artifacts

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """Loads a named artifact from $SKIM_TEST_ARTIFACTS, or writes it with the
    skim tool first."""
    folder = os.environ.get("SKIM_TEST_ARTIFACTS")

    def load(name):
        if folder and os.path.exists(os.path.join(folder, name + ".skim")):
            return skim.load(os.path.join(folder, name + ".skim"))
        if not gpu_artifacts.skim_tool():
            pytest.skip("no artifact %s and no skim tool to write it" % name)
        return skim.load(gpu_artifacts.write(name, str(tmp_path_factory.mktemp("gpu"))))
    return load


def reference(q, k, v, causal=True, window=0):
    """O and LSE in float32 from upcast [B, T, H, D] inputs, by PyTorch."""
    q, k, v = (x.float().transpose(1, 2) for x in (q, k, v))
    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    t, s = q.shape[2], k.shape[2]
    pos = torch.arange(t, device=q.device)[:, None] + (s - t)
    key = torch.arange(s, device=q.device)[None, :]
    allowed = key <= pos if causal else torch.ones(t, s, dtype=torch.bool, device=q.device)
    if window:
        allowed &= key > pos - window
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2), scores.logsumexp(-1)


def inputs(t, s, hq, hkv, d, dtype, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return [torch.randn(1, n, h, d, device="cuda", dtype=dtype, generator=g)
            for n, h in ((t, hq), (s, hkv), (s, hkv))]


def test_causal_bf16_matches_reference(artifact):
    kernel = artifact("causal_bf16_h8_2_d64")
    assert kernel.device == "cuda"
    q, k, v = inputs(300, 300, 8, 2, 64, torch.bfloat16, 1)
    out, lse = kernel(q, k, v)
    assert out.device == q.device and out.dtype == torch.bfloat16
    torch.cuda.synchronize()
    ref_out, ref_lse = reference(q, k, v)
    assert (out.float() - ref_out).abs().max().item() < 2e-2
    assert (lse - ref_lse).abs().max().item() < 1e-2


def test_side_stream_and_strided_views(artifact):
    kernel = artifact("window_f32_h4_1_d32")
    # [B, H, T, D] storage seen as [B, T, H, D]: the layout PyTorch's
    # attention uses, with no copy.
    g = torch.Generator(device="cuda").manual_seed(2)
    q, k, v = (torch.randn(1, h, 200, 32, device="cuda", generator=g).transpose(1, 2)
               for h in (4, 1, 1))
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out, lse = kernel(q, k, v)
    side.synchronize()
    ref_out, ref_lse = reference(q, k, v, window=48)
    assert (out - ref_out).abs().max().item() < 1e-4
    assert (lse - ref_lse).abs().max().item() < 1e-4


def test_cpu_tensors_are_refused(artifact):
    kernel = artifact("window_f32_h4_1_d32")
    q, k, v = (x.cpu() for x in inputs(20, 20, 4, 1, 32, torch.float32, 3))
    with pytest.raises(skim.Error, match="input #0 is a CPU tensor, but this kernel runs on CUDA"):
        kernel(q, k, v)


def test_export_paths_agree_and_refuse_grad(artifact, monkeypatch):
    # On PyTorch's current stream tensors go out through to_dlpack, without
    # the __dlpack__(stream=) handshake; both paths give the same result on
    # strided views, and a tensor that requires grad is refused by name.
    kernel = artifact("causal_bf16_h8_2_d64")
    q, k, v = (x.transpose(1, 2).contiguous().transpose(1, 2)
               for x in inputs(130, 130, 8, 2, 64, torch.bfloat16, 4))
    fast = [t.clone() for t in kernel(q, k, v)]
    monkeypatch.setattr(skim, "_FAST_TORCH_EXPORT", False)
    slow = kernel(q, k, v)
    torch.cuda.synchronize()
    assert torch.equal(fast[0], slow[0]) and torch.equal(fast[1], slow[1])
    monkeypatch.setattr(skim, "_FAST_TORCH_EXPORT", True)
    with pytest.raises(skim.Error, match="input #0 requires grad"):
        kernel(q.detach().requires_grad_(), k, v)
