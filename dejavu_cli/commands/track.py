"""`dejavu track`: Landmarks + head-model fit per frame (shape, expression, jaw, pose, camera)."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def track(video: str = typer.Argument(..., help='Input video (any container ffmpeg reads).')) -> None:
    """Landmarks + head-model fit per frame (shape, expression, jaw, pose, camera)."""
    raise NotImplementedYet("'dejavu track' is not implemented yet")
