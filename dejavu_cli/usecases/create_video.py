"""``dejavu create``: video (+ optional tracking file) -> avatar file and report.

Composes the track stage (cached tracking), the reconstruction network's mean offsets (``--checkpoint``)
and the create stage's two-stage optimization.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from dejavu_cli.create.config import CreateConfig
from dejavu_cli.create.report import report_paths, write_json
from dejavu_cli.create.run import create_avatar
from dejavu_cli.device import resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.io.outputs import check_writable, prepare_output
from dejavu_cli.io.video_reader import probe
from dejavu_cli.recon.infer import mean_offsets_from_track
from dejavu_cli.track import api as track_api

#: File endings of still images (refused by ``create`` before anything is tracked).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif", ".gif")


def refuse_still_image(path: Path) -> None:
    """One line pointing to ``dejavu reconstruct`` when ``path`` is a photo (by ending, or one decoded frame)."""
    hint = f"{path} is a still image; make a single-photo avatar with `dejavu reconstruct {path} -o AVATAR.npz`"
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise DejavuError(hint)
    if probe(path).n_frames < 2:
        raise DejavuError(hint + " (create needs a video of at least 2 frames)")


def create_from_video(video, output, cfg: CreateConfig, track_file=None, resume: bool = False,
                      progress: bool = True, log=print, hook=None):
    """Track ``video`` (or load ``track_file``), then :func:`dejavu_cli.create.run.create_avatar`.

    Returns (avatar, report, (avatar path, report json, report png)). The report's ``seconds_total`` and
    ``seconds_tracking`` include tracking when it ran here.
    """
    video = Path(video)
    if not video.is_file():
        raise DejavuError(f"video not found: {video}" if not video.exists() else f"{video} is not a file")
    # avatar size: ~0.47 S^2 Gaussians (ICT atlas fill) x 13 float32 channels x (init, offsets, rectification
    # + blendmaps); compression only makes it smaller
    need = int(0.47 * cfg.uv_size ** 2 * 13 * 4 * (3 + cfg.n_blend))
    output = prepare_output(output, ".npz", "avatar", inputs=(video, track_file), need_bytes=need)
    refuse_still_image(video)
    for path in report_paths(output):
        check_writable(path, "report")
    t0 = time.perf_counter()
    track_cfg = track_api.TrackConfig(head=cfg.head, device=resolve_device(cfg.device).type)
    track, path, reused = track_api.read_track_or_video(video, track_file, track_cfg, progress=progress)
    if not track_file:
        log(f"tracking: {'reused' if reused else 'wrote'} {path}")
    seconds_tracking = time.perf_counter() - t0
    offsets_fn = functools.partial(mean_offsets_from_track, cfg.checkpoint) if cfg.checkpoint else None
    avatar, report = create_avatar(track, video, cfg, output, resume=resume, hook=hook, progress=progress,
                                   offsets_fn=offsets_fn, log=log)
    report["seconds_tracking"] = seconds_tracking
    report["tracking_reused"] = bool(reused)
    report["seconds_total"] += seconds_tracking
    js, png = report_paths(output)
    write_json(js, report)
    return avatar, report, (output, js, png)
