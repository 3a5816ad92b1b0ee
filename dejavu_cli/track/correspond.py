"""Which head-model surface point each fitted MediaPipe landmark corresponds to.

A correspondence is ``(mp_ids [L], faces [L], bary [L, 3], weights [L])``: MediaPipe point ``mp_ids[i]``
sits at the barycentric point ``bary[i]`` of triangle ``faces[i]`` of the head model.

Derived once per head model (docs/tracking.md#correspondences): the neutral head is rendered frontally
with simple Lambert shading (:mod:`dejavu_cli.track.raster`), MediaPipe's own face mesh is run on that
render, and every detected point is lifted to the triangle under it. So the fit compares MediaPipe with
MediaPipe's own definition of each point, not with a hand-made index table. MediaPipe's points are not
fixed surface points: as the head turns they slide (the face oval follows the silhouette, the nose and
cheek points drift), so the derivation is repeated on renders turned to each yaw of :data:`CALIBRATION_YAWS`
and the fit reads each frame's points at its current yaw (``Correspondence.yaw_faces``/``yaw_bary``).
The result is cached in
``$DEJAVU_HOME/heads/<name>.mediapipe.npz`` keyed by a hash of the template. When MediaPipe finds no face
on the render (e.g. the procedural test head), the model's 68 iBUG landmark vertices are used with the
usual MediaPipe-to-iBUG-68 index table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from dejavu_cli.head.pose import axis_angle_to_matrix
from dejavu_cli.home import home_subdir
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.npz import load_npz
from dejavu_cli.render.camera import DEFAULT_FOV_DEG, default_viewmat, focal_from_fov, intrinsics
from dejavu_cli.track.mediapipe_env import denormals_kept, import_mediapipe
from dejavu_cli.track.raster import render_shaded

#: MediaPipe index of each iBUG-68 point (jaw 17, brows 10, nose 9, eyes 12, mouth 20).
MP_TO_68 = [162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
            71, 63, 105, 66, 107, 336, 296, 334, 293, 301, 168, 197, 5, 4, 75, 97, 2, 326, 305,
            33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380, 61, 39, 37, 0, 267, 269, 291,
            405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87]
#: Weight of face-contour points (they slide along the silhouette when the head turns).
CONTOUR_WEIGHT = 0.3
IRIS_CENTRES = (468, 473)
IRIS_IDS = tuple(range(468, 478))
#: Bump when the derivation changes (invalidates cached correspondences).
DERIVATION_VERSION = 4
#: Yaws (degrees, docs/conventions.md#head-pose) of the renders the correspondences are derived on.
CALIBRATION_YAWS = tuple(range(-60, 61, 10))
#: Largest move (metres) of a non-sliding point between neighbouring calibration yaws (``walk_table``).
MAX_STEP_M = 0.01
#: Mouth opening of the reference render: inner-lip points of a closed mouth are ambiguous (upper/lower lip).
OPEN_MOUTH = {"jawOpen": 0.3}
OPEN_JAW_RAD = 0.15


#: iBUG-68 points of the features that drive appearance: brows (17-26), eyelids (36-47), inner lips (60-67).
FEATURE_68 = tuple(range(17, 27)) + tuple(range(36, 48)) + tuple(range(60, 68))


def feature_weights(mp_ids: np.ndarray, weights: np.ndarray, factor: float) -> np.ndarray:
    """``weights`` [L] with the points of :data:`FEATURE_68` (MediaPipe ids through ``MP_TO_68``) times
    ``factor``: the fit then follows lids, brows and lips more closely than the jaw line."""
    feature = np.isin(np.asarray(mp_ids), [MP_TO_68[k] for k in FEATURE_68])
    return np.where(feature, np.asarray(weights) * float(factor), weights).astype(np.float32)


@dataclass
class Correspondence:
    mp_ids: np.ndarray   # [L] int
    faces: np.ndarray    # [L] int
    bary: np.ndarray     # [L, 3] float32
    weights: np.ndarray  # [L] float32
    source: str          # "render" or "landmarks68"
    #: Per-yaw correspondences (the same L points derived on turned renders), or None: yaws [Y] degrees,
    #: faces [Y, L], bary [Y, L, 3] (built by :func:`walk_table`: a point not taken at a yaw keeps the
    #: triangle of the yaw next to it towards 0).
    yaw_deg: np.ndarray | None = None
    yaw_faces: np.ndarray | None = None
    yaw_bary: np.ndarray | None = None

    def at_yaw(self, k: int) -> "Correspondence":
        """The correspondence of calibration yaw ``k`` (frontal arrays replaced; no yaw table)."""
        return Correspondence(self.mp_ids, self.yaw_faces[k], self.yaw_bary[k], self.weights, self.source)

    def surface(self, verts, head_faces):
        """Points ``[B, L, 3]`` on vertices ``[B, V, 3]`` (torch); ``head_faces`` [F, 3] of the model."""
        tri = head_faces[torch.as_tensor(self.faces, device=verts.device)]          # [L, 3] vertex ids
        b = torch.as_tensor(self.bary, dtype=verts.dtype, device=verts.device)
        return _surface(verts, tri, b)

    def surface_at_yaw(self, verts, head_faces, yaw):
        """Points ``[B, L, 3]`` on vertices ``[B, V, 3]`` read from the yaw table at head yaws ``yaw`` [B]
        (radians; interpolated between the two calibration yaws around each, :func:`yaw_bins`): the points the
        fit compares with MediaPipe at that pose. Without a table: :meth:`surface`."""
        if self.yaw_deg is None or len(self.yaw_deg) < 2:
            return self.surface(verts, head_faces)
        grid = torch.deg2rad(torch.as_tensor(np.asarray(self.yaw_deg), dtype=verts.dtype, device=verts.device))
        lo, a = yaw_bins(yaw.to(verts.dtype), grid)
        at = [self.at_yaw(k).surface(verts, head_faces) for k in range(len(self.yaw_deg))]
        rows = torch.arange(verts.shape[0], device=verts.device)
        stack = torch.stack(at, 1)                                                          # [B, Y, L, 3]
        return (1 - a)[:, None, None] * stack[rows, lo] + a[:, None, None] * stack[rows, lo + 1]


def yaw_bins(yaw: torch.Tensor, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear interpolation on ``grid`` [Y] (ascending, Y >= 2) at ``yaw`` [T]: the lower grid index [T]
    (long, at most Y - 2) and the weight [T] of the upper one (0 below the grid, 1 above it)."""
    lo = (torch.searchsorted(grid, yaw.contiguous(), right=True) - 1).clamp(0, grid.shape[0] - 2)
    a = ((yaw - grid[lo]) / (grid[lo + 1] - grid[lo])).clamp(0.0, 1.0)
    return lo, a


def _surface(verts, tri, bary):
    """verts [B, V, 3], tri [L, 3] vertex ids, bary [L, 3] -> points [B, L, 3]."""
    return (verts[:, tri.reshape(-1)].reshape(verts.shape[0], -1, 3, 3) * bary[None, :, :, None]).sum(2)


def mediapipe_fit_ids() -> np.ndarray:
    """The MediaPipe points used in the fit: lips, eyes, brows, irises, nose, face oval (sorted, unique)."""
    C = import_mediapipe().solutions.face_mesh_connections

    ids: set[int] = set()
    for name in ("FACEMESH_LIPS", "FACEMESH_LEFT_EYE", "FACEMESH_RIGHT_EYE", "FACEMESH_LEFT_EYEBROW",
                 "FACEMESH_RIGHT_EYEBROW", "FACEMESH_FACE_OVAL", "FACEMESH_NOSE", "FACEMESH_LEFT_IRIS",
                 "FACEMESH_RIGHT_IRIS"):
        for a, b in getattr(C, name, ()):
            ids.update((a, b))
    ids.update(IRIS_CENTRES)
    ids.update(MP_TO_68)
    return np.array(sorted(ids), dtype=np.int64)


def contour_ids() -> set[int]:
    C = import_mediapipe().solutions.face_mesh_connections

    return {i for e in C.FACEMESH_FACE_OVAL for i in e}


def from_landmarks68(head) -> Correspondence:
    """The 68 iBUG vertices of ``head`` as correspondences (one-hot barycentrics on an incident face)."""
    faces = head.faces.cpu().numpy()
    lm = head.landmarks68.cpu().numpy()
    face_of = np.zeros(lm.shape[0], np.int64)
    bary = np.zeros((lm.shape[0], 3), np.float32)
    for i, v in enumerate(lm):
        f, k = np.argwhere(faces == v)[0]
        face_of[i] = f
        bary[i, k] = 1.0
    w = np.ones(68, np.float32)
    w[:17] = CONTOUR_WEIGHT
    return Correspondence(np.array(MP_TO_68, np.int64), face_of, bary, w, "landmarks68")


def head_key(head) -> str:
    h = hashlib.sha256(str(DERIVATION_VERSION).encode())
    h.update(head.template.detach().cpu().numpy().astype(np.float32).tobytes())
    h.update(head.faces.cpu().numpy().astype(np.int64).tobytes())
    return h.hexdigest()[:16]


def _neutral_open_mouth(head) -> np.ndarray:
    """Vertices ``[V, 3]`` (float64) of the neutral head with the mouth a little open (``OPEN_MOUTH``)."""
    with torch.no_grad():
        expr = torch.zeros(1, head.n_expression, device=head.template.device)
        for name, value in OPEN_MOUTH.items():
            if name in head.expression_names:
                expr[0, head.expression_names.index(name)] = value
        jaw = None
        if head.has_jaw:
            jaw = torch.zeros(1, 3, device=head.template.device)
            jaw[0, 0] = OPEN_JAW_RAD
        return head.vertices(expression=expr, jaw=jaw)[0].cpu().numpy().astype(np.float64)


def _lift(fm, head, verts: np.ndarray, ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Render ``verts`` [V, 3], run MediaPipe (``fm``) and lift points ``ids`` [L] to the triangle under
    each: (faces [L] int, -1 where no triangle is under the point; bary [L, 3]), or None without a face."""
    V = default_viewmat().numpy().astype(np.float64)
    K = intrinsics(focal_from_fov(DEFAULT_FOV_DEG, size), size, size).numpy().astype(np.float64)
    faces_np = head.faces.cpu().numpy()
    image, face_id, pix = render_shaded(verts, faces_np, head.face_region.cpu().numpy(), V, K, size)
    res = fm.process(image)
    if not res.multi_face_landmarks:
        return None
    pts = np.array([(p.x * size, p.y * size) for p in res.multi_face_landmarks[0].landmark])
    out_f = np.full(len(ids), -1, np.int64)
    out_b = np.full((len(ids), 3), 1 / 3, np.float32)
    for j, i in enumerate(ids):
        f = _face_under(face_id, pts[i])
        if f >= 0:
            out_f[j] = f
            out_b[j] = _barycentric(pix[faces_np[f]], pts[i])
    return out_f, out_b


def derive_from_render(head, size: int = 768) -> Correspondence | None:
    """Render the neutral ``head`` frontally, run MediaPipe on it and lift the fitted points to the mesh;
    then the same on renders turned by each of :data:`CALIBRATION_YAWS` (about the model's y axis).

    The mouth is opened a little (``OPEN_MOUTH`` / ``OPEN_JAW_RAD``) so inner-lip points land on the right
    lip. Iris points are kept only for models with eye joints (others cannot follow the gaze).
    Returns ``None`` when MediaPipe finds no face on the frontal render; turned renders without a face are
    left out of the yaw table.
    """
    mp = import_mediapipe()
    verts = _neutral_open_mouth(head)
    ids = mediapipe_fit_ids()
    if not head.has_eyes:
        ids = ids[~np.isin(ids, IRIS_IDS)]
    # static_image_mode: every render is detected afresh (no tracking state between the yaws)
    with denormals_kept(), mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                           refine_landmarks=True) as fm:
        front = _lift(fm, head, verts, ids, size)
        if front is None:
            return None
        keep = front[0] >= 0
        turned = []
        for yaw in CALIBRATION_YAWS:
            Ry = axis_angle_to_matrix(torch.tensor([0.0, np.radians(yaw), 0.0], dtype=torch.float64)).numpy()
            lifted = (front[0][keep], front[1][keep]) if yaw == 0 else _lift(fm, head, verts @ Ry.T, ids[keep],
                                                                              size)
            if lifted is not None:
                turned.append((yaw, *lifted))
    faces, bary = front[0][keep], front[1][keep]
    contour = contour_ids()
    sliding = np.isin(ids[keep], list(contour))
    w = np.where(sliding, CONTOUR_WEIGHT, 1.0).astype(np.float32)
    yaws = np.array([y for y, _, _ in turned], np.float32)
    yaw_faces, yaw_bary = walk_table(yaws, np.stack([f for _, f, _ in turned]), np.stack([b for _, _, b in turned]),
                                     verts, head.faces.cpu().numpy(), head.face_region.cpu().numpy(), sliding)
    return Correspondence(ids[keep].astype(np.int64), faces, bary.astype(np.float32), w, "render", yaws,
                          yaw_faces, yaw_bary)


def walk_table(yaws: np.ndarray, cand_faces: np.ndarray, cand_bary: np.ndarray, verts: np.ndarray,
               head_faces: np.ndarray, face_region: np.ndarray, sliding: np.ndarray,
               max_step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The yaw table from the points lifted on each turned render, walking out from yaw 0 to either side.

    yaws [Y] (ascending, with 0), cand_faces [Y, L] (-1: not found), cand_bary [Y, L, 3], verts [V, 3] of the
    rendered head, head_faces [F, 3], face_region [F], sliding [L] bool (the face oval). A lifted point is
    taken when it is on the same part of the head as the frontal one (face, eyeballs, mouth, teeth...) and,
    unless it is a sliding point, within ``max_step`` (metres, default :data:`MAX_STEP_M`) of the previous
    yaw's point; otherwise the previous yaw's triangle is kept: MediaPipe also jumps (an inner-lip point onto
    the teeth) and a jump is not a slide. Returns faces [Y, L] and bary [Y, L, 3] (float32).
    """
    max_step = MAX_STEP_M if max_step is None else max_step
    k0 = int(np.flatnonzero(yaws == 0)[0])
    out_f, out_b = cand_faces.copy(), cand_bary.astype(np.float32).copy()
    point = lambda f, b: (verts[head_faces[f]] * b[:, :, None]).sum(1)  # noqa: E731  [L, 3]
    for step in (1, -1):
        prev_f, prev_b = cand_faces[k0], cand_bary[k0]
        for k in range(k0 + step, len(yaws) if step > 0 else -1, step):
            f, b = cand_faces[k], cand_bary[k]
            ok = (f >= 0) & (face_region[np.maximum(f, 0)] == face_region[cand_faces[k0]])
            moved = np.linalg.norm(point(np.maximum(f, 0), b) - point(prev_f, prev_b), axis=-1)
            ok &= sliding | (moved <= max_step)
            prev_f, prev_b = np.where(ok, f, prev_f), np.where(ok[:, None], b, prev_b)
            out_f[k], out_b[k] = prev_f, prev_b
    return out_f, out_b


def _face_under(face_id: np.ndarray, p: np.ndarray, radius: int = 3) -> int:
    """Triangle index at pixel ``p`` (x, y), or the nearest covered pixel within ``radius``; -1 if none."""
    h, w = face_id.shape
    x, y = int(np.floor(p[0])), int(np.floor(p[1]))
    best, best_d = -1, np.inf
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            xx, yy = x + dx, y + dy
            if 0 <= xx < w and 0 <= yy < h and face_id[yy, xx] >= 0 and dx * dx + dy * dy < best_d:
                best, best_d = int(face_id[yy, xx]), dx * dx + dy * dy
    return best


def _barycentric(tri: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Barycentric coordinates ``[3]`` of point ``p`` in 2D triangle ``tri`` [3, 2], clamped inside."""
    a, b, c = tri
    m = np.array([b - a, c - a]).T
    try:
        l1, l2 = np.linalg.solve(m, p - a)
    except np.linalg.LinAlgError:
        return np.array([1 / 3, 1 / 3, 1 / 3], np.float32)
    bary = np.clip(np.array([1 - l1 - l2, l1, l2]), 0, None)
    return (bary / max(bary.sum(), 1e-9)).astype(np.float32)


def correspondence_for(head, use_cache: bool = True) -> Correspondence:
    """Cached render-derived correspondences of ``head``, or its 68 landmarks when that fails."""
    path = home_subdir("heads") / f"{head.name}.mediapipe.npz"
    key = head_key(head)
    if use_cache and path.exists():
        d = load_npz(path, what="correspondence cache")
        if str(d.get("key", "")) == key:
            yaw = {k: d[k] for k in ("yaw_deg", "yaw_faces", "yaw_bary")} if "yaw_deg" in d else {}
            return Correspondence(d["mp_ids"], d["faces"], d["bary"], d["weights"], str(d["source"]), **yaw)
    corr = derive_from_render(head) or from_landmarks68(head)
    if use_cache:
        arrays = {"key": np.array(key), "mp_ids": corr.mp_ids, "faces": corr.faces, "bary": corr.bary,
                  "weights": corr.weights, "source": np.array(corr.source)}
        if corr.yaw_deg is not None:
            arrays.update(yaw_deg=corr.yaw_deg, yaw_faces=corr.yaw_faces, yaw_bary=corr.yaw_bary)
        save_npz_atomic(path, arrays)
    return corr
