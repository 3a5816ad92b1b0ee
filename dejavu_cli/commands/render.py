"""`dejavu render`: Render an avatar to an MP4 (orbit or fixed view)."""

from __future__ import annotations

import typer

from dejavu_cli.config import default_of, help_of
from dejavu_cli.usecases.config import RenderConfig

_D = lambda name: default_of(RenderConfig, name)  # noqa: E731
_H = lambda name: help_of(RenderConfig, name)  # noqa: E731


def render(
    avatar: str = typer.Argument(..., help="Avatar file (.npz)."),
    output: str = typer.Option(..., "-o", "--output", help="MP4 to write."),
    turntable: bool = typer.Option(_D("turntable"), "--turntable", help=_H("turntable")),
    size: int = typer.Option(_D("size"), "--size", help=_H("size")),
    frames: int = typer.Option(_D("frames"), "--frames", help=_H("frames")),
    fps: float = typer.Option(_D("fps"), "--fps", help=_H("fps")),
    batch: int = typer.Option(_D("batch"), "--batch", help=_H("batch")),
    expression: str = typer.Option(_D("expression"), "--expression", help=_H("expression")),
    device: str = typer.Option(_D("device"), "--device", help=_H("device")),
    background: str = typer.Option(_D("background"), "--background", help=_H("background")),
) -> None:
    """Render an avatar to an MP4 (orbit or fixed view)."""
    from dejavu_cli.usecases.render_video import render_avatar_video

    cfg = RenderConfig(turntable=turntable, size=size, frames=frames, fps=fps, batch=batch,
                       expression=expression, device=device, background=background)
    res = render_avatar_video(avatar, output, cfg)
    typer.echo(f"{res['frames']} frames {res['size']}x{res['size']} at {res['fps']:g} fps "
               f"({res['gaussians']} Gaussians, {res['device']}) -> {output}")
