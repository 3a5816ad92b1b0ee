"""What a video shows of the head: pose range and the share of the head surface the camera saw.

Capture guidance for ``dejavu track``, ``dejavu info TRACK`` and the create report. A surface point counts
as seen in a frame when it faces the camera (the cosine between its normal and the direction to the
camera is above :data:`MIN_COS`); the head is near convex where Gaussians sit (face, scalp, ears), so
normals stand in for a depth test. Shares are area-weighted.
"""

from __future__ import annotations

import numpy as np
import torch

from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.head.geometry import vertex_normals
from dejavu_cli.head.pose import axis_angle_to_matrix, yaw_pitch_roll

#: A point at a grazing angle is not "seen" (its texels get a smeared colour): cos(angle) above this.
MIN_COS = 0.3
#: Regions whose surface the share is taken over (where the avatar's Gaussians sit).
SEEN_REGIONS = ("face", "scalp", "ears")
#: Below these the sides / back were not filmed: the capture hint is printed.
MIN_YAW_SPAN_DEG, MIN_SEEN_SHARE = 50.0, 0.6
CAPTURE_HINT = ("the sides and back of the head were barely filmed, so the avatar guesses them; for a whole "
                "head, film a few seconds turning the head slowly left, right, up and down")


def head_angles(rotvec: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees ``[T, 3]`` of rotations ``rotvec`` [T, 3] (``head.pose.yaw_pitch_roll``)."""
    return yaw_pitch_roll(torch.as_tensor(np.asarray(rotvec), dtype=torch.float64)).numpy()


def pose_range(rotvec: np.ndarray, valid: np.ndarray) -> dict:
    """{"yaw": [min, max], "pitch": [...], "roll": [...]} in degrees over the ``valid`` rows (None if none)."""
    ang = head_angles(rotvec)[np.asarray(valid, bool)]
    if len(ang) == 0:
        return {k: None for k in ("yaw", "pitch", "roll")}
    return {k: [round(float(ang[:, i].min()), 1), round(float(ang[:, i].max()), 1)]
            for i, k in enumerate(("yaw", "pitch", "roll"))}


def seen_share(head, identity, rotvec: np.ndarray, translation: np.ndarray, viewmat: np.ndarray,
               valid: np.ndarray, max_frames: int = 400) -> dict:
    """Share of the head surface seen in at least one valid frame: ``{"total": s, "face": s, "scalp": s,
    "ears": s}`` (area-weighted, neutral expression; at most ``max_frames`` evenly spaced frames)."""
    rows = np.flatnonzero(np.asarray(valid, bool))
    if len(rows) > max_frames:
        rows = rows[np.linspace(0, len(rows) - 1, max_frames).round().astype(int)]
    out = {"total": 0.0, **{r: 0.0 for r in SEEN_REGIONS}}
    if len(rows) == 0:
        return out
    with torch.no_grad():
        ident = torch.as_tensor(np.asarray(identity), dtype=torch.float32)[None]
        verts = head.vertices(identity=ident)                                          # [1, V, 3]
        normals = vertex_normals(verts, head.faces)[0]                                 # [V, 3]
        area = _vertex_area(verts[0], head.faces)                                      # [V]
        R = axis_angle_to_matrix(torch.as_tensor(rotvec[rows], dtype=torch.float32))  # [n, 3, 3]
        t = torch.as_tensor(translation[rows], dtype=torch.float32)                   # [n, 3]
        V = torch.as_tensor(np.asarray(viewmat), dtype=torch.float32)
        cam = -V[:3, :3].T @ V[:3, 3]                                                  # camera centre, world
        # in model space per frame: the camera sits at R^T (cam - t); a point sees it along that minus v
        cam_model = torch.einsum("nji,nj->ni", R, cam[None] - t)                      # [n, 3]
        seen = torch.zeros(verts.shape[1], dtype=torch.bool)
        for s in range(0, len(rows), 32):
            d = torch.nn.functional.normalize(cam_model[s:s + 32, None] - verts[0][None], dim=-1)  # [b, V, 3]
            seen |= ((d * normals[None]).sum(-1) > MIN_COS).any(0)
    region_of_vertex = _vertex_regions(head)
    total_area = 0.0
    total_seen = 0.0
    for name in SEEN_REGIONS:
        m = region_of_vertex == REGION_NAMES.index(name)
        a = float(area[m].sum())
        if a > 0:
            out[name] = round(float(area[m & seen].sum()) / a, 3)
            total_area += a
            total_seen += float(area[m & seen].sum())
    out["total"] = round(total_seen / total_area, 3) if total_area else 0.0
    return out


def needs_capture_hint(pr: dict, seen: dict | None) -> bool:
    """True when the video shows too little of the sides and back (yaw span or seen share too small)."""
    yaw = pr.get("yaw")
    span = (yaw[1] - yaw[0]) if yaw else 0.0
    return span < MIN_YAW_SPAN_DEG or (seen is not None and seen.get("total", 0.0) < MIN_SEEN_SHARE)


def _vertex_area(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    a, b, c = (verts[faces[:, i]] for i in range(3))
    fa = 0.5 * torch.linalg.norm(torch.cross(b - a, c - a, dim=-1), dim=-1)           # [F]
    out = torch.zeros(verts.shape[0])
    for i in range(3):
        out.index_add_(0, faces[:, i], fa / 3)
    return out


def _vertex_regions(head) -> torch.Tensor:
    """Region index per vertex (the region of one incident face; later faces win)."""
    reg = torch.full((head.n_vertices,), -1, dtype=torch.long)
    for i in range(3):
        reg[head.faces[:, i]] = head.face_region
    return reg
