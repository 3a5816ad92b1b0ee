"""`dejavu reenact`: Drive an avatar with another video."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def reenact(avatar: str = typer.Argument(...), driver: str = typer.Argument(...)) -> None:
    """Drive an avatar with another video."""
    raise NotImplementedYet("'dejavu reenact' is not implemented yet")
