"""Output locations, checked before any long work: one rule for every command.

The suffix rule: a name without a suffix gets the command's suffix appended (``-o me`` -> ``me.npz``);
a name with another suffix is refused (``render -o x.avi`` would otherwise write MP4 bytes into x.avi).
The folder must exist and take a new file (a real temp file is created and removed, so read-only and
pseudo file systems such as /proc are caught), and the temp name :func:`atomic.atomic_path` will use must
fit the file system's name limit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import temp_name

#: File-name limit assumed where the file system does not say (most Linux file systems: 255 bytes).
_NAME_MAX_FALLBACK = 255


def with_suffix_rule(path: str | os.PathLike, suffix: str, accept: tuple[str, ...] = (), what: str = "output") -> Path:
    """``path`` with ``suffix`` appended when it has none; DejavuError when it ends in another suffix.

    ``accept`` lists further endings taken as they are (e.g. ``.npz`` for a ``.track.npz`` output)."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(suffix.lower()) or any(name.endswith(a.lower()) for a in accept):
        return path
    if path.suffix and not path.name.startswith("."):
        raise DejavuError(f"{what} must end in {suffix}: got {path} (a name without a suffix gets {suffix})")
    return path.with_name(path.name + suffix)


def check_writable(path: Path, what: str = "output", need_bytes: int = 0) -> None:
    """DejavuError unless a new file can be written at ``path`` through a temp sibling, in one line;
    ``need_bytes``: the expected size (checked against the free space, with 10 % to spare)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise DejavuError(f"{what} {path} is a folder; give a file name")
    if not parent.exists():
        raise DejavuError(f"{what} folder does not exist: {parent}")
    if not parent.is_dir():
        raise DejavuError(f"{what} folder {parent} is a file, not a folder")
    tmp = temp_name(path, token=secrets.token_hex(4))  # random like atomic_path's: two runs may probe at once
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = _NAME_MAX_FALLBACK
    if len(os.fsencode(tmp)) > limit:
        raise DejavuError(f"{what} file name is too long for this file system ({len(os.fsencode(path.name))} "
                          f"bytes; at most {limit - (len(os.fsencode(tmp)) - len(os.fsencode(path.name)))}): {path}")
    probe = parent / tmp
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        reason = "read-only file system" if exc.errno == errno.EROFS else (exc.strerror or str(exc)).lower()
        raise DejavuError(f"cannot write the {what} in {parent}: {reason}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    if need_bytes:
        free = shutil.disk_usage(parent).free
        if free < 1.1 * need_bytes:
            raise DejavuError(f"not enough free space for the {what} in {parent}: about {_mb(need_bytes)} needed, "
                              f"{_mb(free)} free")


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def prepare_output(path: str | os.PathLike, suffix: str, what: str = "output", inputs=(),
                   accept: tuple[str, ...] = (), need_bytes: int = 0) -> Path:
    """The checked output path of a command (suffix rule, not one of ``inputs``, writable); call it before
    any work so a bad location fails in a second, not after an hour of optimization."""
    out = with_suffix_rule(path, suffix, accept, what)
    resolved = out.resolve()
    for src in inputs:
        if src and Path(src).exists() and Path(src).resolve() == resolved:
            raise DejavuError(f"refusing to overwrite the input {src} with the {what}")
    check_writable(out, what, need_bytes)
    return out


def video_bytes_estimate(frames: int, width: int, height: int) -> int:
    """A generous size of an H.264 video we write (crf 18 renders stay near 0.05 bytes per pixel)."""
    return int(frames * width * height * 0.15) + 100_000


def prepare_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """An output folder: created when missing (its parent must exist), refused when it is a file; writable."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise DejavuError(f"{what} {folder} is a file, not a folder")
    if not folder.exists():
        if not folder.parent.exists():
            raise DejavuError(f"{what} {folder}: its parent folder does not exist")
        try:
            folder.mkdir()
        except OSError as exc:
            raise DejavuError(f"cannot create the {what} {folder}: {(exc.strerror or str(exc)).lower()}") from None
    check_writable(folder / "probe", what)
    return folder
