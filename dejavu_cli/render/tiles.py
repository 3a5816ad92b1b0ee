"""Tile binning (vectorized): which Gaussians touch which 16x16 tile, sorted by (image, tile, depth).

The same rule as gsplat ``isect_tiles``: a Gaussian with centre ``m`` and radius ``r`` (pixels) covers
tiles ``floor((m - r) / 16) .. ceil((m + r) / 16) - 1`` on each axis, clamped to the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .project import Projected, tile_grid


@dataclass
class Bins:
    gauss_ids: torch.Tensor  # [I] flat Gaussian index (b * N + n), sorted by (image, tile, depth)
    offsets: torch.Tensor    # [B * tiles + 1] start of each tile's run in ``gauss_ids``
    tiles_x: int
    tiles_y: int
    tile: int

    @property
    def n_isect(self) -> int:
        return int(self.gauss_ids.numel())


def bin_tiles(proj: Projected, width: int, height: int, tile: int = 16) -> Bins:
    """Tile/Gaussian intersections of projected Gaussians [B, N] (see :class:`Bins`)."""
    B, N = proj.depths.shape
    tx, ty = tile_grid(width, height, tile)
    device = proj.depths.device
    with torch.no_grad():
        vis = proj.visible.reshape(-1).nonzero().squeeze(1)                  # [V] flat ids
        m = proj.means2d.detach().reshape(-1, 2)[vis]
        r = proj.radii.reshape(-1, 2)[vis].to(m.dtype)
        x0 = torch.floor((m[:, 0] - r[:, 0]) / tile).clamp(0, tx).long()
        x1 = torch.ceil((m[:, 0] + r[:, 0]) / tile).clamp(0, tx).long()
        y0 = torch.floor((m[:, 1] - r[:, 1]) / tile).clamp(0, ty).long()
        y1 = torch.ceil((m[:, 1] + r[:, 1]) / tile).clamp(0, ty).long()
        w = x1 - x0
        counts = w * (y1 - y0)                                              # [V]
        keep = counts > 0
        vis, x0, y0, w, counts = vis[keep], x0[keep], y0[keep], w[keep], counts[keep]
        V = vis.numel()
        rep = torch.repeat_interleave(torch.arange(V, device=device), counts)  # [I]
        start = torch.cumsum(counts, 0) - counts
        local = torch.arange(rep.numel(), device=device) - start[rep]
        wr = w[rep]
        image = vis[rep] // N
        tile_id = image * (tx * ty) + (y0[rep] + local // wr) * tx + (x0[rep] + local % wr)
        # depth rank of each visible Gaussian (stable), then one sort on (tile, rank)
        depth = proj.depths.detach().reshape(-1)[vis]
        rank = torch.empty_like(vis)
        rank[torch.argsort(depth, stable=True)] = torch.arange(V, device=device)
        order = torch.argsort(tile_id * max(V, 1) + rank[rep])
        gauss_ids = vis[rep][order]
        tile_sorted = tile_id[order]
        n_tiles = B * tx * ty
        counts_t = torch.bincount(tile_sorted, minlength=n_tiles)
        offsets = torch.zeros(n_tiles + 1, dtype=torch.long, device=device)
        offsets[1:] = torch.cumsum(counts_t, 0)
    return Bins(gauss_ids, offsets, tx, ty, tile)
