"""Where converted head models live: ``$DEJAVU_HOME/heads/<name>.npz`` (written by ``dejavu setup``)."""

from __future__ import annotations

from pathlib import Path

from dejavu_cli.home import home_subdir


def head_path(name: str) -> Path:
    """The cache file of the converted model ``name``."""
    return home_subdir("heads") / f"{name}.npz"
