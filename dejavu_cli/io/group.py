"""Several outputs committed together: every file is written to its temp sibling first, and only when all
of them are complete are they renamed onto their destinations (``create``: avatar, report JSON, report PNG).

If any write fails, every temp file is removed and every old file stays as it was. The renames run
back to back at the end (each one atomic); a crash between two renames is the only window left.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Sequence

from dejavu_cli.io.atomic import atomic_path


@contextlib.contextmanager
def atomic_group(dests: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield one temp path per destination (same order, same suffix); on success rename them all."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(d)) for d in dests]
