"""A tiny procedural head for fast tests (no downloads, deterministic, ~800 vertices).

Geometry: a deformed latitude-longitude ellipsoid (pole on top, +z = face side, nose bump, mouth dent,
open at the bottom of a short neck) plus two small eyeball spheres. It has the skinned-head layout of
FLAME (``skinned.SkinnedHead``): 8 identity modes, 12 ARKit-named expression shapes, a jaw, a neck and two
eye joints. UVs are one square chart in [0, 1]^2 without overlaps: the head's lat-long grid fills
v in [0.25, 1] (u = longitude, seam at the back), the two eyeballs sit in [0, 0.25]^2 and
[0.25, 0.5] x [0, 0.25]. Every region of ``base.REGION_NAMES`` except teeth and other is labelled.
"""

from __future__ import annotations

import functools

import numpy as np

from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.head.landmarks68 import EYE_X, EYE_Y, MOUTH_Y, canonical_68
from dejavu_cli.head.skinned import SkinnedHead

EXPRESSIONS = ["jawOpen", "mouthSmile_L", "mouthSmile_R", "eyeBlink_L", "eyeBlink_R", "browInnerUp",
               "mouthFunnel", "browDown_L", "mouthPucker", "mouthStretch_L", "mouthStretch_R", "cheekPuff"]
N_LAT, N_LON, THETA_MAX = 26, 36, np.deg2rad(160.0)
NECK = np.deg2rad(132.0)  # latitude where the neck starts
RADII = np.array([0.075, 0.10, 0.09])  # x, y, z semi-axes of the skull, metres
EYE_R = 0.012


def _latlong(n_rows: int, n_cols: int, theta_max: float, bottom_pole: bool, warp: float = 0.0):
    """Lat-long grid: (theta, phi) per vertex, faces, uv [T,2] in [0,1]^2, uv_faces (pole copies per column)."""
    thetas = np.linspace(0, theta_max, n_rows + 1)[1:]
    s = np.linspace(-np.pi, np.pi, n_cols, endpoint=False)
    phis = s - warp * np.sin(s)  # denser columns at the front (phi = 0)
    tp = [(0.0, 0.0)] + [(t, p) for t in thetas for p in phis]
    ring = lambda r, c: 1 + r * n_cols + (c % n_cols)  # noqa: E731
    faces, uv_faces = [], []
    uv = [((c + 0.5) / n_cols, 1.0) for c in range(n_cols)]  # top pole copies
    uvring = lambda r, c: n_cols + r * (n_cols + 1) + c  # noqa: E731
    for r in range(n_rows):
        for c in range(n_cols + 1):
            uv.append((c / n_cols, 1.0 - (r + 1) / (n_rows + (1 if bottom_pole else 0))))
    for c in range(n_cols):
        faces.append((0, ring(0, c + 1), ring(0, c)))
        uv_faces.append((c, uvring(0, c + 1), uvring(0, c)))
    for r in range(n_rows - 1):
        for c in range(n_cols):
            a, b, d, e = ring(r, c), ring(r, c + 1), ring(r + 1, c), ring(r + 1, c + 1)
            ua, ub, ud, ue = uvring(r, c), uvring(r, c + 1), uvring(r + 1, c), uvring(r + 1, c + 1)
            faces += [(a, b, d), (b, e, d)]
            uv_faces += [(ua, ub, ud), (ub, ue, ud)]
    if bottom_pole:
        tp.append((np.pi, 0.0))
        first = len(uv)
        uv += [((c + 0.5) / n_cols, 0.0) for c in range(n_cols)]
        for c in range(n_cols):
            faces.append((len(tp) - 1, ring(n_rows - 1, c), ring(n_rows - 1, c + 1)))
            uv_faces.append((first + c, uvring(n_rows - 1, c), uvring(n_rows - 1, c + 1)))
    return np.array(tp), np.array(faces), np.array(uv, np.float64), np.array(uv_faces)


def _orient_outward(verts, faces, uv_faces, centre):
    """Flip triangles whose normal points towards ``centre`` (counter-clockwise seen from outside)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    n = np.cross(b - a, c - a)
    flip = ((n * ((a + b + c) / 3 - centre)).sum(1)) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    uv_faces[flip] = uv_faces[flip][:, [0, 2, 1]]
    return faces, uv_faces


def _gauss(p, centre, sigma):
    return np.exp(-((p - centre) ** 2).sum(-1) / (2 * sigma ** 2))


@functools.lru_cache(maxsize=1)
def build_test_head() -> dict[str, np.ndarray]:
    """Arrays of the test head in the ``skinned.ARRAYS`` layout (deterministic)."""
    tp, faces, uv, uv_faces = _latlong(N_LAT, N_LON, THETA_MAX, bottom_pole=False, warp=0.55)
    th, ph = tp[:, 0], tp[:, 1]
    unit = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], 1)
    head = unit * RADII
    neck = th > NECK
    shrink = np.clip((th - NECK) / (THETA_MAX - NECK), 0, 1)
    head[:, [0, 2]] *= (1 - 0.45 * shrink)[:, None]
    head[:, 1] -= 0.06 * shrink
    head += unit * (0.018 * _gauss(head, np.array([0, 0.01, 0.09]), 0.013))[:, None]  # nose
    mouth_c = np.array([0, MOUTH_Y, 0.085])
    mouth_v = (np.abs(head[:, 0]) < 0.022) & (np.abs(head[:, 1] - MOUTH_Y) < 0.007) & (head[:, 2] > 0.04)
    head[mouth_v, 2] -= 0.01  # mouth socket: a dent behind the lips
    faces, uv_faces = _orient_outward(head, faces, uv_faces, np.array([0, -0.01, 0]))
    uv[:, 1] = 0.25 + 0.75 * uv[:, 1]
    verts, all_f, all_uv, all_uvf = [head], [faces], [uv], [uv_faces]
    region_v = [np.full(len(head), -1)]
    for k, sx in enumerate((1, -1)):  # left eye (+x) first, then right
        etp, ef, euv, euvf = _latlong(5, 8, np.pi, bottom_pole=True)
        eu = np.stack([np.sin(etp[:, 0]) * np.sin(etp[:, 1]), np.sin(etp[:, 0]) * np.cos(etp[:, 1]),
                       np.cos(etp[:, 0])], 1)  # pole axis = +z (pupil)
        centre = np.array([sx * EYE_X, EYE_Y, 0.068])
        ev = centre + EYE_R * eu
        ef, euvf = _orient_outward(ev, ef, euvf, centre)
        tri = euv[euvf]
        if np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).sum() < 0:  # keep UVs counter-clockwise
            euv[:, 0] = 1 - euv[:, 0]
        n_before = sum(len(v) for v in verts)
        t_before = sum(len(u) for u in all_uv)
        verts.append(ev)
        all_f.append(ef + n_before)
        all_uv.append(euv * 0.24 + [0.005 + 0.25 * k, 0.005])
        all_uvf.append(euvf + t_before)
        region_v.append(np.full(len(ev), 4 + k))  # marker 4 = left eye, 5 = right eye
    V = np.concatenate(verts)
    F = np.concatenate(all_f)
    UV = np.concatenate(all_uv)
    UVF = np.concatenate(all_uvf)
    vmark = np.concatenate(region_v)
    nv = len(head)

    # regions per face (from the head's parameterisation at the face centroid)
    th_f = th[np.minimum(F, nv - 1)].mean(1)
    ph_f = np.angle(np.exp(1j * ph[np.minimum(F, nv - 1)]).mean(1))
    region = np.full(len(F), REGION_NAMES.index("scalp"))
    front = (np.cos(ph_f) > 0.35) & (th_f > np.deg2rad(30)) & (th_f < NECK)
    region[front] = REGION_NAMES.index("face")
    ears = (np.abs(np.sin(ph_f)) > 0.93) & (th_f > np.deg2rad(75)) & (th_f < np.deg2rad(105))
    region[ears] = REGION_NAMES.index("ears")
    region[th_f > NECK] = REGION_NAMES.index("neck")
    region[mouth_v[np.minimum(F, nv - 1)].all(1) & (F < nv).all(1)] = REGION_NAMES.index("mouth")
    region[(F >= nv).any(1)] = REGION_NAMES.index("eyeballs")

    # landmarks: greedy unique nearest front vertex to each 2D target (front view)
    cand = np.where((head[:, 2] > 0.02) & ~neck)[0]
    lm, taken = [], set()
    for x, y in canonical_68():
        order = cand[np.argsort(((V[cand, :2] - [x, y]) ** 2).sum(1))]
        pick = next(i for i in order if i not in taken)
        taken.add(pick)
        lm.append(pick)

    # skinning: joints global, neck, jaw, eye L, eye R
    J = np.zeros((5, len(V)))
    J[0, :nv] = neck
    ring_lo = np.where(np.abs(th - NECK) < np.deg2rad(4))[0]
    J[1, ring_lo] = 1
    jaw_pivot = np.where((np.abs(th - np.deg2rad(95)) < np.deg2rad(8)) & (np.abs(np.sin(ph)) > 0.85))[0]
    J[2, jaw_pivot] = 1
    J[3, vmark == 4] = 1
    J[4, vmark == 5] = 1
    J /= J.sum(1, keepdims=True)
    W = np.zeros((len(V), 5))
    lower = np.clip((-0.005 - V[:, 1]) / 0.025, 0, 1) * np.clip(V[:, 2] / 0.04, 0, 1)
    lower[np.arange(len(V)) >= nv] = 0
    neckw = np.zeros(len(V))
    neckw[:nv] = np.clip((th - NECK) / np.deg2rad(20), 0, 1)
    W[:, 2] = lower * (1 - neckw)
    W[:, 0] = neckw
    W[:, 1] = 1 - W[:, 0] - W[:, 2]
    W[vmark == 4] = [0, 0, 0, 1, 0]
    W[vmark == 5] = [0, 0, 0, 0, 1]

    # identity: smooth radial fields (4 mm); expressions: local Gaussian displacements
    x, y, z = (V / RADII).T
    fields = [x, y, z, x * y, y * z, x * z, x ** 2 - z ** 2, y ** 2 - 0.5]
    radial = V / np.linalg.norm(V, axis=1, keepdims=True)
    shape = np.stack([(0.004 * f)[:, None] * radial for f in fields]).reshape(len(fields), -1)
    lmv = V[np.array(lm)]

    def local(centre, sigma, disp):
        return _gauss(V, centre, sigma)[:, None] * np.asarray(disp)[None] * (np.arange(len(V)) < nv)[:, None]

    mouth_l, mouth_r, chin = lmv[54], lmv[48], lmv[8]
    exprs = [
        local(chin, 0.035, [0, -0.012, 0]),
        local(mouth_l, 0.012, [0.004, 0.005, -0.002]),
        local(mouth_r, 0.012, [-0.004, 0.005, -0.002]),
        local(lmv[43:45].mean(0), 0.006, [0, -0.004, 0]),
        local(lmv[37:39].mean(0), 0.006, [0, -0.004, 0]),
        local(lmv[27] + [0, 0.02, 0], 0.012, [0, 0.005, 0]),
        local(mouth_c, 0.015, [0, 0, 0.006]),
        local(lmv[24], 0.01, [0, -0.004, 0]),
        local(mouth_c, 0.012, [0, 0, 0.008]),
        local(mouth_l, 0.015, [0.006, -0.003, 0]),
        local(mouth_r, 0.015, [-0.006, -0.003, 0]),
        local(lmv[[3, 13]].mean(0) * [0, 1, 1], 0.05, [0, 0, 0.002]) + local(lmv[3], 0.015, [-0.006, 0, 0])
        + local(lmv[13], 0.015, [0.006, 0, 0]),
    ]
    expr = np.stack(exprs).reshape(len(exprs), -1)
    return {
        "template": V.astype(np.float32), "faces": F.astype(np.int64), "uv": UV.astype(np.float32),
        "uv_faces": UVF.astype(np.int64), "face_region": region.astype(np.int64),
        "landmarks68": np.array(lm, np.int64), "shape_basis": shape.astype(np.float32),
        "expr_basis": expr.astype(np.float32), "posedirs": np.zeros((36, V.size), np.float32),
        "J_regressor": J.astype(np.float32), "weights": W.astype(np.float32),
        "parents": np.array([-1, 0, 1, 1, 1]), "expression_names": np.array(EXPRESSIONS),
        "blend_drivers": np.arange(10),
    }


def load_test_head(device="cpu"):
    return SkinnedHead(build_test_head(), name="test", device=device)
