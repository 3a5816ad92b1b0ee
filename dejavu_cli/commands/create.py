"""`dejavu create`: Create a personalized avatar from a video (paper section 3.4)."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def create(video: str = typer.Argument(..., help='Input video of one person.')) -> None:
    """Create a personalized avatar from a video (paper section 3.4)."""
    raise NotImplementedYet("'dejavu create' is not implemented yet")
