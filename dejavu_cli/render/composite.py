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

#: pixel-Gaussian pairs evaluated at once (bounds the working memory to a few hundred MB)
PAIR_BUDGET = 1 << 21


def tile_pixels(tiles: torch.Tensor, tiles_x: int, tiles_per_image: int, tile: int,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates ``(px, py)`` [T, tile*tile] of the global tile indices ``tiles`` [T]."""
    t = tiles % tiles_per_image
    j = torch.arange(tile * tile, device=tiles.device)
    px = ((t % tiles_x) * tile)[:, None] + (j % tile)[None] + 0.5
    py = ((t // tiles_x) * tile)[:, None] + (j // tile)[None] + 0.5
    return px.to(dtype), py.to(dtype)


def _alpha(xy, conic, opac, px, py):
    """Per pixel-Gaussian ``(alpha, valid, vis, dx, dy)`` [T, P, K] for gathered chunks (xy [T, K, 2])."""
    dx = xy[:, None, :, 0] - px[:, :, None]
    dy = xy[:, None, :, 1] - py[:, :, None]
    a, b, c = conic[:, None, :, 0], conic[:, None, :, 1], conic[:, None, :, 2]
    sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
    vis = torch.exp(-sigma)
    raw = opac[:, None, :] * vis
    alpha = raw.clamp_max(ALPHA_MAX)
    valid = (sigma >= 0) & (alpha >= ALPHA_MIN)
    return alpha * valid, valid, vis, raw, dx, dy


def _exclusive_cumprod(x: torch.Tensor) -> torch.Tensor:
    cp = torch.cumprod(x, -1)
    return torch.cat([torch.ones_like(cp[..., :1]), cp[..., :-1]], -1)


def _groups(tiles: torch.Tensor, P: int, K: int):
    size = max(1, PAIR_BUDGET // (P * K))
    return tiles.split(size)


def _gather(idx, slot, xy, conic, opac, feat):
    return xy[idx], conic[idx], opac[idx] * slot, feat[idx]


class _Composite(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xy, conic, opac, feat, offsets, geom):
        tiles_x, tiles_per_image, tile, K = geom
        P, D, n_tiles = tile * tile, feat.shape[1], offsets.numel() - 1
        dev, dt = xy.device, xy.dtype
        accum = torch.zeros(n_tiles, P, D, dtype=dt, device=dev)
        T_out = torch.ones(n_tiles, P, dtype=dt, device=dev)
        last = torch.full((n_tiles, P), -1, dtype=torch.long, device=dev)
        counts = offsets[1:] - offsets[:-1]
        ar = torch.arange(K, device=dev)
        for group in _groups(counts.nonzero().squeeze(1), P, K):
            T = torch.ones(group.numel(), P, dtype=dt, device=dev)
            done = torch.zeros(group.numel(), P, dtype=torch.bool, device=dev)
            acc = torch.zeros(group.numel(), P, D, dtype=dt, device=dev)
            lst = torch.full((group.numel(), P), -1, dtype=torch.long, device=dev)
            rows = torch.arange(group.numel(), device=dev)         # rows of the group still active
            px, py = tile_pixels(group, tiles_x, tiles_per_image, tile, dt)
            c = 0
            while rows.numel():
                tl = group[rows]
                idx = offsets[tl, None] + c * K + ar                # [Ta, K]
                slot = idx < offsets[tl + 1, None]
                idx = torch.where(slot, idx, offsets[tl, None])
                g_xy, g_con, g_op, g_f = _gather(idx, slot, xy, conic, opac, feat)
                alpha, valid, _, _, _, _ = _alpha(g_xy, g_con, g_op, px[rows], py[rows])
                one_minus = 1 - alpha
                T_before = T[rows, :, None] * _exclusive_cumprod(one_minus)
                stop = valid & ~(T_before * one_minus > T_MIN)
                incl = valid & ~stop & ~done[rows, :, None]
                w = alpha * T_before * incl
                acc[rows] += torch.bmm(w, g_f)
                T[rows] = T[rows] * torch.where(incl, one_minus, torch.ones_like(one_minus)).prod(-1)
                done[rows] |= stop.any(-1)
                lst[rows] = torch.maximum(lst[rows], torch.where(incl, idx[:, None, :], -1).amax(-1))
                c += 1
                more = (offsets[tl + 1] - offsets[tl]) > c * K
                rows = rows[more & ~done[rows].all(-1)]
            accum[group], T_out[group], last[group] = acc, T, lst
        ctx.save_for_backward(xy, conic, opac, feat, offsets, accum, T_out, last)
        ctx.geom = geom
        ctx.mark_non_differentiable(last)
        return accum, T_out, last

    @staticmethod
    def backward(ctx, g_accum, g_T, _g_last):
        xy, conic, opac, feat, offsets, accum, T_out, last = ctx.saved_tensors
        tiles_x, tiles_per_image, tile, K = ctx.geom
        P, D = tile * tile, feat.shape[1]
        dev, dt = xy.device, xy.dtype
        g_accum = torch.zeros_like(accum) if g_accum is None else g_accum.contiguous()
        g_T = torch.zeros_like(T_out) if g_T is None else g_T
        v_xy, v_conic = torch.zeros_like(xy), torch.zeros_like(conic)
        v_opac, v_feat = torch.zeros_like(opac), torch.zeros_like(feat)
        end = last.amax(-1) + 1                                     # one past each tile's last used entry
        ar = torch.arange(K, device=dev)
        for group in _groups((end > 0).nonzero().squeeze(1), P, K):
            n = group.numel()
            gC, gT_all = g_accum[group], g_T[group]                 # [n, P, D], [n, P]
            total = (gC * accum[group]).sum(-1)                     # g . accum
            tail = gT_all * T_out[group]                            # gT * T_final
            lst = last[group]
            T = torch.ones(n, P, dtype=dt, device=dev)
            run = torch.zeros(n, P, dtype=dt, device=dev)            # g . prefix so far
            rows = torch.arange(n, device=dev)
            px, py = tile_pixels(group, tiles_x, tiles_per_image, tile, dt)
            c = 0
            while rows.numel():
                tl = group[rows]
                idx = offsets[tl, None] + c * K + ar
                slot = idx < end[tl, None]
                idx = torch.where(slot, idx, offsets[tl, None])
                g_xy, g_con, g_op, g_f = _gather(idx, slot, xy, conic, opac, feat)
                alpha, valid, vis, raw, dx, dy = _alpha(g_xy, g_con, g_op, px[rows], py[rows])
                incl = valid & (idx[:, None, :] <= lst[rows, :, None])
                alpha = alpha * incl
                one_minus = 1 - alpha
                T_before = T[rows, :, None] * _exclusive_cumprod(one_minus)
                w = alpha * T_before                                # [Ta, P, K]
                g = gC[rows]
                gf = torch.bmm(g, g_f.transpose(1, 2))              # g . f_k  [Ta, P, K]
                prefix = run[rows, :, None] + torch.cumsum(w * gf, -1)
                after = total[rows, :, None] - prefix
                g_alpha = incl * (T_before * gf - (after + tail[rows, :, None]) / one_minus)
                g_raw = g_alpha * (raw <= ALPHA_MAX)
                g_sig = -g_raw * raw
                sel = idx[slot]
                v_opac[sel] = (g_raw * vis).sum(1)[slot]
                v_conic[sel] = torch.stack([(g_sig * 0.5 * dx * dx).sum(1), (g_sig * dx * dy).sum(1),
                                            (g_sig * 0.5 * dy * dy).sum(1)], -1)[slot]
                a, b, cc = g_con[:, None, :, 0], g_con[:, None, :, 1], g_con[:, None, :, 2]
                v_xy[sel] = torch.stack([(g_sig * (a * dx + b * dy)).sum(1),
                                         (g_sig * (b * dx + cc * dy)).sum(1)], -1)[slot]
                v_feat[sel] = torch.bmm(w.transpose(1, 2), g)[slot]
                T[rows] = T[rows] * one_minus.prod(-1)
                run[rows] = prefix[..., -1]
                c += 1
                rows = rows[(end[tl] - offsets[tl]) > c * K]
        return v_xy, v_conic, v_opac, v_feat, None, None


def composite(xy, conic, opac, feat, offsets, tiles_x: int, tiles_per_image: int, tile: int = 16,
              chunk: int = 32):
    """Fast path. Per-intersection inputs (sorted by tile, then depth): xy [I, 2], conic [I, 3],
    opac [I], feat [I, D]; ``offsets`` [tiles + 1]. Returns accum [tiles, P, D], T [tiles, P]."""
    accum, T, _ = _Composite.apply(xy, conic, opac, feat, offsets, (tiles_x, tiles_per_image, tile, chunk))
    return accum, T


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
    alpha, valid, _, _, _, _ = _alpha(xy[idx], conic[idx], opac[idx] * slot, px, py)
    T_before = _exclusive_cumprod(1 - alpha)                               # [T, P, K]
    incl = valid & (T_before * (1 - alpha) > T_MIN)   # once T would drop to 1e-4 it stays there
    w = alpha * T_before * incl
    accum = accum.index_put((tiles,), torch.bmm(w, feat[idx]))
    T_out = T_out.index_put((tiles,), torch.where(incl, 1 - alpha, torch.ones_like(alpha)).prod(-1))
    return accum, T_out
