"""`dejavu view`: the avatar live in the browser (viser), with expression, pose and driver controls."""

from __future__ import annotations

import typer

from dejavu_cli.config import option
from dejavu_cli.usecases.config import ViewConfig

_C = ViewConfig


def view(
    avatar: str = typer.Argument(..., metavar="AVATAR", help="Avatar file (.npz)."),
    driver: str = option(_C, "driver"),
    host: str = option(_C, "host"),
    port: int = option(_C, "port"),
    device: str = option(_C, "device"),
) -> None:
    """Look at and drive an avatar in the browser: sliders for every expression of the head model, jaw, eyes
    and head pose, presets (smile, surprise, frown, blink), a turntable, and a timeline that plays a driver
    video's tracked motion. Prints the URL to open; Ctrl-C stops it.

    Example: dejavu view me.npz --driver friend.mp4   (then open http://127.0.0.1:8080)
    """
    from dejavu_cli.config import check_config
    from dejavu_cli.usecases.view_avatar import view as serve

    cfg = ViewConfig(driver=driver, host=host, port=port, device=device)
    check_config(cfg)
    try:
        serve(avatar, cfg, log=lambda s: typer.echo(s))
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the viewer was up
        pass
    typer.echo("viewer stopped")
