"""`dejavu info`: Summarize an avatar or tracking file."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def info(file: str = typer.Argument(...)) -> None:
    """Summarize an avatar or tracking file."""
    raise NotImplementedYet("'dejavu info' is not implemented yet")
