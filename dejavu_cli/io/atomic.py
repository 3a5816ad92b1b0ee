"""Atomic output files: write to a temporary sibling, then rename.

A crash, Ctrl-C or error never leaves a half-written file at the destination, and an existing file is
only replaced once the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success rename it onto ``dest``.

    ``suffix`` defaults to the destination's suffix so tools that look at the extension (ffmpeg, numpy)
    behave. On any exception the temporary file is removed and the exception propagates.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix if suffix is not None else dest.suffix,
                               dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp creates 0600; give the result the permissions a new file would get
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def save_npz_atomic(dest: str | os.PathLike, arrays: dict, compressed: bool = True) -> Path:
    """Write ``arrays`` (name -> numpy array, no object arrays) as an NPZ, atomically."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"refusing to store object array {key!r} (NPZ files are pickle-free)")
    with atomic_path(dest, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return Path(dest)
