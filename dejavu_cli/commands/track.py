"""`dejavu track`: landmarks + head-model fit per frame (identity, expression, pose, camera, masks)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dejavu_cli.config import default_of, help_of
from dejavu_cli.track.config import TrackConfig


def track(
    video: str = typer.Argument(..., help="Input video (any container ffmpeg reads)."),
    output: Optional[str] = typer.Option(None, "-o", "--output",
                                         help="Tracking file to write (default: <video stem>.track.npz in "
                                              "the current folder)."),
    head: str = typer.Option(default_of(TrackConfig, "head"), "--head", help=help_of(TrackConfig, "head")),
    size: int = typer.Option(default_of(TrackConfig, "size"), "--size", help=help_of(TrackConfig, "size")),
    preview: Optional[str] = typer.Option(None, "--preview",
                                          help="Also write an MP4 of the crops with landmarks and the fitted "
                                               "mesh wireframe, to check the tracking."),
    device: str = typer.Option(default_of(TrackConfig, "device"), "--device", help=help_of(TrackConfig, "device")),
    every: int = typer.Option(default_of(TrackConfig, "every"), "--every", help=help_of(TrackConfig, "every")),
    iterations: int = typer.Option(default_of(TrackConfig, "iterations"), "--iterations",
                                   help=help_of(TrackConfig, "iterations")),
    refresh: bool = typer.Option(False, "--refresh",
                                 help="Recompute even if $DEJAVU_HOME/tracks/ holds this video's tracking."),
) -> None:
    """Track a face video: landmarks, a smooth square crop, person masks and a head-model fit per frame.

    The result is also cached by the video's hash in $DEJAVU_HOME/tracks/, so `create` and `reenact` reuse it.
    """
    import json
    import shutil
    import time

    from dejavu_cli.errors import DejavuError
    from dejavu_cli.io.atomic import atomic_path
    from dejavu_cli.track.api import summarize

    src = Path(video)
    out = Path(output) if output else Path.cwd() / (src.stem + ".track.npz")
    for p, what in ((out, "output"), (Path(preview) if preview else None, "preview")):
        if p is not None and src.exists() and p.resolve() == src.resolve():
            raise DejavuError(f"refusing to overwrite the input video with the {what}: {p}")
    if preview and Path(preview).suffix.lower() != ".mp4":
        raise DejavuError(f"--preview must be an .mp4 path, got {preview}")
    cfg = TrackConfig(head=head, size=size, device=device, every=every, iterations=iterations)
    from dejavu_cli.track.api import track_cached

    t0 = time.perf_counter()
    tr, cached, reused = track_cached(src, cfg, progress=True, refresh=refresh)
    seconds = time.perf_counter() - t0
    if cached.resolve() != out.resolve():
        with atomic_path(out, suffix=".npz") as tmp:
            shutil.copyfile(cached, tmp)
    facts = summarize(out)
    how = "reused cached tracking" if reused else f"tracked in {seconds:.1f} s ({tr.T / seconds:.1f} frames/s)"
    typer.echo(f"{out}: {facts['tracked_frames']}/{facts['frames']} frames with a face, {how}; "
               f"landmark error {facts['landmark_error_px']} px at {tr.size}")
    if preview:
        from dejavu_cli.head.registry import load_head
        from dejavu_cli.track.api import write_preview

        write_preview(preview, src, tr, load_head(tr.head))
        typer.echo(f"preview: {preview}")
    typer.echo(json.dumps({"jitter": facts["jitter"]}))
