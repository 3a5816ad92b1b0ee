"""`dejavu template`: Write the initial (not personalized) avatar of a head model."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def template() -> None:
    """Write the initial (not personalized) avatar of a head model."""
    raise NotImplementedYet("'dejavu template' is not implemented yet")
