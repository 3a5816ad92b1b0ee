"""Front-to-back alpha compositing of depth-sorted per-tile Gaussian lists.

Two implementations of the same function (``accum [tiles, P, D]``, final transmittance ``T [tiles, P]``):

* :func:`composite` -- the fast path: a :class:`torch.autograd.Function` that walks each tile's list in
  chunks of ``K`` Gaussians, drops tiles once all their pixels are saturated, and has an explicit backward
  that recomputes every chunk front to back (nothing per pixel-Gaussian pair is kept between passes).
* :func:`composite_autograd` -- the readable twin: one padded ``[tiles, P, K_max]`` tensor and plain
  autograd. Memory grows with the longest tile list; tests compare the two.

Per pixel, with Gaussians in depth order and ``T_i = prod_{j<i} (1 - a_j)`` over included Gaussians:
``accum = sum_i a_i T_i f_i``. A Gaussian is skipped when ``sigma < 0`` or ``a_i < 1/255``; the pixel stops
(exclusively) at the first Gaussian that would bring ``T`` to ``<= 1e-4`` (gsplat's rule).
Backward (``g = dL/daccum``, ``gT = dL/dT``): ``dL/df_i = a_i T_i g`` and
``dL/da_i = T_i g.f_i - (g.(accum - prefix_i) + gT T_final) / (1 - a_i)`` where ``prefix_i`` is the
accumulation up to and including ``i``.
"""

from __future__ import annotations

import torch

from .project import ALPHA_MAX, ALPHA_MIN, T_MIN

#: pixel-Gaussian pairs evaluated at once: small enough for the working set to stay in cache
PAIR_BUDGET = 1 << 18


def tile_pixels(tiles: torch.Tensor, tiles_x: int, tiles_per_image: int, tile: int,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates ``(px, py)`` [T, tile*tile] of the global tile indices ``tiles`` [T]."""
    ox, oy = tile_origins(tiles, tiles_x, tiles_per_image, tile, dtype)
    u, v = tile_offsets(tile, tiles.device, dtype)
    return ox[:, None] + u, oy[:, None] + v


def tile_origins(tiles, tiles_x: int, tiles_per_image: int, tile: int, dtype):
    """Top-left corner ``(ox, oy)`` [T] in pixels of the global tile indices ``tiles`` [T]."""
    t = tiles % tiles_per_image
    return ((t % tiles_x) * tile).to(dtype), ((t // tiles_x) * tile).to(dtype)


def tile_offsets(tile: int, device, dtype):
    """Pixel-centre offsets ``(u, v)`` [tile*tile] inside a tile (row-major), centres at +0.5."""
    j = torch.arange(tile * tile, device=device)
    return (j % tile).to(dtype) + 0.5, (j // tile).to(dtype) + 0.5


def _alpha(xy, conic, opac, px, py):
    """Readable per pixel-Gaussian ``(alpha, valid)`` [T, P, K] for gathered lists (xy [T, K, 2])."""
    dx = xy[:, None, :, 0] - px[:, :, None]
    dy = xy[:, None, :, 1] - py[:, :, None]
    a, b, c = conic[:, None, :, 0], conic[:, None, :, 1], conic[:, None, :, 2]
    sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
    alpha = (opac[:, None, :] * torch.exp(-sigma)).clamp_max(ALPHA_MAX)
    valid = (sigma >= 0) & (alpha >= ALPHA_MIN)
    return alpha * valid, valid


def _exclusive_cumprod(x: torch.Tensor) -> torch.Tensor:
    cp = torch.cumprod(x, -1)
    return torch.cat([torch.ones_like(cp[..., :1]), cp[..., :-1]], -1)


# ---- fast path -------------------------------------------------------------------------------------
# Boolean masks and short broadcast loops are slow on CPU, so the fast path works on contiguous float
# tensors: per intersection it packs the exponent  log(opacity) - sigma  as a quadratic in the pixel's
# offset (uc, vc) from its tile's centre, so one bmm  Phi [P, 6] @ coeff [6, K]  evaluates it for a
# whole chunk; thresholds use F.threshold (x if x > t else 0) and masks stay 0/1 floats.
# Packed row: [6 coefficients, a, b, c, opacity, ex, ey, f_0 .. f_{D-1}] with (ex, ey) the centre
# relative to the tile centre; one extra dummy row (exponent -1e4, alpha 0) is what padded slots read.
_A, _B, _C, _OP, _EX, _EY, _F = 6, 7, 8, 9, 10, 11, 12


def _features(tile: int, device, dtype) -> torch.Tensor:
    """Phi [P, 6] = (uc^2, uc vc, vc^2, uc, vc, 1) for the pixel centres relative to the tile centre."""
    u, v = tile_offsets(tile, device, dtype)
    u, v = u - tile / 2, v - tile / 2
    return torch.stack([u * u, u * v, v * v, u, v, torch.ones_like(u)], -1)


def _pack(xy, conic, opac, feat, offsets, tiles_x, tiles_per_image, tile):
    counts = offsets[1:] - offsets[:-1]
    tiles = torch.repeat_interleave(torch.arange(counts.numel(), device=xy.device), counts)
    ox, oy = tile_origins(tiles, tiles_x, tiles_per_image, tile, xy.dtype)
    ex, ey = xy[:, 0] - ox - tile / 2, xy[:, 1] - oy - tile / 2
    a, b, c = conic.unbind(-1)
    coeff = [-0.5 * a, -b, -0.5 * c, a * ex + b * ey, b * ex + c * ey,
             torch.log(opac) - (0.5 * a * ex * ex + b * ex * ey + 0.5 * c * ey * ey)]
    rows = torch.cat([torch.stack(coeff + [a, b, c, opac, ex, ey], 1), feat], 1)
    dummy = rows.new_zeros(1, rows.shape[1])
    dummy[0, 5], dummy[0, _OP] = -1e4, 1.0
    return torch.cat([rows, dummy]).contiguous()


def _chunk_alpha(G, phi):
    """``(alpha, raw)`` [T, P, K] for a gathered chunk G [T, K, 12+D]."""
    raw = torch.bmm(phi.expand(G.shape[0], -1, -1), G[..., :6].transpose(1, 2)).exp_()
    alpha = torch.nn.functional.threshold_(raw.clamp_max(ALPHA_MAX), _below(ALPHA_MIN, raw.dtype), 0.0)
    return alpha, raw


def _below(x: float, dtype) -> float:
    """The largest value of ``dtype`` below ``x`` (so ``y > _below(x)`` means ``y >= x``)."""
    t = torch.tensor(x, dtype=dtype)
    return float(torch.nextafter(t, torch.zeros_like(t)))


def _excl_T(one_minus, T):
    """Transmittance before each entry [T, P, K], starting from T [T, P]."""
    buf = torch.empty_like(one_minus)
    buf[..., 0] = 1
    buf[..., 1:] = one_minus[..., :-1]
    return torch.cumprod(buf, -1, out=buf).mul_(T[:, :, None])


def _chunk_index(start, count, c, K, ar, dummy):
    idx = start[:, None] + c * K + ar
    return torch.where(ar < (count - c * K)[:, None], idx, dummy)


def _forward_group(packed, start, count, phi, K, D):
    """Composite one group of tiles; returns accum [n, P, D], T [n, P], used [n, P] (entries consumed,
    i.e. the position of the exclusive stop, or all entries)."""
    n, P, dev, dt = start.numel(), phi.shape[0], packed.device, packed.dtype
    ar, dummy = torch.arange(K, device=dev), packed.shape[0] - 1
    ones_k = torch.ones(K, 1, dtype=dt, device=dev)
    acc_o = torch.zeros(n, P, D, dtype=dt, device=dev)
    T_o = torch.ones(n, P, dtype=dt, device=dev)
    used_o = torch.zeros(n, P, dtype=dt, device=dev)
    rows = torch.arange(n, device=dev)
    acc, T, used = acc_o.clone(), T_o.clone(), used_o.clone()
    live = torch.ones(n, P, dtype=dt, device=dev)                      # 0 once a pixel has stopped
    c = 0
    while rows.numel():
        G = packed[_chunk_index(start, count, c, K, ar, dummy)]          # [Ta, K, 12+D]
        alpha, _ = _chunk_alpha(G, phi)
        one_minus = 1 - alpha
        T_before = _excl_T(one_minus, T * live)
        incl = torch.nn.functional.threshold_(one_minus.mul_(T_before), T_MIN, 0.0).ceil_()  # 1: composited
        w = alpha.mul_(T_before).mul_(incl)
        acc.baddbmm_(w, G[..., _F:])
        T = T - (w @ ones_k)[..., 0]                 # sum of weights = drop in transmittance
        used += (incl @ ones_k)[..., 0]
        live = incl[..., -1]
        c += 1
        keep = (count > c * K) & (live.amax(-1) > 0)
        n_keep = int(keep.sum())
        if n_keep < 0.8 * keep.numel():        # compact lazily: finished tiles are inert (alpha = 0)
            fin = rows[~keep]
            acc_o[fin], T_o[fin], used_o[fin] = acc[~keep], T[~keep], used[~keep]
            rows, acc, T, used, live = rows[keep], acc[keep], T[keep], used[keep], live[keep]
            start, count = start[keep], count[keep]
    return acc_o, T_o, used_o


def _backward_group(packed, start, count, used, gC, total, tail, phi, K, D, grad):
    """Write per-intersection gradients of one group of tiles into ``grad`` [I+1, 6+D]: columns
    (mx, my, a, b, c, opacity, f_0 .. f_{D-1})."""
    dev, dt = packed.device, packed.dtype
    n, P = start.numel(), phi.shape[0]
    ar, dummy = torch.arange(K, device=dev), packed.shape[0] - 1
    phi_t = phi.T.contiguous()                                          # [6, P]
    T = torch.ones(n, P, dtype=dt, device=dev)
    run = torch.zeros(n, P, dtype=dt, device=dev)                       # g . prefix so far
    clamp_possible = bool((packed[:-1, _OP] > ALPHA_MAX).any())
    c = 0
    while start.numel():
        idx = _chunk_index(start, count, c, K, ar, dummy)
        G = packed[idx]
        alpha, raw = _chunk_alpha(G, phi)
        pos = (ar + c * K).to(dt)
        alpha.mul_((used[:, :, None] - pos).clamp_(0, 1))                # drop entries after the stop
        one_minus = 1 - alpha
        T_before = _excl_T(one_minus, T)
        w = alpha * T_before                                            # [Ta, P, K]
        gf = torch.bmm(gC, G[..., _F:].transpose(1, 2))                 # g . f_k
        prefix = torch.cumsum(w * gf, -1).add_(run[:, :, None])
        after = (total[:, :, None] - prefix).add_(tail[:, :, None]).div_(one_minus)
        g_raw = T_before.mul_(gf).sub_(after).mul_(alpha.sign_())        # dL/dalpha where composited
        if clamp_possible:                                              # alpha clamped: no gradient
            g_raw.mul_((ALPHA_MAX - raw).sign_().clamp_min_(0))
        nsig = g_raw.mul_(raw)                                          # -dL/dsigma
        # moments sum_p nsig * (1, uc, vc, uc^2, uc vc, vc^2) give all sums over pixels
        m = torch.bmm(phi_t.expand(G.shape[0], -1, -1), nsig)           # [Ta, 6, K]
        m2u, muv, m2v, mu, mv, m0 = m.unbind(1)
        ex, ey, a, b, cc = G[..., _EX], G[..., _EY], G[..., _A], G[..., _B], G[..., _C]
        sx, sy = ex * m0 - mu, ey * m0 - mv                              # sum nsig dx, sum nsig dy
        sxx = ex * ex * m0 - 2 * ex * mu + m2u
        sxy = ex * ey * m0 - ex * mv - ey * mu + muv
        syy = ey * ey * m0 - 2 * ey * mv + m2v
        out = torch.stack([-(a * sx + b * sy), -(b * sx + cc * sy), -0.5 * sxx, -sxy, -0.5 * syy,
                           m0 / G[..., _OP]], -1)
        flat = idx.reshape(-1)
        grad[flat, :6] = out.reshape(-1, 6)
        grad[flat, 6:] = torch.bmm(w.transpose(1, 2), gC).reshape(-1, D)
        T = T * one_minus.prod(-1)
        run = prefix[..., -1]
        c += 1
        keep = count > c * K
        n_keep = int(keep.sum())
        if n_keep < 0.8 * keep.numel():        # compact lazily: finished tiles only see padding
            if n_keep == 0:
                break
            start, count, used = start[keep], count[keep], used[keep]
            T, run, gC, total, tail = T[keep], run[keep], gC[keep], total[keep], tail[keep]


def _groups(counts: torch.Tensor, P: int, K: int):
    """Non-empty tiles in groups of similar list length, each small enough for ``PAIR_BUDGET``."""
    tiles = counts.nonzero().squeeze(1)
    tiles = tiles[torch.argsort(counts[tiles], stable=True)]
    return tiles.split(max(1, PAIR_BUDGET // (P * K)))


class _Composite(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xy, conic, opac, feat, offsets, geom):
        tiles_x, tiles_per_image, tile, K = geom
        P, D, n_tiles = tile * tile, feat.shape[1], offsets.numel() - 1
        dev, dt = xy.device, xy.dtype
        packed = _pack(xy, conic, opac, feat, offsets, tiles_x, tiles_per_image, tile)
        phi = _features(tile, dev, dt)
        accum = torch.zeros(n_tiles, P, D, dtype=dt, device=dev)
        T_out = torch.ones(n_tiles, P, dtype=dt, device=dev)
        used = torch.zeros(n_tiles, P, dtype=dt, device=dev)
        counts = offsets[1:] - offsets[:-1]
        for group in _groups(counts, P, K):
            accum[group], T_out[group], used[group] = _forward_group(
                packed, offsets[group], counts[group], phi, K, D)
        ctx.save_for_backward(packed, offsets, accum, T_out, used)
        ctx.geom = geom
        return accum, T_out

    @staticmethod
    def backward(ctx, g_accum, g_T):
        packed, offsets, accum, T_out, used = ctx.saved_tensors
        tiles_x, tiles_per_image, tile, K = ctx.geom
        P, D = tile * tile, packed.shape[1] - _F
        dev, dt = packed.device, packed.dtype
        g_accum = torch.zeros_like(accum) if g_accum is None else g_accum.contiguous()
        g_T = torch.zeros_like(T_out) if g_T is None else g_T
        phi = _features(tile, dev, dt)
        grad = torch.zeros(packed.shape[0], 6 + D, dtype=dt, device=dev)
        span = torch.minimum(used.amax(-1).long(), offsets[1:] - offsets[:-1])  # entries any pixel used
        for group in _groups(span, P, K):
            gC = g_accum[group]
            _backward_group(packed, offsets[group], span[group], used[group], gC,
                            (gC * accum[group]).sum(-1), g_T[group] * T_out[group], phi, K, D, grad)
        grad = grad[:-1]
        return grad[:, :2], grad[:, 2:5], grad[:, 5], grad[:, 6:], None, None


def composite(xy, conic, opac, feat, offsets, tiles_x: int, tiles_per_image: int, tile: int = 16,
              chunk: int = 32):
    """Fast path. Per-intersection inputs (sorted by tile, then depth): xy [I, 2], conic [I, 3],
    opac [I], feat [I, D]; ``offsets`` [tiles + 1]. Returns accum [tiles, P, D], T [tiles, P]."""
    return _Composite.apply(xy, conic, opac, feat, offsets, (tiles_x, tiles_per_image, tile, chunk))


def composite_autograd(xy, conic, opac, feat, offsets, tiles_x: int, tiles_per_image: int,
                       tile: int = 16):
    """Readable twin of :func:`composite`: every tile padded to the longest list, plain autograd."""
    P, D, n_tiles = tile * tile, feat.shape[1], offsets.numel() - 1
    counts = offsets[1:] - offsets[:-1]
    tiles = counts.nonzero().squeeze(1)
    accum = feat.new_zeros(n_tiles, P, D)
    T_out = feat.new_ones(n_tiles, P)
    if tiles.numel() == 0:
        return accum, T_out
    k_max = int(counts.max())
    idx = offsets[tiles, None] + torch.arange(k_max, device=xy.device)     # [T, K]
    slot = idx < offsets[tiles + 1, None]
    idx = torch.where(slot, idx, offsets[tiles, None])
    px, py = tile_pixels(tiles, tiles_x, tiles_per_image, tile, xy.dtype)
    alpha, valid = _alpha(xy[idx], conic[idx], opac[idx] * slot, px, py)
    T_before = _exclusive_cumprod(1 - alpha)                               # [T, P, K]
    incl = valid & (T_before * (1 - alpha) > T_MIN)   # once T would drop to 1e-4 it stays there
    w = alpha * T_before * incl
    accum = accum.index_put((tiles,), torch.bmm(w, feat[idx]))
    T_out = T_out.index_put((tiles,), torch.where(incl, 1 - alpha, torch.ones_like(alpha)).prod(-1))
    return accum, T_out
