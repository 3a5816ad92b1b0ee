"""`dejavu render`: Render an avatar to an MP4 (orbit or fixed view)."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def render(avatar: str = typer.Argument(...)) -> None:
    """Render an avatar to an MP4 (orbit or fixed view)."""
    raise NotImplementedYet("'dejavu render' is not implemented yet")
