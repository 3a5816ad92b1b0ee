"""Where dejavu keeps converted head models, downloads and caches.

``$DEJAVU_HOME`` (default ``~/.cache/dejavu``). Layout::

    $DEJAVU_HOME/heads/<name>.npz      converted head models (ict.npz, flame.npz)
    $DEJAVU_HOME/tracks/<sha>.track.npz cached tracking results keyed by video hash
    $DEJAVU_HOME/samples/              sample media (demo)
"""

from __future__ import annotations

import os
from pathlib import Path


def dejavu_home() -> Path:
    """The root cache folder (created on demand)."""
    root = Path(os.environ.get("DEJAVU_HOME", Path.home() / ".cache" / "dejavu")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def home_subdir(name: str) -> Path:
    path = dejavu_home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
