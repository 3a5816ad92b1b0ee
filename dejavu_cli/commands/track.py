"""`dejavu track`: landmarks + head-model fit per frame (identity, expression, pose, camera, masks)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import option
from dejavu_cli.track.config import TrackConfig

_C = TrackConfig


def track(
    video: str = typer.Argument(..., metavar="VIDEO", help="Input video (any container ffmpeg reads)."),
    output: Optional[str] = options.output("Tracking file to write", ".track.npz", required=False,
                                           more="Default: VIDEO-STEM.track.npz in the current folder."),
    head: str = option(_C, "head"),
    size: int = option(_C, "size"),
    preview: Optional[str] = typer.Option(None, "--preview", metavar="PATH",
                                          help="Also write an MP4 of the crops with landmarks and the fitted "
                                               "mesh wireframe, to check the tracking (.mp4; suffix rule as -o)."),
    device: str = option(_C, "device"),
    every: int = option(_C, "every"),
    iterations: int = option(_C, "iterations"),
    refresh: bool = typer.Option(False, "--refresh",
                                 help="Recompute even if $DEJAVU_HOME/tracks/ holds this video's tracking."),
) -> None:
    """Track a face video: landmarks, a smooth square crop, person masks and a head-model fit per frame.

    The result is also cached by the video's hash in $DEJAVU_HOME/tracks/, so `create` and `reenact` reuse it.
    Prints the head-pose range the video covers.

    Example: dejavu track me.mp4 --preview check.mp4
    """
    from dejavu_cli.io.outputs import prepare_output  # first, light: a bad location fails in well under a second

    src = Path(video)
    out = prepare_output(output or Path.cwd() / (src.stem + ".track.npz"), ".track.npz", "tracking file",
                         inputs=(src,), accept=(".npz",))
    prev = prepare_output(preview, ".mp4", "preview", inputs=(src, out)) if preview else None

    import json
    import shutil
    import time

    from dejavu_cli.device import resolve_device
    from dejavu_cli.head.registry import load_head, spec
    from dejavu_cli.io.atomic import atomic_path
    from dejavu_cli.track.api import summarize, track_cached, write_preview
    cfg = TrackConfig(head=spec(head).name, size=size, device=str(resolve_device(device)), every=every,
                      iterations=iterations)
    t0 = time.perf_counter()
    tr, cached, reused = track_cached(src, cfg, progress=True, refresh=refresh)
    seconds = time.perf_counter() - t0
    if cached.resolve() != out.resolve():
        with atomic_path(out, suffix=".npz") as tmp:
            shutil.copyfile(cached, tmp)
    facts = summarize(out)
    how = "reused cached tracking" if reused else f"tracked in {seconds:.1f} s ({tr.T / seconds:.1f} frames/s)"
    typer.echo(f"{out}: {facts['tracked_frames']}/{facts['n_frames']} frames with a face, {how}; "
               f"landmark error {facts['landmark_error_px']} px at {tr.size}")
    pr, seen = facts["pose_range_deg"], facts.get("head_seen")
    if pr["yaw"]:
        line = (f"head pose: yaw {pr['yaw'][0]:+.0f} to {pr['yaw'][1]:+.0f} deg, pitch {pr['pitch'][0]:+.0f} to "
                f"{pr['pitch'][1]:+.0f} deg")
        if seen:
            line += (f"; head surface seen: {seen['total']:.0%} (face {seen['face']:.0%}, scalp "
                     f"{seen['scalp']:.0%}, ears {seen['ears']:.0%})")
        typer.echo(line)
    regions = facts.get("landmark_error_regions")
    if regions:
        typer.echo("landmark error by region (px): " + ", ".join(
            f"{k.removesuffix('_px').replace('_', ' ')} {v:+.1f}" if "opening" in k else
            f"{k.removesuffix('_px')} {v:.1f}" for k, v in regions.items()))
    if facts.get("capture_hint"):
        typer.echo(f"note: {facts['capture_hint']}")
    if prev:
        typer.echo("writing the preview ...", err=True)
        write_preview(prev, src, tr, load_head(tr.head))
        typer.echo(f"preview: {prev}")
    typer.echo(json.dumps({"jitter": facts["jitter"]}))
