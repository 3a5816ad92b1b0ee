"""Pickle-free NPZ reading with a size budget and schema checks; one-line errors.

:func:`load_npz` opens the archive as a zip, sums the uncompressed sizes of its members from the zip headers
(``ZipInfo.file_size``) and refuses the file when they exceed ``budget`` bytes, before decompressing anything.
Each ``.npy`` member's header (shape, dtype) is read first and must agree with its stored size, so a header
that claims a huge shape cannot make numpy allocate it. Members outside ``allowed`` are skipped unread.
:func:`check_fields` validates the loaded arrays against a per-format schema (:class:`Field`): dtype kind,
shape (with named dimensions that must agree across fields), finiteness and value range; every failure names
the file and the field.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from dejavu_cli.errors import DejavuError

#: Default ceiling on the uncompressed size of one NPZ (bytes); ``$DEJAVU_NPZ_BUDGET_MB`` overrides it.
DEFAULT_BUDGET = 2 << 30


def looks_like_npz(path: str | os.PathLike) -> bool:
    """True when the file starts like a zip archive (an NPZ, possibly damaged); False for any other file."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def budget_bytes(default: int = DEFAULT_BUDGET) -> int:
    """The budget in bytes: ``$DEJAVU_NPZ_BUDGET_MB`` when set (a positive number), else ``default``."""
    env = os.environ.get("DEJAVU_NPZ_BUDGET_MB", "").strip()
    try:
        return int(float(env) * (1 << 20)) if env and float(env) > 0 else default
    except ValueError:
        return default


def write_npz(path: str | os.PathLike, arrays: dict, compressed: bool = True) -> Path:
    """Write ``arrays`` (name -> array, no object arrays) to ``path`` directly (not atomic: for a temp file
    the caller renames, e.g. :func:`dejavu_cli.io.group.atomic_group`). Same format as ``np.savez``; unlike it,
    the archive is closed when a write fails (full disk), so the OSError is the only error."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"refusing to store object array {key!r} (NPZ files are pickle-free)")
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with open(path, "wb") as fh, zipfile.ZipFile(fh, "w", compression=method, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    return Path(path)


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:  # 3.0 (utf-8 field names): no public reader
            shape, _, dtype = np.lib.format._read_array_header(fp, version)
    return tuple(int(s) for s in shape), dtype


def load_npz(path: str | os.PathLike, what: str = "file", allowed: Iterable[str] | None = None,
             budget: int | None = None) -> dict[str, np.ndarray]:
    """Arrays of an NPZ, read with ``allow_pickle=False`` after the size checks above.

    ``allowed``: member names to read (others are skipped unread); ``budget``: bytes of uncompressed data
    (default :func:`budget_bytes`). Raises :class:`DejavuError` for a missing, truncated, non-NPZ, oversized
    or pickle-carrying file.
    """
    path = Path(path)
    if not path.exists():
        raise DejavuError(f"{what} not found: {path}")
    if path.is_dir():
        raise DejavuError(f"{what} is a folder, not a file: {path}")
    if not zipfile.is_zipfile(path):
        try:
            with open(path, "rb") as fh:
                head = fh.read(6)
        except OSError as exc:
            raise DejavuError(f"cannot read {path}: {exc.strerror or exc}") from None
        kind = "a single .npy array" if head == b"\x93NUMPY" else ("damaged or truncated" if head[:2] == b"PK"
                                                                    else "another kind of file")
        raise DejavuError(f"{path} is not an NPZ archive ({what} expected; it is {kind})")
    limit = budget_bytes() if budget is None else int(budget)
    want = None if allowed is None else set(allowed)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if i.filename.endswith(".npy")
                     and (want is None or i.filename[:-4] in want)]
            total = sum(i.file_size for i in infos)
            if total > limit:
                raise DejavuError(f"{path}: {total / 2**20:.0f} MB uncompressed exceeds the {limit / 2**20:.0f} MB "
                                  f"budget for a {what} (damaged or hostile file? raise $DEJAVU_NPZ_BUDGET_MB)")
            out = {}
            for info in infos:
                name = info.filename[:-4]
                shape, dtype = _member_header(zf, info)
                if dtype.hasobject:
                    raise DejavuError(f"{path} holds pickled objects in {name!r}, refused ({what} expected)")
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise DejavuError(f"{path}: field {name} claims shape {list(shape)} {dtype}, more than the "
                                      f"{info.file_size} bytes stored (damaged {what})")
                with zf.open(info) as fp:
                    out[name] = np.lib.format.read_array(fp, allow_pickle=False)
            return out
    except DejavuError:
        raise
    except ValueError as exc:  # object arrays need pickle, or a malformed .npy header
        raise DejavuError(f"{path} is not a readable {what} (bad array header): {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, RuntimeError) as exc:
        raise DejavuError(f"{path} is not a readable {what} (truncated or damaged NPZ): {exc}") from None


@dataclass(frozen=True)
class Field:
    """Schema of one NPZ member. ``kinds``: accepted numpy dtype kinds ("f" float, "i"/"u" integers, "b" bool,
    "U" text); ``shape``: ints, dimension names (bound on first use, equal everywhere) or None (any size);
    ``finite``: no NaN/inf (floats); ``min``/``max``: inclusive value range; ``optional``: may be absent."""
    kinds: str
    shape: tuple = ()
    finite: bool = True
    min: float | None = None
    max: float | None = None
    optional: bool = False


def _fmt(shape: tuple) -> str:
    return "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"


def check_fields(data: dict[str, np.ndarray], schema: dict[str, Field], where: str,
                 dims: dict[str, int] | None = None) -> dict[str, int]:
    """Check ``data`` against ``schema``; DejavuError ``"WHERE: field NAME ..."`` for the first problem.

    Returns the bound dimension names (``dims`` may pre-bind some)."""
    dims = dict(dims or {})
    for name, f in schema.items():
        if name not in data:
            if f.optional:
                continue
            raise DejavuError(f"{where}: field {name} is missing")
        a = data[name]
        if a.dtype.kind not in f.kinds:
            raise DejavuError(f"{where}: field {name} has dtype {a.dtype}, expected "
                              f"{'/'.join(_KIND_NAMES.get(k, k) for k in f.kinds)}")
        if a.ndim != len(f.shape):
            raise DejavuError(f"{where}: field {name} has shape {list(a.shape)}, expected {_fmt(f.shape)}")
        for axis, (got, exp) in enumerate(zip(a.shape, f.shape)):
            if isinstance(exp, str):
                exp = dims.setdefault(exp, got)
            if exp is not None and got != exp:
                want = _fmt(tuple(dims.get(s, s) if isinstance(s, str) else s for s in f.shape))
                raise DejavuError(f"{where}: field {name} has shape {list(a.shape)}, expected {want}")
        if a.dtype.kind in "fiub" and a.size:
            if f.finite and a.dtype.kind == "f" and not np.isfinite(a).all():
                raise DejavuError(f"{where}: field {name} has NaN or infinite values")
            vals = a[np.isfinite(a)] if a.dtype.kind == "f" else a
            if f.min is not None and vals.size and vals.min() < f.min:
                raise DejavuError(f"{where}: field {name} has value {vals.min()!r} below {f.min}")
            if f.max is not None and vals.size and vals.max() > f.max:
                raise DejavuError(f"{where}: field {name} has value {vals.max()!r} above {f.max}")
    return dims


_KIND_NAMES = {"f": "float", "i": "int", "u": "uint", "b": "bool", "U": "text"}


def require(ok: bool, where: str, message: str) -> None:
    """DejavuError ``"WHERE: MESSAGE"`` unless ``ok`` (cross-field checks of a schema)."""
    if not ok:
        raise DejavuError(f"{where}: {message}")
