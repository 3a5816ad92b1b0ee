"""Pure-PyTorch tile rasterizer (any device): project -> bin into 16x16 tiles -> composite.

The CPU path of the project and the oracle the gsplat backend is tested against. Differentiable w.r.t.
means, quats, scales, opacities and colors (the projection uses plain autograd; compositing uses the
explicit backward of :func:`composite.composite`, or plain autograd with ``twin=True``).
"""

from __future__ import annotations

import torch

from .composite import composite, composite_autograd
from .project import Projected, project_gaussians
from .tiles import Bins, bin_tiles

#: Tile edge of the torch path. Results do not depend on it (every pixel where alpha can reach 1/255 lies
#: in the Gaussian's box), so it is a speed knob: 8 evaluates ~3x fewer pixel-Gaussian pairs than gsplat's 16.
TILE = 8


def untile(x: torch.Tensor, B: int, tiles_x: int, tiles_y: int, width: int, height: int,
           tile: int = TILE) -> torch.Tensor:
    """[B * tiles, tile*tile, C] per-tile pixels -> [B, height, width, C] image."""
    C = x.shape[-1]
    x = x.reshape(B, tiles_y, tiles_x, tile, tile, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, tiles_y * tile, tiles_x * tile, C)[:, :height, :width]


def rasterize(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
              near: float = 0.01, far: float = 1e10, eps2d: float = 0.3, twin: bool = False,
              chunk: int = 32, tile: int = TILE, stats: dict | None = None):
    """Render [B, N] Gaussians; returns ``(feat [B, H, W, D+1], alpha [B, H, W, 1])`` where the last
    feature channel is the alpha-weighted depth and nothing is composited over a background yet.

    ``twin=True`` uses the readable plain-autograd compositor; ``stats`` (a dict) receives the
    intersection count.
    """
    if means.device.type == "cpu":
        torch.set_flush_denormal(True)
    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height, near, far, eps2d)
    return rasterize_projected(proj, opacities, colors, width, height, twin=twin, chunk=chunk, tile=tile,
                               stats=stats)


def rasterize_projected(proj: Projected, opacities, colors, width: int, height: int, twin: bool = False,
                        chunk: int = 32, tile: int = TILE, stats: dict | None = None):
    """Bin and composite already projected Gaussians (``proj`` fields [B, N, ...], opacities [B, N],
    colors [B, N, D]); returns what :func:`rasterize` returns. Any projection with our conventions works
    (tests feed gsplat's reference projection here)."""
    B, N = opacities.shape[:2]
    bins: Bins = bin_tiles(proj, width, height, tile)
    if stats is not None:
        stats["intersections"] = bins.n_isect
        stats["visible"] = int(proj.visible.sum())
    ids = bins.gauss_ids
    feat = torch.cat([colors, proj.depths[..., None]], -1).reshape(B * N, -1)
    args = (proj.means2d.reshape(B * N, 2)[ids], proj.conics.reshape(B * N, 3)[ids],
            opacities.reshape(B * N)[ids], feat[ids], bins.offsets, bins.tiles_x,
            bins.tiles_x * bins.tiles_y, tile)
    if twin:
        accum, T = composite_autograd(*args)
    else:
        accum, T = composite(*args, chunk=chunk)
    out = untile(accum, B, bins.tiles_x, bins.tiles_y, width, height, tile)
    alpha = 1 - untile(T[..., None], B, bins.tiles_x, bins.tiles_y, width, height, tile)
    return out, alpha
