"""The chunked WKV equals the step-by-step loop: outputs and gradients, across chunk sizes, lengths that
are not a multiple of the chunk, and keys large enough that exp() would overflow without the max trick."""
import pytest
import torch

from rwkv_music_torch.wkv import wkv_chunked, wkv_loop


def run(fn, td, u, k, v):
    y = fn(-torch.exp(td), u, k, v)
    # a loss that weights every output differently, so every gradient path counts
    loss = (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum() + (y ** 2).sum()
    return y, torch.autograd.grad(loss, [td, u, k, v])


def inputs(dtype, B, T, C, key_scale, seed):
    g = torch.Generator().manual_seed(seed)
    td = (torch.randn(C, generator=g) * 1.5).to(dtype).requires_grad_()
    u = torch.randn(C, generator=g).to(dtype).requires_grad_()
    k = (torch.randn(B, T, C, generator=g) * key_scale).to(dtype).requires_grad_()
    v = torch.randn(B, T, C, generator=g).to(dtype).requires_grad_()
    return td, u, k, v


@pytest.mark.parametrize("chunk,T", [(1, 7), (4, 4), (8, 37), (16, 5), (32, 100)])
def test_chunked_equals_loop_float64(chunk, T):
    args = inputs(torch.float64, 2, T, 6, 3.0, seed=T + chunk)
    y_loop, g_loop = run(wkv_loop, *args)
    y_chunk, g_chunk = run(lambda *a: wkv_chunked(*a, chunk=chunk), *args)
    assert torch.allclose(y_chunk, y_loop, rtol=1e-12, atol=1e-12)
    for a, b in zip(g_chunk, g_loop):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)


def test_chunked_equals_loop_float32_with_huge_keys():
    # keys up to ~±100: e^k overflows float32 without the max subtraction
    args = inputs(torch.float32, 3, 50, 8, 40.0, seed=5)
    y_loop, g_loop = run(wkv_loop, *args)
    y_chunk, g_chunk = run(lambda *a: wkv_chunked(*a, chunk=16), *args)
    assert torch.isfinite(y_chunk).all() and all(torch.isfinite(g).all() for g in g_chunk)
    rel = lambda a, b: float((a - b).norm() / b.norm())
    assert rel(y_chunk, y_loop) < 1e-5
    for a, b in zip(g_chunk, g_loop):
        assert rel(a, b) < 1e-4


def test_loop_matches_the_definition():
    # the plain sums of the definition, with small values so no stabilisation is needed
    td, u, k, v = inputs(torch.float64, 1, 9, 3, 0.5, seed=2)
    w = -torch.exp(td)
    y = wkv_loop(w, u, k, v)
    for t in range(9):
        num = torch.exp(u + k[0, t]) * v[0, t]
        den = torch.exp(u + k[0, t])
        for i in range(t):
            e = torch.exp((t - 1 - i) * w + k[0, i])
            num = num + e * v[0, i]
            den = den + e
        assert torch.allclose(y[0, t], num / den, rtol=1e-12)
