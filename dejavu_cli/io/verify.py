"""Checks that a freshly written output is what it claims to be, run before it replaces the old file.

Encoders do not always fail loudly: imageio-ffmpeg's ``close()`` never raises, and ffmpeg exits 0 after
"Error writing trailer" on a full disk. :func:`verify_video` decodes the result and compares its frame count;
any problem is one :class:`DejavuError` line, and the caller (inside ``atomic_path``) leaves the old file.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.subproc import ffmpeg_path_arg


def check_nonempty(path: str | os.PathLike, what: str, minimum: int = 1) -> int:
    """Size in bytes of ``path``; DejavuError when it is missing or smaller than ``minimum``."""
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise DejavuError(f"{what} was not written ({exc.strerror or exc})") from None
    if size < minimum:
        raise DejavuError(f"{what} is empty or truncated ({size} bytes)")
    return size


def decoded_frames(path: str | os.PathLike, timeout: float = 600.0) -> tuple[int, list[str]]:
    """(frames ffmpeg decodes from the first video stream, its error lines) for ``path`` (a full decode
    to the null muxer; H.264 at avatar sizes decodes at hundreds of frames per second)."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "error",
           "-progress", "pipe:1", "-i", ffmpeg_path_arg(path), "-map", "0:v:0", "-f", "null", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 0, [f"decoding took over {timeout:.0f} s"]
    frames = re.findall(rb"frame=\s*(\d+)", proc.stdout)
    errors = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    if proc.returncode != 0 and not errors:
        errors = [f"ffmpeg exited with status {proc.returncode}"]
    return (int(frames[-1]) if frames else 0), errors


def verify_video(path: str | os.PathLike, n_frames: int, what: str) -> None:
    """DejavuError unless ``path`` is a non-empty video that decodes without errors to ``n_frames`` frames."""
    check_nonempty(path, what, minimum=32)
    got, errors = decoded_frames(path)
    if errors:
        raise DejavuError(f"{what} does not decode ({errors[-1]}); nothing was replaced")
    if got != n_frames:
        raise DejavuError(f"{what} decodes to {got} frames, {n_frames} were written; nothing was replaced")
