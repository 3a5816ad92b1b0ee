"""The CPU rasterizer built on the compiled kernels of :mod:`cpu_kernel` (CPU tensors only).

Same contract and results as :func:`torch_raster.rasterize` (its readable twin and test oracle):
projection stays in PyTorch (plain autograd, shared with the torch path), binning and compositing run in
numba. Gradients reach means, quats, scales, opacities and colours through the projection's autograd.

The first call in a process compiles the kernels or loads them from numba's cache; a compile (first run on a
machine, or after an upgrade) is announced with one line on stderr.
"""

from __future__ import annotations

import functools
import os
import sys

import numba
import numpy as np
import torch

from . import cpu_kernel
from .project import Projected, project_gaussians, tile_grid
from .torch_raster import untile

#: Tile edge of the kernel path. Each Gaussian visits only the pixels of its own box, so the tile size only
#: trades list length against the number of lists; 16 (gsplat's) measured fastest (docs/rendering.md).
KERNEL_TILE = 16

_KERNELS = (cpu_kernel.bin_tiles, cpu_kernel.composite_forward, cpu_kernel.composite_backward)


def _cached_on_disk() -> bool:
    """Whether numba's cache already holds the kernels (so the first call loads rather than compiles)."""
    try:  # numba keeps one index file per cached function; the attribute is internal, hence the guard
        return all(os.path.exists(k._cache._cache_file._index_path) for k in _KERNELS)
    except AttributeError:
        return False


@functools.cache
def _announce_compile() -> None:
    """Print one status line before the first compile in this process (nothing when the cache is warm)."""
    if not _cached_on_disk():
        print("compiling dejavu's CPU rasterizer kernel (first run only, about 10 s; cached afterwards)...",
              file=sys.stderr, flush=True)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class _KernelComposite(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xy, conic, opac, feat, radii, ids, offsets, geom):
        geom = (*geom, numba.get_num_threads())     # tiles_x, tiles_per_image, tile, threads
        arrays = tuple(_np(t) for t in (xy, conic, opac, feat, radii, ids, offsets))
        accum, T, last = cpu_kernel.composite_forward(*arrays, *geom)
        ctx.arrays, ctx.geom, ctx.out, ctx.dtype = arrays, geom, (accum, T, last), feat.dtype
        return torch.from_numpy(accum), torch.from_numpy(T)

    @staticmethod
    def backward(ctx, g_accum, g_T):
        accum, T, last = ctx.out
        g_accum = np.zeros_like(accum) if g_accum is None else _np(g_accum.to(ctx.dtype))
        g_T = np.zeros_like(T) if g_T is None else _np(g_T.to(ctx.dtype))
        grads = cpu_kernel.composite_backward(*ctx.arrays, *ctx.geom, accum, T, last, g_accum, g_T)
        return (*(torch.from_numpy(g) for g in grads), None, None, None, None)


def rasterize_kernel(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
                     near: float = 0.01, far: float = 1e10, eps2d: float = 0.3, tile: int = KERNEL_TILE,
                     stats: dict | None = None):
    """Drop-in for :func:`torch_raster.rasterize` on CPU tensors: ``(feat [B, H, W, D+1], alpha [B, H, W, 1])``
    with the alpha-weighted depth as the last feature channel."""
    torch.set_flush_denormal(True)
    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height, near, far, eps2d)
    return rasterize_projected_kernel(proj, opacities, colors, width, height, tile=tile, stats=stats)


def rasterize_projected_kernel(proj: Projected, opacities, colors, width: int, height: int,
                               tile: int = KERNEL_TILE, stats: dict | None = None):
    """Bin and composite already projected Gaussians [B, N] with the kernels (see :func:`rasterize_kernel`)."""
    _announce_compile()
    B, N = opacities.shape[:2]
    tx, ty = tile_grid(width, height, tile)
    xy = proj.means2d.reshape(B * N, 2)
    radii = proj.radii.reshape(B * N, 2)
    with torch.no_grad():
        vis = proj.visible.reshape(-1).nonzero().squeeze(1)
        order = vis[torch.argsort(proj.depths.detach().reshape(-1)[vis], stable=True)]
    ids, offsets = cpu_kernel.bin_tiles(_np(xy), _np(radii), _np(order), B, N, tx, ty, tile)
    if stats is not None:
        stats["intersections"] = int(ids.shape[0])
        stats["visible"] = int(proj.visible.sum())
    feat = torch.cat([colors, proj.depths[..., None]], -1).reshape(B * N, -1)
    accum, T = _KernelComposite.apply(xy, proj.conics.reshape(B * N, 3), opacities.reshape(B * N), feat,
                                      radii, torch.from_numpy(ids), torch.from_numpy(offsets),
                                      (tx, tx * ty, tile))
    out = untile(accum, B, tx, ty, width, height, tile)
    alpha = 1 - untile(T[..., None], B, tx, ty, width, height, tile)
    return out, alpha
