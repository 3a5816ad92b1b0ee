"""`dejavu reconstruct`: Single-photo avatar (reconstruction network + short optimization)."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def reconstruct(photo: str = typer.Argument(...)) -> None:
    """Single-photo avatar (reconstruction network + short optimization)."""
    raise NotImplementedYet("'dejavu reconstruct' is not implemented yet")
