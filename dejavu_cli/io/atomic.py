"""Atomic output files: write to a temporary sibling, then rename.

A crash, Ctrl-C or error never leaves a half-written file at the destination, and an existing file is
only replaced once the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Iterator

import numpy as np

from dejavu_cli.io.npz import write_npz


def temp_name(dest: str | os.PathLike, suffix: str | None = None, token: str = "x" * 8) -> str:
    """The name of the temp sibling :func:`atomic_path` writes for ``dest`` (``token``: 8 random characters):
    ``.NAME.TOKEN.SUFFIX``; :func:`dejavu_cli.io.outputs.check_writable` checks that it fits."""
    dest = Path(dest)
    return f".{dest.name}.{token}{suffix if suffix is not None else dest.suffix}"


def _new_file_mode(dest: Path) -> int:
    """The permission bits the result gets: those of the file it replaces, else what a new file gets."""
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success rename it onto ``dest``.

    ``suffix`` defaults to the destination's suffix so tools that look at the extension (ffmpeg, numpy)
    behave. On any exception the temporary file is removed and the exception propagates. A replaced file's
    permission bits are kept.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp_path = dest.parent / temp_name(dest, suffix, secrets.token_hex(4))
        try:
            os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            break
        except FileExistsError:
            continue
    try:
        yield tmp_path
        if tmp_path.exists():  # created 0600; give the result the permissions of the file it replaces
            os.chmod(tmp_path, _new_file_mode(dest))
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
        write_npz(tmp, arrays, compressed=compressed)   # closes its zip on a full disk (np.savez would not)
    return Path(dest)
