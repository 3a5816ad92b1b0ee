"""`dejavu export`: Export an avatar: 3DGS PLY, .splat, UV-map NPZ."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def export(avatar: str = typer.Argument(...)) -> None:
    """Export an avatar: 3DGS PLY, .splat, UV-map NPZ."""
    raise NotImplementedYet("'dejavu export' is not implemented yet")
