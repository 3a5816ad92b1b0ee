"""Pickle-free NPZ loading with one-line errors."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from dejavu_cli.errors import DejavuError


def looks_like_npz(path: str | os.PathLike) -> bool:
    """True when the file starts like a zip archive (an NPZ, possibly damaged); False for any other file."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def write_npz(path: str | os.PathLike, arrays: dict, compressed: bool = True) -> Path:
    """Write ``arrays`` (name -> array, no object arrays) to ``path`` directly (not atomic: for a temp file
    the caller renames, e.g. :func:`dejavu_cli.io.group.atomic_group`)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"refusing to store object array {key!r} (NPZ files are pickle-free)")
    with open(path, "wb") as fh:
        (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return Path(path)


def load_npz(path: str | os.PathLike, what: str = "file") -> dict[str, np.ndarray]:
    """Load every array of an NPZ into memory with ``allow_pickle=False``.

    Raises :class:`DejavuError` for a missing, truncated, non-NPZ or pickle-carrying file.
    """
    path = Path(path)
    if not path.exists():
        raise DejavuError(f"{what} not found: {path}")
    if path.is_dir():
        raise DejavuError(f"{what} is a folder, not a file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise DejavuError(f"{path} is not an NPZ archive ({what} expected)")
            return {key: data[key] for key in data.files}
    except DejavuError:
        raise
    except ValueError as exc:  # object arrays need pickle
        raise DejavuError(f"{path} holds pickled objects, refused ({what} expected): {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise DejavuError(f"{path} is not a readable {what} (truncated or not an NPZ): {exc}") from None
