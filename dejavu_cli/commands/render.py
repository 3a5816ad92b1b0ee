"""`dejavu render`: Render an avatar to an MP4 (orbit or fixed view)."""

from __future__ import annotations

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import option
from dejavu_cli.usecases.config import RenderConfig

_C = RenderConfig


def render(
    avatar: str = typer.Argument(..., metavar="AVATAR", help="Avatar file (.npz)."),
    output: str = options.output("MP4 to write (H.264), or with --sheet a PNG", ".mp4"),
    sheet: bool = typer.Option(False, "--sheet", help="Write a PNG contact sheet instead: the neutral avatar from "
                                                      "0, 45, 90, 135 and 180 degrees, then the front at neutral, "
                                                      "smile, surprise, frown and blink (--size per picture)."),
    turntable: bool = option(_C, "turntable"),
    size: int = option(_C, "size"),
    frames: int = option(_C, "frames"),
    fps: float = option(_C, "fps"),
    batch: int = option(_C, "batch"),
    expression: str = option(_C, "expression", metavar="NAME"),
    elevation: float = option(_C, "elevation"),
    device: str = option(_C, "device"),
    background: str = option(_C, "background"),
) -> None:
    """Render an avatar to an MP4 (orbit or fixed view).

    Example: dejavu render me.npz --turntable -o turn.mp4 --size 512   (or --sheet -o sheet.png)
    """
    from dejavu_cli.io.outputs import prepare_output  # first and light: a bad location fails at once

    if sheet:
        output = str(prepare_output(output, ".png", "contact sheet", inputs=(avatar,)))
        from dejavu_cli.usecases.render_video import render_contact_sheet

        res = render_contact_sheet(avatar, output, size=size, device=device,
                                   background=1.0 if background == "white" else 0.0)
        typer.echo(f"contact sheet {res['width']}x{res['height']} ({res['gaussians']} Gaussians, {res['device']}) "
                   f"-> {output}")
        return
    output = str(prepare_output(output, ".mp4", "video", inputs=(avatar,)))

    from dejavu_cli.usecases.render_video import render_avatar_video

    cfg = RenderConfig(turntable=turntable, size=size, frames=frames, fps=fps, batch=batch,
                       expression=expression, elevation=elevation, device=device, background=background)
    res = render_avatar_video(avatar, output, cfg)
    typer.echo(f"{res['frames']} frames {res['size']}x{res['size']} at {res['fps']:g} fps "
               f"({res['gaussians']} Gaussians, {res['device']}) -> {res['output']}")
