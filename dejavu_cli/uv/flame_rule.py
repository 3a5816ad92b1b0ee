"""The official Gaussian Deja-vu texel rule for FLAME (research notes official-code-and-tracker.md §1.3).

On FLAME's UV template (DECA's ``head_template.obj`` with the authors' inner-lip UV edits): every texel
covered by a UV triangle, minus all rows ``>= int(200 / 256 * S)`` (the neck), plus a mouth-interior
block of ``2K x 50`` texels (``K = ((S - neck_row) - 10) // 2``) at rows ``neck_row + 5 ...`` and columns
``S // 2 - 25 ...``: a funnel interpolated between the inner upper lip, an "end line" 2 cm behind the
mouth corners, and the inner lower lip. With the authors' template this gives 74,083 texels at S = 320.
The funnel's position offsets are ignored (``locked``), as in the official code.
"""

from __future__ import annotations

import numpy as np

from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.uv.raster import rasterize

N_FLAME_VERTICES = 5023
NECK_ROW_FRACTION = 200 / 256
MOUTH_WIDTH = 50
#: Inner-lip contours (FLAME vertex indices, mouth corner 1572 to mouth corner 2708) and end-line depth.
UPPER_LIP = (1572, 1594, 1595, 1746, 1747, 1742, 1739, 1665, 1666, 3514, 2783, 2782, 2854, 2857, 2862,
             2861, 2731, 2730, 2708)
LOWER_LIP = (1572, 1573, 1860, 1862, 1830, 1835, 1852, 3497, 2941, 2933, 2930, 2945, 2943, 2709, 2708)
END_LINE = (1572, 2708)
END_DEPTH = 0.02


def is_flame_template(mesh: dict) -> bool:
    """True for a mesh with FLAME's vertex count and UVs inside the unit square (the rule applies)."""
    uv = mesh["uv"][mesh["uv_faces"]]
    return len(mesh["verts"]) == N_FLAME_VERTICES and uv.min() >= 0 and uv.max() <= 1


def neck_row(S: int) -> int:
    return int(NECK_ROW_FRACTION * S)


def resample_polyline(indices, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling *by index* of a vertex polyline to ``n`` points.

    Returns vertex pairs [n, 2] and weights [n, 2] (point = w0 * v[i0] + w1 * v[i1]).
    """
    idx = np.asarray(indices, dtype=np.int64)
    x = np.linspace(0.0, len(idx) - 1, n)
    i0 = np.floor(x).astype(np.int64)
    i1 = np.minimum(i0 + 1, len(idx) - 1)
    f = x - i0
    return np.stack([idx[i0], idx[i1]], 1), np.stack([1 - f, f], 1)


def mouth_block(S: int):
    """The funnel texels: (rows [M], cols [M], vidx [M, 4], vweight [M, 4], voffset [M, 3]).

    Row ``i < K`` blends upper lip -> end line with ``t = i / K``; row ``K + j`` blends end line -> lower
    lip with ``t = (j + 1) / K`` (our reading of "rows 0..K-1 upper to end, K..2K-1 end to lower").
    """
    n0 = neck_row(S)
    K = ((S - n0) - 10) // 2
    if K <= 0:
        return (np.zeros(0, np.int64),) * 2 + (np.zeros((0, 4), np.int64), np.zeros((0, 4)), np.zeros((0, 3)))
    up_v, up_w = resample_polyline(UPPER_LIP, MOUTH_WIDTH)
    lo_v, lo_w = resample_polyline(LOWER_LIP, MOUTH_WIDTH)
    end_v, end_w = resample_polyline(END_LINE, MOUTH_WIDTH)
    rows, cols, vidx, vw, voff = [], [], [], [], []
    c0 = S // 2 - MOUTH_WIDTH // 2
    for i in range(2 * K):
        if i < K:
            (a_v, a_w), t = (up_v, up_w), i / K
        else:
            (a_v, a_w), t = (lo_v, lo_w), 1.0 - (i - K + 1) / K
        # point = (1 - t) * lip + t * end, end = corners' blend + END_DEPTH behind
        rows.append(np.full(MOUTH_WIDTH, n0 + 5 + i))
        cols.append(c0 + np.arange(MOUTH_WIDTH))
        vidx.append(np.concatenate([a_v, end_v], 1))
        vw.append(np.concatenate([(1 - t) * a_w, t * end_w], 1))
        voff.append(np.tile([0.0, 0.0, -END_DEPTH * t], (MOUTH_WIDTH, 1)))
    return (np.concatenate(rows), np.concatenate(cols), np.concatenate(vidx), np.concatenate(vw),
            np.concatenate(voff))


def flame_layout_arrays(mesh: dict, S: int):
    """(texel, face, bary, vidx, vweight, voffset, region, locked) of the official FLAME rule at ``S``."""
    ras = rasterize(mesh["uv"], mesh["uv_faces"], S)
    valid = ras.valid.reshape(S, S).copy()
    valid[neck_row(S):] = False
    texel = np.where(valid.reshape(-1))[0]
    face = ras.face[texel]
    bary = ras.bary[texel]
    vidx = np.c_[mesh["faces"][face], np.zeros(len(texel), np.int64)]
    vw = np.c_[bary, np.zeros(len(texel))]
    region = mesh["region"][face]
    rows, cols, m_vidx, m_vw, m_off = mouth_block(S)
    m_texel = rows * S + cols
    n = len(m_texel)
    texel = np.concatenate([texel, m_texel])
    order = np.argsort(texel, kind="stable")
    cat = lambda a, b: np.concatenate([a, b])[order]  # noqa: E731
    return (texel[order], cat(face, np.full(n, -1)), cat(bary, np.zeros((n, 3))), cat(vidx, m_vidx),
            cat(vw, m_vw), cat(np.zeros((len(face), 3)), m_off),
            cat(region, np.full(n, REGION_NAMES.index("mouth"))), cat(np.zeros(len(face), bool), np.ones(n, bool)))
