"""Rasterize a UV-space triangle mesh onto texel centres, once, vectorized (pure numpy functions).

Texel convention (docs/conventions.md#uv, the official code's): texel (row r, col c) of an ``S x S`` map
has its centre at ``u = (c + 0.5) / S``, ``v = 1 - (r + 0.5) / S`` (v up, row 0 at the top). Every
triangle only tests the texel centres inside its bounding box, so the cost is proportional to the
covered area, not to ``F * S * S``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Barycentric slack for "on the triangle": texel centres exactly on a shared edge belong to one side.
EDGE_EPS = 1e-9
#: A texel counts as covered by two triangles only when it is this far *inside* both (overlap test).
INSIDE_EPS = 1e-4


@dataclass
class UVRaster:
    """Per-texel result of :func:`rasterize`, flat row-major over ``size * size`` texels.

    face     [S*S]    int64   index into the given triangles, -1 where uncovered
    bary     [S*S, 3] float64 barycentric coordinates of the texel centre in that triangle
    overlap  [S*S]    int64   number of triangles that hold the texel centre strictly inside
    """

    size: int
    face: np.ndarray
    bary: np.ndarray
    overlap: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """Bool [S*S]: texels covered by some triangle."""
        return self.face >= 0


def texel_to_uv(rows: np.ndarray, cols: np.ndarray, size: int) -> np.ndarray:
    """UV [..., 2] of texel centres (row, col) of an ``size x size`` map."""
    return np.stack([(cols + 0.5) / size, 1.0 - (rows + 0.5) / size], -1)


def uv_to_pixel(uv: np.ndarray, size: int) -> np.ndarray:
    """Continuous (x, y) pixel coordinates [..., 2] of UV points; texel centres land on ``k + 0.5``."""
    return np.stack([uv[..., 0] * size, (1.0 - uv[..., 1]) * size], -1)


def _candidates(px: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (triangle, row, col) pairs whose texel centre lies in the triangle's bounding box.

    px [F, 3, 2] pixel-space corners. Returns tri [K], row [K], col [K].
    """
    lo = np.clip(np.ceil(px.min(1) - 0.5), 0, size).astype(np.int64)        # first centre >= min
    hi = np.clip(np.floor(px.max(1) - 0.5), -1, size - 1).astype(np.int64)  # last centre <= max
    w = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0)
    h = np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    n = w * h
    tri = np.repeat(np.arange(len(px)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(len(tri)) - start                                          # index inside the bbox
    wk = np.maximum(w[tri], 1)
    col = lo[tri, 0] + k % wk
    row = lo[tri, 1] + k // wk
    return tri, row, col


def barycentric(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Barycentric coordinates [K, 3] of 2D points p [K, 2] in triangles (a, b, c) [K, 2] each.

    Degenerate triangles give NaN (and so never contain a point).
    """
    v0, v1, v2 = b - a, c - a, p - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
        l2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
        return np.stack([1.0 - l1 - l2, l1, l2], -1)


def rasterize(uv: np.ndarray, uv_faces: np.ndarray, size: int) -> UVRaster:
    """Assign every texel centre of an ``size x size`` map to the UV triangle that contains it.

    uv [T, 2] UV coordinates (v up); uv_faces [F, 3] corner indices into ``uv``.
    A texel centre inside several triangles (a shared edge, or a real overlap) goes to the one where it
    lies deepest (largest minimum barycentric), ties to the lowest triangle index; ``overlap`` counts the
    triangles that hold it strictly inside, so ``overlap > 1`` flags overlapping UV islands.
    """
    S = int(size)
    uv = np.asarray(uv, dtype=np.float64)
    uv_faces = np.asarray(uv_faces, dtype=np.int64)
    px = uv_to_pixel(uv, S)[uv_faces]                                        # [F, 3, 2]
    tri, row, col = _candidates(px, S)
    p = np.stack([col + 0.5, row + 0.5], -1).astype(np.float64)
    bary = barycentric(p, px[tri, 0], px[tri, 1], px[tri, 2])
    depth = bary.min(1)
    inside = depth >= -EDGE_EPS                                              # NaN compares False
    tri, bary, depth = tri[inside], bary[inside], depth[inside]
    flat = row[inside] * S + col[inside]

    overlap = np.bincount(flat[depth > INSIDE_EPS], minlength=S * S)
    # winner per texel: sort by (texel, -depth, triangle) and keep the first of each texel
    order = np.lexsort((tri, -depth, flat))
    flat, tri, bary = flat[order], tri[order], bary[order]
    first = np.ones(len(flat), bool)
    first[1:] = flat[1:] != flat[:-1]
    face = np.full(S * S, -1, dtype=np.int64)
    out_bary = np.zeros((S * S, 3), dtype=np.float64)
    face[flat[first]] = tri[first]
    out_bary[flat[first]] = np.clip(bary[first], 0.0, 1.0)
    out_bary /= np.maximum(out_bary.sum(1, keepdims=True), 1e-12)
    return UVRaster(S, face, out_bary, overlap)
