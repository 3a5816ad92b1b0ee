"""Frame selections: ``0:40,52,60:90`` (ranges end-exclusive, single indices) or ``@file`` (one index per line).

Used by ``create --train-frames/--holdout-frames`` and ``evaluate --frames``. Indices are tracking rows
(``dejavu info TRACK --json`` lists them with their head pose); a range may leave out its start (``:40``)
or its end (``400:``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dejavu_cli.errors import DejavuError

#: Largest @file read (bytes): a frame list, not a data set.
MAX_SPEC_FILE = 4_000_000


def parse_frames(spec: str, n: int, what: str = "frames") -> np.ndarray:
    """The sorted unique rows ``int64 [k]`` that ``spec`` selects out of ``n``; DejavuError naming ``what``
    for a malformed spec, an index outside ``0..n-1`` or an empty selection."""
    text = str(spec).strip()
    if text.startswith("@"):
        text = _read_list(Path(text[1:]), what)
    rows: list[np.ndarray] = []
    for part in (p.strip() for p in text.replace("\n", ",").split(",")):
        if not part:
            continue
        rows.append(_part(part, n, what))
    out = np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)
    if out.size == 0:
        raise DejavuError(f"--{what} {spec!r} selects no frame")
    return out.astype(np.int64)


def _part(part: str, n: int, what: str) -> np.ndarray:
    try:
        if ":" in part:
            a, _, b = part.partition(":")
            lo = int(a) if a.strip() else 0
            hi = int(b) if b.strip() else n
            if lo < 0 or hi > n or lo >= hi:
                raise DejavuError(f"--{what}: range {part!r} is empty or outside 0:{n}")
            return np.arange(lo, hi)
        i = int(part)
    except ValueError:
        raise DejavuError(f"--{what}: {part!r} is not an index or a range like 10:40") from None
    if not 0 <= i < n:
        raise DejavuError(f"--{what}: frame {i} is outside 0..{n - 1}")
    return np.array([i])


def _read_list(path: Path, what: str) -> str:
    if not path.is_file():
        raise DejavuError(f"--{what}: frame list {path} not found")
    if path.stat().st_size > MAX_SPEC_FILE:
        raise DejavuError(f"--{what}: frame list {path} is larger than {MAX_SPEC_FILE // 1_000_000} MB")
    text = path.read_text(errors="replace")
    return ",".join(line.split("#")[0].strip() for line in text.splitlines())


def split_frames(valid: np.ndarray, heldout_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) frame indices: frames without a face are skipped, the first 90 % of the
    remaining frames train and the last 10 % (at least one) are held out. valid [T] bool."""
    idx = np.flatnonzero(np.asarray(valid, bool))
    if len(idx) < 2:
        raise DejavuError(f"only {len(idx)} frame(s) with a tracked face; need at least 2 to train and evaluate")
    n_held = max(1, int(round(len(idx) * heldout_fraction)))
    return idx[:-n_held], idx[-n_held:]


def split_rows(valid: np.ndarray, train_spec: str | None, holdout_spec: str | None,
               heldout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) among the tracked (``valid``) rows.

    Without specs: the last ``heldout_fraction`` of the valid rows are held out (the default). With one
    spec the other side is the remaining valid rows; with both, each is its own (they must not overlap).
    Rows without a face are dropped from either side."""
    valid = np.asarray(valid, bool)
    rows = np.flatnonzero(valid)
    if train_spec is None and holdout_spec is None:
        return split_frames(valid, heldout_fraction)
    T = len(valid)
    train = parse_frames(train_spec, T, "train-frames") if train_spec else None
    held = parse_frames(holdout_spec, T, "holdout-frames") if holdout_spec else None
    if train is None:
        train = np.setdiff1d(rows, held)
    if held is None:
        held = np.setdiff1d(rows, train)
    if np.intersect1d(train, held).size:
        raise DejavuError("--train-frames and --holdout-frames overlap")
    train, held = train[valid[train]], held[valid[held]]
    if len(train) == 0 or len(held) == 0:
        raise DejavuError(f"the frame split leaves {len(train)} training and {len(held)} held-out frames with a "
                          f"face; each side needs at least one")
    return train, held
