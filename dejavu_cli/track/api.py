"""The track stage's one contract: everything create, recon, reenact and the use cases take from tracking.

Nothing outside ``track/`` imports another ``track`` module (``track.config`` aside, which holds only the
options); ``tests/test_architecture.py`` checks it. A :class:`TrackResult` holds per-frame head-model
parameters, crop boxes, landmarks and packed person masks (schema in docs/architecture.md "Tracking file");
the functions below give its pixels in the forms the consumers need.
"""

from __future__ import annotations

import os

import numpy as np

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import is_ready, load_head
from dejavu_cli.io.download import sha256_file
from dejavu_cli.track import file as track_file
from dejavu_cli.track.config import TrackConfig
from dejavu_cli.track.crop import crop_frame, inside_coverage
from dejavu_cli.track.file import SCHEMA, TrackResult, jitter, load_track, save_track
from dejavu_cli.track.landmarks import Landmarker, MediaPipeLandmarker
from dejavu_cli.track.pipeline import read_crops, track_cached, track_video
from dejavu_cli.track.preview import write_preview
from dejavu_cli.track.regions import region_errors
from dejavu_cli.track.seen import CAPTURE_HINT, needs_capture_hint, pose_range, seen_share
from dejavu_cli.track.segment import unpack_masks

__all__ = ["SCHEMA", "Landmarker", "MediaPipeLandmarker", "TrackConfig", "TrackResult", "coverage",
           "CAPTURE_HINT", "crop_frame", "crop_image", "jitter", "needs_capture_hint", "pose_range", "seen_share", "load_track", "person_masks", "read_crops", "resize_masks", "save_track",
           "read_track_or_video", "summarize", "track_cached", "track_video", "write_preview"]


def summarize(path, with_seen: bool = True) -> dict:
    """``track.file.summarize`` plus, when the head model is set up, the share of the head surface the video
    shows (``head_seen``), the landmark error per facial region (``landmark_error_regions``,
    :mod:`dejavu_cli.track.regions`) and ``capture_hint``: a line saying how to film when the sides or back
    are missing."""
    t = load_track(path)
    facts = track_file.summarize(path, t)
    seen = None
    if with_seen and is_ready(t.head):
        head = load_head(t.head)
        seen = seen_share(head, t.identity, t.rotvec, t.translation, t.viewmat, t.valid)
        facts["head_seen"] = seen
        facts["landmark_error_regions"] = region_errors(t, head)
    facts["capture_hint"] = CAPTURE_HINT if needs_capture_hint(facts["pose_range_deg"], seen) else None
    return facts


def person_masks(track: TrackResult, rows=None, size: int | None = None) -> np.ndarray:
    """Person masks ``bool [n, s, s]`` of track ``rows`` (all if None) at ``size`` (default: the stored
    ``mask_size``; other sizes by nearest sampling)."""
    rows = np.arange(track.T) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    return unpack_masks(track.masks[rows], int(track.mask_size), size)


def resize_masks(masks: np.ndarray, size: int) -> np.ndarray:
    """bool ``[..., m, m]`` -> ``[..., size, size]``, nearest sampling (the rule :func:`person_masks` uses)."""
    m = masks.shape[-1]
    if size == m:
        return masks
    idx = (np.arange(size) * m) // size
    return masks[..., idx, :][..., :, idx]


def coverage(track: TrackResult, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Which share of each crop pixel the video filmed, at crop resolution ``size``: ``(cov_x [T, size],
    cov_y [T, size])``, a pixel's share being ``cov_x[t, x] * cov_y[t, y]`` (1 inside the frame, 0 padding)."""
    return inside_coverage(track.crop_boxes, track.source_size, size)


def crop_image(track: TrackResult, image: np.ndarray, row: int = 0) -> np.ndarray:
    """The tracker's crop ``uint8 [S, S, 3]`` of an RGB ``image`` (the frame of ``row``, e.g. a still photo)."""
    return crop_frame(image, track.crop_boxes[row], int(track.size))


def read_track_or_video(video: str | os.PathLike, track_file=None, cfg: TrackConfig | None = None,
                        progress: bool = False):
    """``(track, path, reused)``: ``track_file`` loaded and checked against ``video``'s hash, else the cached
    or freshly computed tracking of ``video`` with ``cfg``."""
    if track_file:
        track = load_track(track_file)
        if sha256_file(video) != track.video_sha256:
            raise DejavuError(f"{track_file} was not made from {video} (video hash differs)")
        return track, track_file, True
    return track_cached(video, cfg or TrackConfig(), progress=progress)
