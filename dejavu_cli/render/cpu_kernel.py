"""Compiled CPU kernels (numba) for tile binning and front-to-back compositing, forward and backward.

The same function as the PyTorch path (``tiles.bin_tiles`` then ``composite.composite``), written as the
loops gsplat's CUDA kernels run, because no maintained library ships a CPU Gaussian rasterizer with a
backward: per tile a depth-sorted list, per pixel front-to-back compositing with the exclusive stop at
``T <= 1e-4``, and a hand-written backward that walks the list again front to back. Every Gaussian only
visits the pixels inside its own screen-space box (the opacity-aware ``radii`` of the projection, which holds
every pixel where alpha can reach 1/255), so the cost follows the covered area, not the tile's.

Threads: ``prange`` over ``n_threads`` (``numba.get_num_threads()``, passed in so the kernels stay
cacheable); thread ``k`` takes tiles ``k, k + n, k + 2n, ...``
(interleaved, so a dense face region is shared) and accumulates per-Gaussian gradients in its own buffer,
summed at the end: no atomics and the result does not depend on scheduling. Arithmetic is float64 inside
the loops whatever the input dtype (outputs take the inputs' dtype).

Compiled on first use and cached by numba (``cache=True``: ``__pycache__`` beside this file when writable,
else numba's user cache directory; ``NUMBA_CACHE_DIR`` overrides). The readable twin is the PyTorch path.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit, prange

# numpy computes its float limits lazily and warns when that first happens under flush-to-zero (which the
# rasterizers switch on): compute them now, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    np.finfo(np.float32), np.finfo(np.float64)

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4


@njit(cache=True)
def _box(mx, my, rx, ry, ox, oy, tile):
    """Pixels (x0, x1, y0, y1), inclusive and clipped to the tile at (ox, oy), whose centres lie in the box
    ``|x + 0.5 - mx| <= rx`` (with a hair of slack for rounding; the alpha test decides exactly)."""
    x0 = max(ox, int(math.ceil(mx - rx - 0.5 - 1e-3)))
    x1 = min(ox + tile - 1, int(math.floor(mx + rx - 0.5 + 1e-3)))
    y0 = max(oy, int(math.ceil(my - ry - 0.5 - 1e-3)))
    y1 = min(oy + tile - 1, int(math.floor(my + ry - 0.5 + 1e-3)))
    return x0, x1, y0, y1


@njit(cache=True)
def bin_tiles(means2d, radii, order, n_images, n_per_image, tiles_x, tiles_y, tile):
    """Tile lists of flat Gaussians (M = B * N): ``order`` [V] lists the visible ones front to back (a stable
    sort by depth); returns ``(gauss_ids [I], offsets [B * tiles + 1])`` sorted by (image, tile, depth), the
    rule of ``tiles.bin_tiles``, by a counting sort that keeps the depth order inside every tile."""
    M = means2d.shape[0]
    per_image = tiles_x * tiles_y
    box = np.zeros((M, 4), np.int64)
    counts = np.zeros(n_images * per_image + 1, np.int64)
    for g in order:
        x0 = min(max(int(math.floor((means2d[g, 0] - radii[g, 0]) / tile)), 0), tiles_x)
        x1 = min(max(int(math.ceil((means2d[g, 0] + radii[g, 0]) / tile)), 0), tiles_x)
        y0 = min(max(int(math.floor((means2d[g, 1] - radii[g, 1]) / tile)), 0), tiles_y)
        y1 = min(max(int(math.ceil((means2d[g, 1] + radii[g, 1]) / tile)), 0), tiles_y)
        box[g, 0], box[g, 1], box[g, 2], box[g, 3] = x0, x1, y0, y1
        base = (g // n_per_image) * per_image
        for ty in range(y0, y1):
            for tx in range(x0, x1):
                counts[base + ty * tiles_x + tx + 1] += 1
    offsets = np.cumsum(counts)
    cursor = offsets[:-1].copy()
    ids = np.empty(offsets[-1], np.int64)
    for g in order:
        base = (g // n_per_image) * per_image
        for ty in range(box[g, 2], box[g, 3]):
            for tx in range(box[g, 0], box[g, 1]):
                t = base + ty * tiles_x + tx
                ids[cursor[t]] = g
                cursor[t] += 1
    return ids, offsets


@njit(cache=True, parallel=True)
def composite_forward(xy, conic, opac, feat, radii, ids, offsets, tiles_x, tiles_per_image, tile, n_threads):
    """Per-Gaussian inputs (xy [M, 2], conic [M, 3], opac [M], feat [M, D], radii [M, 2]) and tile lists
    (ids [I], offsets [tiles + 1]); returns accum [tiles, P, D], T [tiles, P] and last [tiles, P] (entries of
    the tile's list a pixel consumed: the position of its exclusive stop, or the whole list)."""
    n_tiles, P, D = offsets.shape[0] - 1, tile * tile, feat.shape[1]
    accum = np.zeros((n_tiles, P, D), feat.dtype)
    T_out = np.ones((n_tiles, P), feat.dtype)
    last = np.zeros((n_tiles, P), np.int32)
    for k in prange(n_threads):
        T = np.empty(P)
        acc = np.empty((P, D))
        stop = np.empty(P, np.int64)
        for t in range(k, n_tiles, n_threads):
            s, e = offsets[t], offsets[t + 1]
            if s == e:
                continue
            tt = t % tiles_per_image
            ox, oy = (tt % tiles_x) * tile, (tt // tiles_x) * tile
            T[:] = 1.0
            acc[:] = 0.0
            stop[:] = e - s
            live = P
            for i in range(s, e):
                g = ids[i]
                mx, my, o = xy[g, 0], xy[g, 1], opac[g]
                a, b, c = conic[g, 0], conic[g, 1], conic[g, 2]
                x0, x1, y0, y1 = _box(mx, my, radii[g, 0], radii[g, 1], ox, oy, tile)
                lim = math.log(255.0 * o) + 1e-6           # sigma beyond this: alpha < 1/255, skip the exp
                for py in range(y0, y1 + 1):
                    dy = my - (py + 0.5)
                    for px in range(x0, x1 + 1):
                        p = (py - oy) * tile + (px - ox)
                        if stop[p] < e - s:
                            continue
                        dx = mx - (px + 0.5)
                        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                        if sigma < 0.0 or sigma > lim:
                            continue
                        alpha = min(ALPHA_MAX, o * math.exp(-sigma))
                        if alpha < ALPHA_MIN:
                            continue
                        nt = T[p] * (1.0 - alpha)
                        if nt <= T_MIN:
                            stop[p] = i - s
                            live -= 1
                            continue
                        w = alpha * T[p]
                        for d in range(D):
                            acc[p, d] += w * feat[g, d]
                        T[p] = nt
                if live == 0:
                    break
            for p in range(P):
                T_out[t, p] = T[p]
                last[t, p] = stop[p]
                for d in range(D):
                    accum[t, p, d] = acc[p, d]
    return accum, T_out, last


@njit(cache=True, parallel=True)
def composite_backward(xy, conic, opac, feat, radii, ids, offsets, tiles_x, tiles_per_image, tile,
                       n_threads, accum, T_out, last, g_accum, g_T):
    """Gradients of :func:`composite_forward` given dL/daccum [tiles, P, D] and dL/dT [tiles, P]; returns
    per-Gaussian ``(g_xy [M, 2], g_conic [M, 3], g_opac [M], g_feat [M, D])``.

    Per pixel, walking front to back with ``w_i = a_i T_i`` and ``prefix_i = sum_{j<=i} w_j g.f_j``:
    ``dL/df_i = w_i g``, ``dL/da_i = T_i g.f_i - (g.accum - prefix_i + gT T_final) / (1 - a_i)``; then
    ``a = min(0.999, o exp(-sigma))`` (no gradient where clamped) and
    ``sigma = (a dx^2 + c dy^2) / 2 + b dx dy`` with ``(dx, dy) = mean - pixel centre``."""
    n_tiles, P, D = offsets.shape[0] - 1, tile * tile, feat.shape[1]
    M = xy.shape[0]
    buf = np.zeros((n_threads, M, 6 + D))          # per thread: mx, my, a, b, c, opacity, f_0 .. f_D-1
    for k in prange(n_threads):
        T = np.empty(P)
        prefix = np.empty(P)
        total = np.empty(P)
        tail = np.empty(P)
        gl = np.empty(6 + D)
        for t in range(k, n_tiles, n_threads):
            s = offsets[t]
            span = 0
            for p in range(P):
                span = max(span, last[t, p])
            if span == 0:
                continue
            tt = t % tiles_per_image
            ox, oy = (tt % tiles_x) * tile, (tt // tiles_x) * tile
            for p in range(P):
                T[p] = 1.0
                prefix[p] = 0.0
                tot = 0.0
                for d in range(D):
                    tot += g_accum[t, p, d] * accum[t, p, d]
                total[p] = tot
                tail[p] = g_T[t, p] * T_out[t, p]
            for i in range(s, s + span):
                g = ids[i]
                mx, my, o = xy[g, 0], xy[g, 1], opac[g]
                a, b, c = conic[g, 0], conic[g, 1], conic[g, 2]
                x0, x1, y0, y1 = _box(mx, my, radii[g, 0], radii[g, 1], ox, oy, tile)
                lim = math.log(255.0 * o) + 1e-6           # sigma beyond this: alpha < 1/255, skip the exp
                gl[:] = 0.0
                hit = False
                for py in range(y0, y1 + 1):
                    dy = my - (py + 0.5)
                    for px in range(x0, x1 + 1):
                        p = (py - oy) * tile + (px - ox)
                        if i - s >= last[t, p]:
                            continue
                        dx = mx - (px + 0.5)
                        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                        if sigma < 0.0 or sigma > lim:
                            continue
                        raw = o * math.exp(-sigma)
                        alpha = min(ALPHA_MAX, raw)
                        if alpha < ALPHA_MIN:
                            continue
                        hit = True
                        w = alpha * T[p]
                        gf = 0.0
                        for d in range(D):
                            gf += g_accum[t, p, d] * feat[g, d]
                            gl[6 + d] += w * g_accum[t, p, d]
                        prefix[p] += w * gf
                        g_alpha = T[p] * gf - (total[p] - prefix[p] + tail[p]) / (1.0 - alpha)
                        if raw < ALPHA_MAX:
                            gs = -g_alpha * alpha                    # dL/dsigma
                            gl[0] += gs * (a * dx + b * dy)
                            gl[1] += gs * (b * dx + c * dy)
                            gl[2] += gs * 0.5 * dx * dx
                            gl[3] += gs * dx * dy
                            gl[4] += gs * 0.5 * dy * dy
                            gl[5] += g_alpha * alpha / o
                        T[p] *= 1.0 - alpha
                if hit:
                    for j in range(6 + D):
                        buf[k, g, j] += gl[j]
    out = buf.sum(axis=0).astype(feat.dtype)
    return (np.ascontiguousarray(out[:, 0:2]), np.ascontiguousarray(out[:, 2:5]), out[:, 5].copy(),
            np.ascontiguousarray(out[:, 6:]))
