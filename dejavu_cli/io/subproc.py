"""Subprocess pipes that cannot deadlock: stderr drained by a thread, a bounded tail kept for messages.

A child that writes more than a pipe's buffer (64 KB on Linux) to stderr blocks until someone reads it;
if the parent only reads stderr after stdout ends, both wait for each other forever. :class:`StderrTail`
reads the stream concurrently, keeps the last ``keep`` lines (for a one-line error message) and counts
every line, so memory stays bounded however much the child prints.
"""

from __future__ import annotations

import collections
import os
import re
import threading
from pathlib import Path
from typing import IO


def ffmpeg_path_arg(path: str | os.PathLike) -> str:
    """``path`` as an ffmpeg input/output argument that is never read as a protocol or an option.

    ffmpeg reads ``take:1.mp4`` as protocol ``take`` and ``-x.mp4`` as an option; an absolute path behind
    the ``file:`` protocol is always the file itself."""
    return "file:" + str(Path(path).absolute())


class StderrTail:
    """Drain ``stream`` (a binary pipe) on a daemon thread; ``lines`` counts lines, ``tail`` holds the last
    ``keep`` of them (decoded, stripped). Lines matching ``ignore`` (a regex) are neither counted nor kept."""

    def __init__(self, stream: IO[bytes], keep: int = 20, ignore: str | None = None):
        self._stream = stream
        self._ignore = re.compile(ignore) if ignore else None
        self._tail: collections.deque[str] = collections.deque(maxlen=keep)
        self.lines = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                line = raw.decode("utf-8", "replace").strip()
                if line and not (self._ignore and self._ignore.search(line)):
                    self.lines += 1
                    self._tail.append(line)
        except (OSError, ValueError):  # closed under us: the child was killed
            pass

    def join(self, timeout: float = 10.0) -> "StderrTail":
        """Wait for the stream to end (after the child exited); returns self."""
        self._thread.join(timeout)
        return self

    @property
    def tail(self) -> list[str]:
        return list(self._tail)

    def first_error(self, default: str = "unknown error") -> str:
        """The most telling line of the tail for a one-line message (the last one; ffmpeg ends with the cause)."""
        return self._tail[-1] if self._tail else default
