"""The WKV operator of RWKV-4 (reference: shared MODELS.md section 2; Peng et al. 2023,
arXiv:2305.13048), per batch row and channel, with w = -exp(time_decay) and u = time_first:

    wkv_t = (sum_{i<t} e^{(t-1-i)w + k_i} v_i + e^{u+k_t} v_t) / (sum_{i<t} e^{(t-1-i)w + k_i} + e^{u+k_t})

Two formulations in plain torch ops, so no custom CUDA build is needed:
- wkv_loop: the stable recurrence over time (state aa, bb scaled by e^{-pp}), one step per frame; the
  reference.
- wkv_chunked: the same sums computed exactly per chunk of frames as a masked [chunk x chunk] product,
  with the largest exponent of each output row subtracted before exp; the state between chunks is
  carried by a short loop over chunks (T / chunk steps instead of T). Every subtracted maximum cancels
  between numerator and denominator, so it is detached: its true gradient is zero.

Both compute in float32 at least (float64 stays float64), also under autocast.
"""
import torch

PP_START = -1e38


def _wkv_dtype(k):
    return torch.float64 if k.dtype == torch.float64 else torch.float32


def wkv_loop(w, u, k, v):
    """w, u [C]; k, v [B, T, C] -> [B, T, C]."""
    dt = _wkv_dtype(k)
    w, u, k, v = w.to(dt), u.to(dt), k.to(dt), v.to(dt)
    B, T, C = k.shape
    aa = torch.zeros(B, C, dtype=dt, device=k.device)
    bb = torch.zeros(B, C, dtype=dt, device=k.device)
    pp = torch.full((B, C), PP_START, dtype=dt, device=k.device)
    ys = []
    for t in range(T):
        kt, vt = k[:, t], v[:, t]
        ww = u + kt
        p = torch.maximum(pp, ww)
        e1 = torch.exp(pp - p)
        e2 = torch.exp(ww - p)
        ys.append((e1 * aa + e2 * vt) / (e1 * bb + e2))
        ww = w + pp
        p = torch.maximum(ww, kt)
        e1 = torch.exp(ww - p)
        e2 = torch.exp(kt - p)
        aa = e1 * aa + e2 * vt
        bb = e1 * bb + e2
        pp = p
    return torch.stack(ys, dim=1)


def wkv_chunked(w, u, k, v, chunk=32):
    """Exact chunked WKV: w, u [C]; k, v [B, T, C] -> [B, T, C]. Memory grows with B*T*chunk*C."""
    dt = _wkv_dtype(k)
    w, u, k, v = w.to(dt), u.to(dt), k.to(dt), v.to(dt)
    B, T, C = k.shape
    L = max(1, min(chunk, T))
    N = (T + L - 1) // L
    pad = N * L - T
    if pad:
        # padded frames come after every real one, so they only reach outputs that are cut off
        k = torch.nn.functional.pad(k, (0, 0, 0, pad))
        v = torch.nn.functional.pad(v, (0, 0, 0, pad))
    k = k.view(B, N, L, C)
    v = v.view(B, N, L, C)
    dev = k.device
    j = torch.arange(L, device=dev, dtype=dt)
    # within a chunk: row j (output), column i (input); i < j decays by (j-1-i) steps, i == j gets u
    dist = (j.view(L, 1) - 1 - j.view(1, L))  # [L, L]
    lower = dist >= 0
    diag = torch.eye(L, dtype=torch.bool, device=dev)
    ki = k.unsqueeze(2)  # [B, N, 1, L(i), C]
    e_past = dist.view(1, 1, L, L, 1) * w + ki
    e_now = (u + k).unsqueeze(3)  # [B, N, L(j), 1, C]
    neg_inf = torch.tensor(float("-inf"), dtype=dt, device=dev)
    expo = torch.where(diag.view(1, 1, L, L, 1), e_now, torch.where(lower.view(1, 1, L, L, 1), e_past, neg_inf))

    # what each chunk adds to the state at its end: exponents (L-1-i) w + k_i
    f = (L - 1 - j).view(1, 1, L, 1) * w + k  # [B, N, L, C]
    q = f.amax(dim=2).detach()  # [B, N, C]
    ef = torch.exp(f - q.unsqueeze(2))
    add_a = (ef * v).sum(2)
    add_b = ef.sum(2)
    # state entering each chunk (aa, bb scaled by e^{-pp}): a loop over chunks, not over frames
    aa = torch.zeros(B, C, dtype=dt, device=dev)
    bb = torch.zeros(B, C, dtype=dt, device=dev)
    pp = torch.full((B, C), PP_START, dtype=dt, device=dev)
    states_a, states_b, states_p = [], [], []
    decay_chunk = L * w
    for n in range(N):
        states_a.append(aa)
        states_b.append(bb)
        states_p.append(pp)
        if n + 1 == N:
            break
        carried = pp + decay_chunk
        p = torch.maximum(carried, q[:, n])
        e1 = torch.exp(carried - p)
        e2 = torch.exp(q[:, n] - p)
        aa = e1 * aa + e2 * add_a[:, n]
        bb = e1 * bb + e2 * add_b[:, n]
        pp = p
    sa = torch.stack(states_a, 1).unsqueeze(2)  # [B, N, 1, C]
    sb = torch.stack(states_b, 1).unsqueeze(2)
    sp = torch.stack(states_p, 1).unsqueeze(2)
    e_state = sp + j.view(1, 1, L, 1) * w  # [B, N, L(j), C]: the carried state decayed j steps

    m = torch.maximum(expo.amax(dim=3), e_state).detach()  # [B, N, L, C]
    weights = torch.exp(expo - m.unsqueeze(3))  # [B, N, L(j), L(i), C]
    es = torch.exp(e_state - m)
    num = (weights * v.unsqueeze(2)).sum(3) + es * sa
    den = weights.sum(3) + es * sb
    y = (num / den).reshape(B, N * L, C)
    return y[:, :T] if pad else y


def wkv(w, u, k, v, mode="chunked", chunk=32):
    if mode == "loop":
        return wkv_loop(w, u, k, v)
    if mode == "chunked":
        return wkv_chunked(w, u, k, v, chunk)
    raise ValueError(f"unknown WKV mode {mode!r} (chunked or loop)")
