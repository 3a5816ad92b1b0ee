"""FLAME (2020, 2023, 2023 Open): convert a user-supplied pickle into ``$DEJAVU_HOME/heads/flame.npz``.

dejavu never ships or downloads FLAME (registration at flame.is.tue.mpg.de). The pickle is read with
``io.safe_pickle.restricted_load`` (no chumpy, nothing executed). The model is ``skinned.SkinnedHead``:
first 100 of 300 shape components, first 50 of 100 expression components, LBS over global (identity),
neck, jaw and both eyes. FLAME has no region labels, landmark embedding or (2020) UVs here, so they are
derived from geometry and skinning weights (docs/head-models.md#flame).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.head.landmarks68 import EYE_X, EYE_Y, canonical_68
from dejavu_cli.head.obj import read_mesh
from dejavu_cli.head.paths import head_path
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.safe_pickle import restricted_load

SCHEMA = "dejavu.head.flame/1"
N_SHAPE_TOTAL, N_SHAPE, N_EXPR = 300, 100, 50
REQUIRED = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")


def setup_flame(pkl: str | os.PathLike, uv_template: str | os.PathLike | None = None) -> Path:
    """Convert ``pkl`` (and an optional UV template OBJ) into the cached ``flame.npz``; return its path."""
    arrays = convert_flame(Path(pkl).expanduser(), Path(uv_template).expanduser() if uv_template else None)
    return save_npz_atomic(head_path("flame"), arrays)


def convert_flame(pkl: Path, uv_template: Path | None = None) -> dict[str, np.ndarray]:
    d = restricted_load(pkl, what="FLAME pickle")
    if not isinstance(d, dict):
        raise DejavuError(f"{pkl} is not a FLAME model pickle (a dict of arrays expected)")
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise DejavuError(f"{pkl} is not a FLAME model pickle: missing {', '.join(missing)}")
    try:
        v = np.asarray(d["v_template"], np.float64)
        f = np.asarray(d["f"], np.int64)
        sd = np.asarray(d["shapedirs"], np.float64)
        pd = np.asarray(d["posedirs"], np.float64)
        J = np.asarray(d["J_regressor"], np.float64)
        W = np.asarray(d["weights"], np.float64)
        kin = np.asarray(d["kintree_table"], np.int64)
    except (TypeError, ValueError) as exc:
        raise DejavuError(f"{pkl}: FLAME arrays unreadable ({exc})") from None
    V = len(v)
    ok = (v.shape == (V, 3) and f.ndim == 2 and f.shape[1] == 3 and sd.shape[:2] == (V, 3)
          and sd.shape[2] >= N_SHAPE_TOTAL + N_EXPR and pd.shape == (V, 3, 36) and J.shape == (5, V)
          and W.shape == (V, 5) and kin.shape == (2, 5) and f.min() >= 0 and f.max() < V)
    if not ok:
        raise DejavuError(f"{pkl}: unexpected FLAME array shapes (v_template {v.shape}, shapedirs {sd.shape}, "
                          f"posedirs {pd.shape}, J_regressor {J.shape}, weights {W.shape})")
    parents = kin[0].copy()
    parents[0] = -1
    if list(parents) != [-1, 0, 1, 1, 1]:
        raise DejavuError(f"{pkl}: unexpected FLAME kinematic tree {parents.tolist()}")
    joints = J @ v
    if joints[3, 0] < joints[4, 0]:  # make joint 3 the subject's left eye (+x), as HeadParams.eyes
        J, W = J[[0, 1, 2, 4, 3]], W[:, [0, 1, 2, 4, 3]]
        pd = pd.reshape(V, 3, 4, 9)[:, :, [0, 1, 3, 2]].reshape(V, 3, 36)
    shape = sd[:, :, :N_SHAPE].transpose(2, 0, 1).reshape(N_SHAPE, -1)
    expr = sd[:, :, N_SHAPE_TOTAL:N_SHAPE_TOTAL + N_EXPR].transpose(2, 0, 1).reshape(N_EXPR, -1)
    uv, uv_faces, uv_source = _uvs(d, v, f, uv_template)
    region = flame_regions(v, f, W, J @ v)
    landmarks = flame_landmarks(v, f, W, region)
    return {
        "schema": np.array(SCHEMA), "uv_source": np.array(uv_source),
        "counts": np.array([V, N_SHAPE, N_EXPR], np.int64),
        "template": v.astype(np.float32), "faces": f.astype(np.int32), "uv": uv.astype(np.float32),
        "uv_faces": uv_faces.astype(np.int32), "face_region": region.astype(np.int8),
        "landmarks68": landmarks.astype(np.int32), "shape_basis": shape.astype(np.float32),
        "expr_basis": expr.astype(np.float32), "posedirs": pd.reshape(-1, 36).T.astype(np.float32),
        "J_regressor": J.astype(np.float32), "weights": W.astype(np.float32), "parents": parents,
        "expression_names": np.array([f"exp{i:02d}" for i in range(N_EXPR)]),
        # the paper's v1.0 blend weights: softmax over the first 10 FLAME expression coefficients
        "blend_drivers": np.arange(10, dtype=np.int32),
    }


def _uvs(d: dict, v: np.ndarray, f: np.ndarray, uv_template: Path | None):
    if uv_template is not None:

        if not uv_template.is_file():
            raise DejavuError(f"UV template not found: {uv_template}")
        mesh = read_mesh(uv_template.read_bytes(), what=str(uv_template))
        if len(mesh["v"]) != len(v) or mesh["faces"].shape != f.shape or not len(mesh["vt"]):
            raise DejavuError(f"{uv_template} does not match this FLAME model ({len(mesh['v'])} vertices, "
                              f"{len(mesh['faces'])} faces, {len(mesh['vt'])} UVs; expected {len(v)}, {len(f)})")
        if not np.array_equal(np.sort(mesh["faces"], 1), np.sort(f, 1)):
            raise DejavuError(f"{uv_template}: its triangles differ from the FLAME model's")
        return _unit(mesh["vt"]), mesh["uv_faces"], "template"
    if "vt" in d and "ft" in d:
        vt, ft = np.asarray(d["vt"], np.float64), np.asarray(d["ft"], np.int64)
        if vt.ndim == 2 and vt.shape[1] == 2 and ft.shape == f.shape and ft.max() < len(vt):
            return _unit(vt), ft, "pickle"
    uv, uv_faces = derived_uv(v, f)
    return uv, uv_faces, "derived"


def _unit(vt: np.ndarray) -> np.ndarray:
    if vt.min() < -1e-6 or vt.max() > 1 + 1e-6:
        raise DejavuError("FLAME UVs outside [0, 1]^2")
    return np.clip(vt, 0, 1)


def derived_uv(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spherical UVs around the vertical (+y) axis through the head's centre, seam at the back (-z).

    u = azimuth (0.5 = the face, +z), v = 1 - polar angle / pi (1 = crown). Triangles crossing the seam get
    duplicated UV vertices shifted by one turn, then u is rescaled into [0, 1].
    """
    c = v.mean(0)
    p = v - c
    az = np.arctan2(p[:, 0], p[:, 2])  # 0 at the face, +-pi at the back
    polar = np.arccos(np.clip(p[:, 1] / (np.linalg.norm(p, axis=1) + 1e-12), -1, 1))
    u = (az + np.pi) / (2 * np.pi)
    vv = 1 - polar / np.pi
    uv = np.stack([u, vv], 1)
    uv_faces = f.copy()
    fu = u[f]
    cross = fu.max(1) - fu.min(1) > 0.5
    extra = []
    for t in np.where(cross)[0]:
        for k in range(3):
            if fu[t, k] < 0.5:
                extra.append([u[f[t, k]] + 1.0, vv[f[t, k]]])
                uv_faces[t, k] = len(uv) + len(extra) - 1
    if extra:
        uv = np.concatenate([uv, np.array(extra)])
    uv[:, 0] /= max(1.0, uv[:, 0].max())
    return uv, uv_faces


def flame_regions(v: np.ndarray, f: np.ndarray, W: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Regions from geometry and skinning (FLAME has no labels): see docs/head-models.md#flame."""
    region = np.full(len(f), REGION_NAMES.index("scalp"))
    c = v[f].mean(1)
    eye_v = W[:, 3:].sum(1) > 0.5
    jaw_v = W[:, 2] > 0.5
    y_chin = v[jaw_v, 1].min() if jaw_v.any() else joints[2, 1] - 0.07
    jaw_z = joints[2, 2]
    front = c[:, 2] > jaw_z + 0.01
    region[front] = REGION_NAMES.index("face")
    width = np.abs(v[~eye_v, 0]).max()
    ears = (np.abs(c[:, 0]) > 0.8 * width) & (np.abs(c[:, 1] - joints[2, 1]) < 0.04) & (c[:, 2] < jaw_z + 0.02)
    region[ears] = REGION_NAMES.index("ears")
    neck = (c[:, 1] < y_chin + 0.01) & ~jaw_v[f].all(1)
    region[neck] = REGION_NAMES.index("neck")
    region[eye_v[f].all(1)] = REGION_NAMES.index("eyeballs")
    return region


def flame_landmarks(v: np.ndarray, f: np.ndarray, W: np.ndarray, region: np.ndarray) -> np.ndarray:
    """68 vertex indices: a canonical iBUG layout aligned to the eyeballs, picked on the front surface.

    Approximate (no landmark embedding): the 2D layout of ``landmarks68.canonical_68`` is scaled by the
    inter-ocular distance and translated to the eyes, then each point takes the most frontal face vertex
    within 4 mm (front view), else the nearest one.
    """

    eye_l, eye_r = v[W[:, 3] > 0.5].mean(0), v[W[:, 4] > 0.5].mean(0)
    scale = (eye_l[0] - eye_r[0]) / (2 * EYE_X)
    mid = (eye_l + eye_r) / 2
    targets = (canonical_68() - [0, EYE_Y]) * scale + mid[:2]
    face_v = np.unique(f[region == REGION_NAMES.index("face")])
    face_v = face_v[v[face_v, 2] > mid[2] - 0.03]
    out = []
    for x, y in targets:
        d = np.hypot(v[face_v, 0] - x, v[face_v, 1] - y)
        near = face_v[d < 0.004]
        out.append(near[np.argmax(v[near, 2])] if len(near) else face_v[np.argmin(d)])
    return np.array(out, np.int64)
