"""Video -> tracking file: decode, landmarks, smooth crop, fit, person masks (docs/tracking.md).

Two streaming passes over the video (never the whole clip in memory): pass 1 detects landmarks in the
source frames; boxes are smoothed and the head model is fitted to all frames at once; pass 2 crops each
frame and segments the person. Every later stage reproduces the crops with :func:`read_crops`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dejavu_cli.device import resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import load_head
from dejavu_cli.head.registry import spec as head_spec
from dejavu_cli.home import home_subdir
from dejavu_cli.io.download import sha256_file
from dejavu_cli.io.video_reader import iter_frames, probe, scaled_size
from dejavu_cli.render.camera import DEFAULT_FOV_DEG, default_viewmat, focal_from_fov, intrinsics
from dejavu_cli.track import crop as C
from dejavu_cli.track.config import TrackConfig
from dejavu_cli.track.correspond import DERIVATION_VERSION, correspondence_for, feature_weights
from dejavu_cli.track.crop import crop_frame, fill_gaps
from dejavu_cli.track.file import TrackResult, load_track, save_track
from dejavu_cli.track.fit import FitWeights, build_landmark_model, fit_landmarks
from dejavu_cli.track.landmarks import DETECT_MAX_SIDE, MediaPipeLandmarker
from dejavu_cli.track.segment import PersonSegmenter, pack_mask, unpack_masks


def _contiguous(rows: np.ndarray) -> np.ndarray:
    """[n] bool: row i directly follows row i-1 (rows are indices of fitted frames)."""
    c = np.zeros(rows.shape[0], bool)
    c[1:] = np.diff(rows) == 1
    return c


def _dense(rows: np.ndarray, values: np.ndarray, T: int) -> np.ndarray:
    """Scatter per-fitted-frame values [n, C] to [T, C], interpolating the rows without a face."""
    out = np.full((T, values.shape[1]), np.nan)
    out[rows] = values
    return fill_gaps(out).astype(np.float32) if values.shape[1] else out.astype(np.float32)


def track_video(video: str | os.PathLike, cfg: TrackConfig = TrackConfig(), timings: dict | None = None,
                progress: bool = False, landmarker=MediaPipeLandmarker) -> TrackResult:
    """Track ``video``; raises :class:`DejavuError` for unreadable input or when no frame has a face.

    ``landmarker()`` makes the detector (a :class:`~dejavu_cli.track.landmarks.Landmarker` context manager);
    its ``n_points`` sizes the file's ``landmarks``. The head-model correspondences are MediaPipe's."""
    if cfg.every < 1 or cfg.size < 32:
        raise DejavuError("--every must be >= 1 and --size >= 32")
    cfg = dataclasses.replace(cfg, device=str(resolve_device(cfg.device)))
    tm = timings if timings is not None else {}
    for k in ("decode", "landmarks", "fit", "segmentation"):
        tm.setdefault(k, 0.0)
    info = probe(video)
    head = load_head(cfg.head, device=cfg.device)
    sha = sha256_file(video)
    wanted = range(0, info.n_frames, cfg.every)

    # pass 1: landmarks in source pixels (detected on frames ffmpeg shrank to DETECT_MAX_SIDE)
    small = scaled_size(info.size, DETECT_MAX_SIDE)
    to_src = np.array([info.size[0] / small[0], info.size[1] / small[1]], np.float32)
    lms, rows = [], []
    bar = _bar(progress, info.n_frames // cfg.every, "landmarks")
    n_points = int(landmarker.n_points)
    with landmarker() as det:
        t0 = time.perf_counter()
        for idx, frame in iter_frames(video, info, frames=wanted if cfg.every > 1 else None,
                                      max_side=DETECT_MAX_SIDE):
            t1 = time.perf_counter()
            tm["decode"] += t1 - t0
            rows.append(idx)
            pts = det.detect(frame)
            lms.append(None if pts is None else pts * to_src)
            t0 = time.perf_counter()
            tm["landmarks"] += t0 - t1
            bar.update(1)
    bar.close()
    T = len(rows)
    if T == 0:
        raise DejavuError(f"{video} has no video frames")
    valid = np.array([p is not None for p in lms])
    if not valid.any():
        raise DejavuError(f"no face found in any of the {T} frames of {video}")
    src = np.full((T, n_points, 2), np.nan, np.float32)
    src[valid] = np.stack([p for p in lms if p is not None])
    fps = info.fps / cfg.every
    boxes = C.smooth_boxes(C.raw_boxes(src, valid, scale=cfg.crop_scale), fps, sigma_centre_s=cfg.smooth_crop_s)
    crop_lm = C.to_crop(src, boxes, cfg.size)

    # fit
    t0 = time.perf_counter()
    if progress:  # a few seconds without a bar: say what happens
        tqdm.write(f"fitting the {head.name} head model to {int(valid.sum())} frames ({cfg.iterations} iterations)",
                   file=sys.stderr)
    corr = correspondence_for(head)
    lmodel = build_landmark_model(head, corr, device=cfg.device)
    K = intrinsics(focal_from_fov(DEFAULT_FOV_DEG, cfg.size), cfg.size, cfg.size)
    V = default_viewmat()
    fitted = np.flatnonzero(valid)
    bounds = head_spec(head.name).expression_bounds
    fw = FitWeights(smooth_expression=cfg.smooth_expression, smooth_pose=cfg.smooth_pose,
                    iterations=cfg.iterations)
    weights = feature_weights(corr.mp_ids, corr.weights, cfg.feature_weight)
    res = fit_landmarks(lmodel, crop_lm[fitted][:, corr.mp_ids], weights, _contiguous(fitted), K, V, fw,
                        exp_bounds=bounds, device=cfg.device)
    tm["fit"] += time.perf_counter() - t0

    # pass 2: crops -> person masks
    m = cfg.size // 2
    masks = np.zeros((T, m, (m + 7) // 8), np.uint8)
    bar = _bar(progress, T, "masks")
    seg = PersonSegmenter()
    try:
        t0 = time.perf_counter()
        for row, (idx, frame) in enumerate(iter_frames(video, info, frames=rows if cfg.every > 1 else None)):
            t1 = time.perf_counter()
            tm["decode"] += t1 - t0
            masks[row] = pack_mask(seg.mask(C.crop_frame(frame, boxes[row], cfg.size)), m)
            t0 = time.perf_counter()
            tm["segmentation"] += t0 - t1
            bar.update(1)
    finally:
        seg.close()
        bar.close()

    err = np.full(T, np.nan, np.float32)
    err[fitted] = res["error"]
    return TrackResult(
        video_sha256=sha, fps=fps, n_frames=T, source_size=np.array(info.size, np.int32),
        frames=np.array(rows, np.int64), valid=valid, crop_boxes=boxes, size=cfg.size,
        landmarks=crop_lm.astype(np.float32), fit_ids=corr.mp_ids.astype(np.int64), head=head.name,
        identity=res["identity"].astype(np.float32), expression=_dense(fitted, res["expression"], T),
        jaw=_dense(fitted, res["jaw"], T), eyes=_dense(fitted, res["eyes"], T),
        rotvec=_dense(fitted, res["rotvec"], T), translation=_dense(fitted, res["translation"], T),
        K=K.numpy(), viewmat=V.numpy(), fov_deg=DEFAULT_FOV_DEG, masks=masks, mask_size=m,
        landmark_error=err)


def _bar(enabled: bool, total: int, desc: str):
    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, leave=False)


def read_crops(video: str | os.PathLike, track: TrackResult, rows=None, check_hash: bool = False,
               progress: bool = False) -> np.ndarray:
    """The tracker's crops ``uint8 [n, S, S, 3]`` of the given track rows (all if None), from the video."""
    if check_hash and sha256_file(video) != track.video_sha256:
        raise DejavuError(f"{video} is not the video this tracking file was made from")
    rows = np.arange(track.T) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= track.T):
        raise DejavuError(f"frame rows out of range 0..{track.T - 1}")
    src_to_rows: dict[int, list[int]] = {}
    for k, r in enumerate(rows):
        src_to_rows.setdefault(int(track.frames[r]), []).append(k)
    out = np.empty((rows.size, track.size, track.size, 3), np.uint8)
    got = 0
    bar = _bar(progress, rows.size, "reading frames")
    for idx, frame in iter_frames(video, frames=src_to_rows.keys()):
        for k in src_to_rows[idx]:
            out[k] = crop_frame(frame, track.crop_boxes[rows[k]], track.size)
            got += 1
        bar.update(len(src_to_rows[idx]))
    bar.close()
    if got != rows.size:
        raise DejavuError(f"{video} ended before all tracked frames were read ({got}/{rows.size})")
    return out


def read_masks(track: TrackResult, rows=None, size: int | None = None) -> np.ndarray:
    """Person masks ``bool [n, s, s]`` of the given rows at ``size`` (default: the crop size)."""
    rows = np.arange(track.T) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    return unpack_masks(track.masks[rows], track.mask_size, size or track.size)


#: Bump when the fit changes its results for the same options (invalidates cached tracking files).
FIT_VERSION = 3
#: Options that change a tracking result besides head, size and every (they key the cache).
FIT_OPTIONS = ("crop_scale", "iterations", "smooth_crop_s", "smooth_expression", "smooth_pose", "feature_weight")


def cache_path(video: str | os.PathLike, cfg: TrackConfig, sha: str | None = None) -> Path:
    """``$DEJAVU_HOME/tracks/<sha256>-<head>-<size>-e<every>-<options>.track.npz``: a different fit option,
    fit version or correspondence derivation version never reuses an old result."""
    sha = sha or sha256_file(video)
    versions = (FIT_VERSION, DERIVATION_VERSION)  # a new fit or new correspondences: a new result
    opts = hashlib.sha256(repr((*versions, [getattr(cfg, k) for k in FIT_OPTIONS])).encode()).hexdigest()[:8]
    return home_subdir("tracks") / f"{sha}-{cfg.head}-{cfg.size}-e{cfg.every}-{opts}.track.npz"


def track_cached(video: str | os.PathLike, cfg: TrackConfig = TrackConfig(), progress: bool = False,
                 refresh: bool = False) -> tuple[TrackResult, Path, bool]:
    """Tracking of ``video`` from ``$DEJAVU_HOME/tracks/`` (keyed by the video's sha256 and the head, size,
    every options), computed and cached when absent. Returns (track, cache path, reused?)."""

    probe(video)  # one-line error for non-videos before hashing
    path = cache_path(video, cfg)
    if path.exists() and not refresh:
        try:
            return load_track(path), path, True
        except DejavuError:
            pass  # stale or corrupt cache entry: recompute
    track = track_video(video, cfg, progress=progress)
    save_track(path, track)
    return track, path, False
