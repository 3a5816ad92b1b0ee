"""`dejavu demo`: Run the whole pipeline on a sample clip."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def demo() -> None:
    """Run the whole pipeline on a sample clip."""
    raise NotImplementedYet("'dejavu demo' is not implemented yet")
