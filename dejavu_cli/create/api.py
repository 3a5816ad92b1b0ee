"""Library entry of ``dejavu create``: video (+ optional tracking file) -> avatar file and report."""

from __future__ import annotations

import time
from pathlib import Path

from dejavu_cli.create.config import CreateConfig
from dejavu_cli.errors import DejavuError


def create_from_video(video, output, cfg: CreateConfig, track_file=None, resume: bool = False,
                      progress: bool = True, log=print, hook=None):
    """Track ``video`` (or load ``track_file``), then :func:`dejavu_cli.create.run.create_avatar`.

    Returns (avatar, report, (avatar path, report json, report png)). The report's ``seconds_total`` and
    ``seconds_tracking`` include tracking when it ran here.
    """
    from dejavu_cli.create.report import report_paths
    from dejavu_cli.create.run import create_avatar

    video, output = Path(video), Path(output)
    if not video.exists():
        raise DejavuError(f"video not found: {video}")
    if output.resolve() == video.resolve() or (track_file and output.resolve() == Path(track_file).resolve()):
        raise DejavuError(f"refusing to overwrite an input with the avatar: {output}")
    t0 = time.perf_counter()
    if track_file:
        from dejavu_cli.track.file import load_track
        from dejavu_cli.io.download import sha256_file

        track = load_track(track_file)
        if sha256_file(video) != track.video_sha256:
            raise DejavuError(f"{track_file} was not made from {video} (video hash differs)")
        reused = True
    else:
        from dejavu_cli.track.config import TrackConfig
        from dejavu_cli.track.pipeline import track_cached

        track, path, reused = track_cached(video, TrackConfig(head=cfg.head, device=_track_device(cfg)),
                                           progress=progress)
        log(f"tracking: {'reused' if reused else 'wrote'} {path}")
    seconds_tracking = time.perf_counter() - t0
    avatar, report = create_avatar(track, video, cfg, output, resume=resume, hook=hook, progress=progress)
    report["seconds_tracking"] = seconds_tracking
    report["tracking_reused"] = bool(reused)
    report["seconds_total"] += seconds_tracking
    js, png = report_paths(output)
    from dejavu_cli.create.report import write_json

    write_json(js, report)
    return avatar, report, (output, js, png)


def _track_device(cfg: CreateConfig) -> str:
    from dejavu_cli.device import resolve_device

    return resolve_device(cfg.device).type
