"""`dejavu reenact`: Drive an avatar with another video."""

from __future__ import annotations

import typer

from dejavu_cli.config import default_of, help_of
from dejavu_cli.reenact.config import ReenactConfig

_C = ReenactConfig


def reenact(
    avatar: str = typer.Argument(..., help="Avatar file (.npz) written by 'dejavu create' or 'dejavu template'."),
    driver: str = typer.Argument(..., help="Driver video (any format ffmpeg reads) of a person's face."),
    out: str = typer.Option(..., "-o", "--out", help="Output MP4 (H.264, the driver's audio when it has one)."),
    side_by_side: bool = typer.Option(default_of(_C, "side_by_side"), "--side-by-side",
                                      help=help_of(_C, "side_by_side")),
    absolute: bool = typer.Option(default_of(_C, "absolute"), "--absolute", help=help_of(_C, "absolute")),
    size: int = typer.Option(default_of(_C, "size"), "--size", help=help_of(_C, "size")),
    fps: float = typer.Option(default_of(_C, "fps"), "--fps", help=help_of(_C, "fps")),
    device: str = typer.Option(default_of(_C, "device"), "--device", help=help_of(_C, "device")),
    smooth: float = typer.Option(default_of(_C, "smooth"), "--smooth", help=help_of(_C, "smooth")),
    start: float = typer.Option(default_of(_C, "start"), "--start", help=help_of(_C, "start")),
    duration: float = typer.Option(default_of(_C, "duration"), "--duration", help=help_of(_C, "duration")),
    batch: int = typer.Option(default_of(_C, "batch"), "--batch", help=help_of(_C, "batch")),
    background: str = typer.Option(default_of(_C, "background"), "--background", help=help_of(_C, "background")),
) -> None:
    """Drive an avatar with another video: expression, jaw and head pose follow the driver.

    By default the driver's change from its own neutral face and mean head pose is applied to the avatar
    (relative transfer); frames without a face hold the last tracked pose.
    """
    from dejavu_cli.usecases.reenact_video import reenact as run

    cfg = ReenactConfig(absolute=absolute, side_by_side=side_by_side, size=size, fps=fps, device=device,
                        smooth=smooth, start=start, duration=duration, batch=batch, background=background)
    res = run(avatar, driver, out, cfg, log=typer.echo)
    typer.echo(f"rendering: {res.n_frames} frames in {res.render_seconds:.1f} s = {res.render_fps:.2f} frames/s "
               f"(animate + render, without decode/encode)")
    typer.echo(f"wrote {res.out} ({res.size[0]}x{res.size[1]}, {res.n_frames} frames at {res.fps:.3f} fps"
               f"{', with the driver audio' if res.has_audio else ''})")
