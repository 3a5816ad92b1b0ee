"""`dejavu train-recon`: Train the single-image reconstruction network."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet


def train_recon(data: str = typer.Argument(...)) -> None:
    """Train the single-image reconstruction network."""
    raise NotImplementedYet("'dejavu train-recon' is not implemented yet")
