"""Pack UV islands into one non-overlapping square atlas (pure numpy functions).

Used for head models whose UVs are not one square map: ICT-FaceKit spreads its geometry over UDIM tiles
(u in 0..7), and its eyeballs reuse the face tile. The islands of the kept triangles are cut out, scaled
to a common texel density (times a per-region weight, so the face gets more Gaussians per cm^2 than the
mouth interior), and shelf-packed, tallest first, into the unit square with a gutter between them.
The result is deterministic: the same mesh always gives the same atlas.
"""

from __future__ import annotations

import numpy as np

from dejavu_cli.uv.raster import rasterize

#: Empty space kept around every island, as a fraction of the atlas side (~1.3 texels at 320).
GUTTER = 0.004


def uv_islands(faces: np.ndarray, uv_faces: np.ndarray) -> np.ndarray:
    """Island label [F] (0..I-1, ordered by first face) of each triangle.

    Two triangles are in one island when they share a corner with the same (vertex, UV) pair, so
    meshes that reuse UV coordinates for different geometry (left and right eyeballs) split apart.
    faces, uv_faces [F, 3] int.
    """
    F = len(faces)
    if F == 0:
        return np.zeros(0, dtype=np.int64)
    key = faces.astype(np.int64) * (int(uv_faces.max()) + 1) + uv_faces
    _, corner = np.unique(key.reshape(-1), return_inverse=True)             # corner id per (v, uv)
    corner = corner.reshape(F, 3)
    # label propagation: a face takes the min label over its corners, then labels jump to their
    # label's label, until nothing changes (a few dozen rounds for a head mesh)
    label = np.arange(F)
    n_corner = int(corner.max()) + 1
    while True:
        best = np.full(n_corner, F, dtype=np.int64)
        np.minimum.at(best, corner.reshape(-1), np.repeat(label, 3))
        new = np.minimum(best[corner].min(1), label)
        new = np.minimum(new, new[new])
        if np.array_equal(new, label):
            break
        label = new
    _, out = np.unique(label, return_inverse=True)
    return out.astype(np.int64)


def uv_charts(verts: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray,
              res: int = 256) -> np.ndarray:
    """Chart label [F]: islands that already sit side by side in the same unit UV tile stay together.

    Islands are visited largest surface (3D area) first; an island joins its tile's chart when it
    covers no texel (at ``res`` per tile, strictly inside) that the chart already covers, otherwise it
    becomes a chart of its own (ICT's eyeballs, which reuse the face tile). Keeping an artist's tile
    layout packs far tighter than packing every island's bounding box.
    """

    island = uv_islands(faces, uv_faces)
    n_isl = int(island.max()) + 1 if len(island) else 0
    area = np.bincount(island, triangle_areas(np.asarray(verts, np.float64), faces), n_isl)
    centre = np.stack([np.bincount(island, uv[uv_faces].mean(1)[:, k], n_isl) for k in (0, 1)], -1)
    centre /= np.maximum(np.bincount(island, minlength=n_isl), 1)[:, None]
    tile = np.floor(centre).astype(np.int64)
    chart = np.arange(n_isl)
    occupied: dict[tuple[int, int], tuple[int, np.ndarray]] = {}
    for i in np.lexsort((np.arange(n_isl), -area)):
        key = (int(tile[i, 0]), int(tile[i, 1]))
        local = uv - tile[i]
        occ = rasterize(local, uv_faces[island == i], res).overlap > 0
        if key not in occupied:
            occupied[key] = (i, occ)
        elif not (occupied[key][1] & occ).any():
            chart[i] = occupied[key][0]
            occupied[key] = (occupied[key][0], occupied[key][1] | occ)
    _, out = np.unique(chart[island], return_inverse=True)
    return out.astype(np.int64)


def triangle_areas(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Area [F] of triangles ``tris`` [F, 3] over 2D or 3D ``points``."""
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    e1, e2 = b - a, c - a
    if points.shape[1] == 2:
        return 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    return 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1)


def shelf_pack(sizes: np.ndarray, side: float, gutter: float) -> np.ndarray | None:
    """Lower-left corners [I, 2] of rectangles ``sizes`` [I, 2] (w, h) packed into a square of side
    ``side`` by first-fit decreasing height (each rectangle, in the given order, goes on the first shelf
    with room, else opens a new shelf), or None when they do not fit."""
    pos = np.zeros_like(sizes)
    shelves: list[list[float]] = []                                          # [y, height, next x]
    top = gutter
    for i, (w, h) in enumerate(sizes):
        for shelf in shelves:
            if shelf[2] + w + gutter <= side and h <= shelf[1]:
                break
        else:
            if top + h + gutter > side or gutter + w + gutter > side:
                return None
            shelf = [top, h, gutter]
            shelves.append(shelf)
            top += h + gutter
        pos[i] = (shelf[2], shelf[0])
        shelf[2] += w + gutter
    return pos


def pack_atlas(verts: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray,
               weight: np.ndarray, gutter: float = GUTTER) -> tuple[np.ndarray, np.ndarray]:
    """Repack the UV charts (:func:`uv_charts`) of the given triangles into the unit square.

    verts [V, 3] 3D positions (for texel density), faces [F, 3], uv [T, 2] (any range, e.g. UDIM),
    uv_faces [F, 3], weight [F] relative texel density per triangle (a chart uses its area-weighted
    mean; 1 = the common density). Returns ``(new_uv [T', 2], new_uv_faces [F, 3])`` in [0, 1]^2, v up;
    charts keep their shape (uniform scale, no rotation) and never overlap each other.
    """
    faces = np.asarray(faces, dtype=np.int64)
    uv_faces = np.asarray(uv_faces, dtype=np.int64)
    uv = np.asarray(uv, dtype=np.float64)
    island = uv_charts(verts, faces, uv, uv_faces)
    n_isl = int(island.max()) + 1 if len(island) else 0
    f3 = triangle_areas(np.asarray(verts, np.float64), faces)
    a3 = np.bincount(island, f3, n_isl)
    a2 = np.bincount(island, triangle_areas(uv, uv_faces), n_isl)
    wmean = np.bincount(island, f3 * weight, n_isl) / np.maximum(a3, 1e-30)
    scale = np.sqrt(wmean * a3 / np.maximum(a2, 1e-30))                     # UV units -> common units
    # one new UV vertex per (island, old uv index)
    key = island[:, None] * (len(uv) + 1) + uv_faces
    ukey, new_faces = np.unique(key.reshape(-1), return_inverse=True)
    new_faces = new_faces.reshape(-1, 3)
    v_isl, v_old = ukey // (len(uv) + 1), ukey % (len(uv) + 1)
    local = uv[v_old] * scale[v_isl, None]
    lo = np.full((n_isl, 2), np.inf)
    hi = np.full((n_isl, 2), -np.inf)
    np.minimum.at(lo, v_isl, local)
    np.maximum.at(hi, v_isl, local)
    local -= lo[v_isl]
    sizes = hi - lo
    # tallest first (then widest, then index) so shelves fill well; the order is deterministic
    order = np.lexsort((np.arange(n_isl), -sizes[:, 0], -sizes[:, 1]))
    total = float((sizes[:, 0] * sizes[:, 1]).sum())
    side = max(np.sqrt(total), float(sizes.max(initial=0.0)))
    for _ in range(200):
        pos = shelf_pack(sizes[order] / side, 1.0, gutter)
        if pos is not None:
            break
        side *= 1.01
    else:  # pragma: no cover - 200 x 1 % growth always fits
        raise RuntimeError("atlas packing did not converge")
    corner = np.zeros((n_isl, 2))
    corner[order] = pos
    new_uv = local / side + corner[v_isl]
    return new_uv, new_faces
