"""`dejavu reenact`: Drive an avatar with another video."""

from __future__ import annotations

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import option
from dejavu_cli.reenact.config import ReenactConfig

_C = ReenactConfig


def reenact(
    avatar: str = typer.Argument(..., metavar="AVATAR", help="Avatar file (.npz) from 'dejavu create' or "
                                                             "'dejavu template'."),
    driver: str = typer.Argument(..., metavar="DRIVER", help="Driver video (any format ffmpeg reads) of a face."),
    output: str = options.output("MP4 to write (H.264, with the driver's audio when it has one)", ".mp4"),
    side_by_side: bool = option(_C, "side_by_side"),
    absolute: bool = option(_C, "absolute"),
    size: int = option(_C, "size"),
    fps: float = option(_C, "fps"),
    device: str = option(_C, "device"),
    smooth: float = option(_C, "smooth"),
    start: float = option(_C, "start"),
    duration: float = option(_C, "duration"),
    batch: int = option(_C, "batch"),
    background: str = option(_C, "background"),
    frames_out: str = option(_C, "frames_out"),
    frames_format: str = option(_C, "frames_format"),
) -> None:
    """Drive an avatar with another video: expression, jaw and head pose follow the driver.

    By default the driver's change from its own neutral face and mean head pose is applied to the avatar
    (relative transfer); frames without a face hold the last tracked pose.

    Example: dejavu reenact me.npz driver.mp4 -o out.mp4 --side-by-side   (--frames-out DIR: a splat per frame)
    """
    from dejavu_cli.io.outputs import prepare_output  # first and light: a bad location fails at once

    output = str(prepare_output(output, ".mp4", "video", inputs=(avatar, driver)))

    from dejavu_cli.usecases.reenact_video import reenact as run

    cfg = ReenactConfig(absolute=absolute, side_by_side=side_by_side, size=size, fps=fps, device=device,
                        smooth=smooth, start=start, duration=duration, batch=batch, background=background,
                        frames_out=frames_out, frames_format=frames_format)
    res = run(avatar, driver, output, cfg, log=lambda s: typer.echo(s, err=True))
    typer.echo(f"rendering: {res.n_frames} frames in {res.render_seconds:.1f} s = {res.render_fps:.2f} frames/s "
               f"(animate + render, without decode/encode)")
    typer.echo(f"wrote {res.out} ({res.size[0]}x{res.size[1]}, {res.n_frames} frames at {res.fps:.3f} fps"
               f"{', with the driver audio' if res.has_audio else ''})")
    if res.frames_dir is not None:
        typer.echo(f"wrote {res.n_frames} {frames_format.upper()} frames -> {res.frames_dir}")
