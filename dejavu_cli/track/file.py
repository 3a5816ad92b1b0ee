"""The tracking file (NPZ, schema ``dejavu.track/1``; docs/architecture.md "Tracking file", docs/tracking.md).

Pickle-free, written atomically. Frames without a face have ``valid = False``; their parameters are
interpolated only so that arrays stay dense and are never used as data (check ``valid``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.npz import Field, check_fields, load_npz, require
from dejavu_cli.track.seen import head_angles, pose_range

SCHEMA = "dejavu.track/1"
#: Landmarks are stored as int16 in 1/16 crop pixel (half the size of float32); NaN rows as this sentinel.
LANDMARK_STEPS_PER_PX = 16
_NAN16 = np.iinfo(np.int16).min


@dataclass
class TrackResult:
    video_sha256: str
    fps: float                   # of the rows (source fps / every)
    n_frames: int                # rows T (tracked frames of the video, after --every)
    source_size: np.ndarray      # [2] (width, height) of the upright decoded frames
    frames: np.ndarray           # [T] int: source frame index of each row (every N-th frame with --every N)
    valid: np.ndarray            # [T] bool: a face was detected and fitted
    crop_boxes: np.ndarray       # [T, 3] float32 (x0, y0, side) in source pixels
    size: int                    # crop resolution S
    landmarks: np.ndarray        # [T, P, 2] float32, the landmarker's P points in crop pixels (NaN when invalid)
    fit_ids: np.ndarray          # [L] int: MediaPipe indices used in the fit
    head: str                    # head model name
    identity: np.ndarray         # [n_id]
    expression: np.ndarray       # [T, n_exp]
    jaw: np.ndarray              # [T, 3] (zeros if the model has no jaw joint)
    eyes: np.ndarray             # [T, 6] (zeros if the model has no eye joints)
    rotvec: np.ndarray           # [T, 3] head rotation, docs/conventions.md#head-pose
    translation: np.ndarray      # [T, 3] metres
    K: np.ndarray                # [3, 3] crop-pixel intrinsics
    viewmat: np.ndarray          # [4, 4] world-to-camera (OpenCV axes), fixed
    fov_deg: float
    masks: np.ndarray            # [T, m, ceil(m/8)] uint8 packed person mask bits
    mask_size: int               # m
    landmark_error: np.ndarray   # [T] float32 mean fit residual in crop pixels (NaN when invalid)

    @property
    def T(self) -> int:
        return int(self.valid.shape[0])


_SCALARS = {"video_sha256": str, "fps": float, "n_frames": int, "size": int, "head": str, "fov_deg": float,
            "mask_size": int}


def save_track(path: str | os.PathLike, track: TrackResult) -> Path:
    """Write ``track`` atomically as NPZ (schema :data:`SCHEMA`)."""
    arrays = {"schema": np.array(SCHEMA)}
    for f in fields(TrackResult):
        v = getattr(track, f.name)
        arrays[f.name] = np.array(v) if f.name in _SCALARS else np.asarray(v)
    lm = np.asarray(track.landmarks, np.float64) * LANDMARK_STEPS_PER_PX
    bad = ~np.isfinite(lm)
    q = np.clip(np.round(np.nan_to_num(lm)), _NAN16 + 1, np.iinfo(np.int16).max).astype(np.int16)
    q[bad] = _NAN16
    arrays["landmarks"] = q
    arrays["landmark_steps_per_px"] = np.array(LANDMARK_STEPS_PER_PX)
    return save_npz_atomic(path, arrays)


_F, _I, _B = "f", "iu", "biu"
#: Every member of a tracking file: dtype kinds, shape (T rows, P landmarks, ...), finiteness, range.
TRACK_SCHEMA = {
    "schema": Field("U"), "video_sha256": Field("U"), "fps": Field(_F, min=1e-3, max=1e4),
    "n_frames": Field(_I, min=0), "source_size": Field(_I + _F, (2,), min=1, max=1 << 16),
    "frames": Field(_I, ("T",), min=0), "valid": Field(_B, ("T",), min=0, max=1),
    "crop_boxes": Field(_F + _I, ("T", 3)), "size": Field(_I, min=8, max=8192),
    "landmarks": Field(_F + "i", ("T", "P", 2), finite=False), "fit_ids": Field(_I, ("L",), min=0),
    "head": Field("U"), "identity": Field(_F, ("n_id",)), "expression": Field(_F, ("T", "n_exp")),
    "jaw": Field(_F, ("T", 3)), "eyes": Field(_F, ("T", 6)), "rotvec": Field(_F, ("T", 3)),
    "translation": Field(_F, ("T", 3)), "K": Field(_F, (3, 3)), "viewmat": Field(_F, (4, 4)),
    "fov_deg": Field(_F, min=1e-3, max=179.0), "masks": Field("u", ("T", "m", "mb")),
    "mask_size": Field(_I, min=1, max=8192), "landmark_error": Field(_F, ("T",), finite=False),
    "landmark_steps_per_px": Field(_I + _F, min=1, max=1 << 12, optional=True),
}


def check_track_arrays(data: dict[str, np.ndarray], where: str) -> None:
    """Schema and cross-field checks of a tracking file's arrays; DejavuError naming the file and field."""
    check_fields(data, TRACK_SCHEMA, where)
    T = data["valid"].shape[0]
    require(int(data["n_frames"]) == T, where, f"field n_frames is {int(data['n_frames'])} but there are {T} rows")
    boxes = data["crop_boxes"].astype(np.float64)
    require(bool(np.isfinite(boxes).all()), where, "field crop_boxes has NaN or infinite values")
    require(bool((boxes[:, 2] > 0).all()) if T else True, where,
            f"field crop_boxes has a crop side <= 0 (row {int(np.argmax(boxes[:, 2] <= 0)) if T else 0})")
    m = int(data["mask_size"])
    require(data["masks"].shape[1:] == (m, (m + 7) // 8), where,
            f"field masks has shape {list(data['masks'].shape)}, expected [{T}, {m}, {(m + 7) // 8}] (mask_size {m})")
    require(bool((data["frames"][1:] > data["frames"][:-1]).all()), where, "field frames is not increasing")
    require(abs(np.linalg.det(data["viewmat"][:3, :3].astype(np.float64)) - 1) < 1e-3, where,
            "field viewmat is not a rigid transform")
    K = data["K"].astype(np.float64)
    require(K[0, 0] > 0 and K[1, 1] > 0, where, "field K has a focal length <= 0")


def load_track(path: str | os.PathLike) -> TrackResult:
    """Read a tracking file; one-line :class:`DejavuError` for anything that is not one (schema checked:
    :data:`TRACK_SCHEMA`, :func:`check_track_arrays`)."""
    data = load_npz(path, what="tracking file", allowed=TRACK_SCHEMA)
    schema = str(data.get("schema", ""))
    if not schema.startswith("dejavu.track"):
        raise DejavuError(f"{path} is not a dejavu tracking file (schema {schema or 'missing'})")
    if schema != SCHEMA:
        raise DejavuError(f"{path} has tracking schema {schema}; this dejavu reads {SCHEMA}")
    missing = [f.name for f in fields(TrackResult) if f.name not in data]
    if missing:
        raise DejavuError(f"{path} is missing {', '.join(missing)} (corrupt tracking file)")
    check_track_arrays(data, str(path))
    kw = {}
    for f in fields(TrackResult):
        v = data[f.name]
        kw[f.name] = _SCALARS[f.name](v.item()) if f.name in _SCALARS else v
    kw["valid"] = kw["valid"].astype(bool)
    lm = kw["landmarks"]
    if lm.dtype == np.int16:
        steps = float(data.get("landmark_steps_per_px", LANDMARK_STEPS_PER_PX))
        kw["landmarks"] = np.where(lm == _NAN16, np.nan, lm / steps).astype(np.float32)
    return TrackResult(**kw)


def jitter(x: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """(mean frame-to-frame step, mean second difference) of rows of ``x`` [T, C] (L2 norm per row),
    over runs of consecutive valid frames. The second difference is what a viewer sees as jitter."""
    v = valid.astype(bool)
    d1 = np.linalg.norm(np.diff(x, axis=0), axis=-1)[v[1:] & v[:-1]]
    d2 = np.linalg.norm(np.diff(x, n=2, axis=0), axis=-1)[v[2:] & v[1:-1] & v[:-2]]
    return (float(d1.mean()) if d1.size else 0.0, float(d2.mean()) if d2.size else 0.0)


def summarize(path: str | os.PathLike, track: TrackResult | None = None) -> dict:
    """Facts for ``dejavu info FILE --json``: frames, tracked frames, fps, head, landmark error, jitter, the
    head-pose range and, under ``"frames"``, each row's ``{"index", "tracked", "yaw", "pitch", "roll"}``
    (degrees, ``track.seen.head_angles``; untracked rows hold interpolated angles). ``track``: the file's
    contents when the caller has already loaded it."""
    t = track if track is not None else load_track(path)
    v = t.valid
    err = t.landmark_error[v]
    rot_step, rot_jit = jitter(np.degrees(t.rotvec), v)
    tr_step, tr_jit = jitter(t.translation * 1000.0, v)
    ex_step, ex_jit = jitter(t.expression, v)
    box_centre = t.crop_boxes[:, :2] + t.crop_boxes[:, 2:3] / 2
    box_step, box_jit = jitter(box_centre, np.ones(t.T, bool))
    lm_step, lm_jit = jitter(np.nan_to_num(t.landmarks).reshape(t.T, -1) / np.sqrt(t.landmarks.shape[1]), v)
    return {
        "schema": SCHEMA,
        "file_bytes": Path(path).stat().st_size,
        "n_frames": t.n_frames,
        "tracked_frames": int(v.sum()),
        "fps": round(t.fps, 3),
        "duration_s": round(t.n_frames / t.fps, 3) if t.fps else None,
        "head": t.head,
        "size": t.size,
        "source_size": [int(s) for s in t.source_size],
        "fov_deg": t.fov_deg,
        "landmarks_in_fit": int(t.fit_ids.shape[0]),
        "landmark_error_px": round(float(err.mean()), 3) if err.size else None,
        "landmark_error_px_p95": round(float(np.percentile(err, 95)), 3) if err.size else None,
        "jitter": {
            "rotation_step_deg": round(rot_step, 4), "rotation_accel_deg": round(rot_jit, 4),
            "translation_step_mm": round(tr_step, 4), "translation_accel_mm": round(tr_jit, 4),
            "expression_step": round(ex_step, 5), "expression_accel": round(ex_jit, 5),
            "landmark_step_px": round(lm_step, 4), "landmark_accel_px": round(lm_jit, 4),
            "crop_centre_step_px": round(box_step, 4), "crop_centre_accel_px": round(box_jit, 4),
        },
        "pose_range_deg": pose_range(t.rotvec, v),
        "frames": [{"index": i, "tracked": bool(v[i]), "yaw": round(float(a[0]), 2), "pitch": round(float(a[1]), 2),
                    "roll": round(float(a[2]), 2)} for i, a in enumerate(head_angles(t.rotvec))],
    }
