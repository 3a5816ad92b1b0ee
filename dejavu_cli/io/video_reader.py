"""Streaming video decode through the ffmpeg binary of imageio-ffmpeg.

Any container/codec ffmpeg reads works (mp4/H.264, mov/HEVC, webm/VP9, ...). Frames come out as uint8 RGB
``[H, W, 3]`` one at a time, so a 4K clip never sits in memory as a whole. ffmpeg applies the rotation
metadata (display matrix / ``rotate`` tag) while decoding, so frames are upright and ``VideoInfo.size`` is
the upright size. Odd sizes are decoded as they are (rgb24 has no chroma subsampling).

ffmpeg's stderr is drained on a thread while frames are read (:class:`dejavu_cli.io.subproc.StderrTail`),
so a damaged video that makes ffmpeg print megabytes of errors cannot deadlock the pipe; a decoder that
stops producing data for :data:`STALL_SECONDS` is killed. Frames that decode with errors are kept and
reported (one line through ``log``, else a :class:`DamagedVideoWarning`). File names reach ffmpeg as
``file:/absolute/path`` so a name like ``take:1.mp4`` is never read as a protocol.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import imageio_ffmpeg
import numpy as np

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.subproc import StderrTail, ffmpeg_path_arg

#: ffmpeg lines about our raw output muxer, not about damage in the input (variable-frame-rate sources).
MUXER_NOISE = r"non monotonically increasing dts|Last message repeated"
#: A decoder that delivers no data for this long while we wait for a frame is killed (DejavuError).
STALL_SECONDS = 120.0


class DamagedVideoWarning(UserWarning):
    """ffmpeg reported decode errors but frames came out (they are used; some may show artefacts)."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    n_frames: int
    size: tuple[int, int]   # (width, height) of the decoded, upright frames
    rotation: int           # degrees of the rotation metadata ffmpeg applied (0, 90, 180, 270)
    has_audio: bool
    codec: str
    duration: float         # seconds, from the container


def _ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise DejavuError(f"video not found: {path}")
    if path.is_dir():
        raise DejavuError(f"video is a folder, not a file: {path}")
    return path


def parse_rotation(header: str) -> int:
    """Rotation in degrees (0/90/180/270, clockwise display) from an ffmpeg ``-i`` header text."""
    m = re.search(r"display ?matrix: rotation of (-?[0-9.]+) degrees", header, re.IGNORECASE)
    if m:
        return int(round(-float(m.group(1)))) % 360
    m = re.search(r"rotate\s+:\s*(-?[0-9]+)", header)
    return int(m.group(1)) % 360 if m else 0


def _header(path: Path) -> str:
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-i", ffmpeg_path_arg(path)], capture_output=True,
                          timeout=60)
    return proc.stderr.decode("utf-8", "replace")


def probe(path: str | os.PathLike) -> VideoInfo:
    """Container facts of a video; raises :class:`DejavuError` for a file that is not a readable video."""
    path = _check_path(path)
    header = _header(path)
    video_lines = [ln for ln in header.splitlines() if ln.strip().startswith("Stream") and " Video: " in ln]
    if not video_lines:
        raise DejavuError(f"{path} is not a video ffmpeg can read (no video stream)")
    line = video_lines[0]
    codec = line.split(" Video: ", 1)[1].split()[0].rstrip(",")
    m = re.search(r"[ ,](\d{2,5})x(\d{2,5})[ ,\[]", line + " ")
    if not m:
        raise DejavuError(f"{path}: cannot read the frame size of the video stream")
    w, h = int(m.group(1)), int(m.group(2))
    rotation = parse_rotation(header)
    if rotation in (90, 270):
        w, h = h, w
    fps = 0.0
    for pat in (r"([0-9.]+) fps", r"([0-9.]+)k? tbr"):
        fm = re.search(pat, line)
        if fm:
            fps = float(fm.group(1))
            break
    dm = re.search(r"Duration: (\d+):(\d+):([0-9.]+)", header)
    duration = int(dm.group(1)) * 3600 + int(dm.group(2)) * 60 + float(dm.group(3)) if dm else 0.0
    has_audio = any(ln.strip().startswith("Stream") and " Audio: " in ln for ln in header.splitlines())
    n_frames = count_frames(path)
    if n_frames == 0:
        raise DejavuError(f"{path} has no video frames")
    if fps <= 0:
        fps = n_frames / duration if duration > 0 else 25.0
    return VideoInfo(str(path), fps, n_frames, (w, h), rotation, has_audio, codec, duration)


def count_frames(path: str | os.PathLike) -> int:
    """Number of video frames, counted by ffmpeg without decoding (packet copy), 0 if none."""
    path = _check_path(path)
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-nostats", "-progress", "pipe:1", "-i", ffmpeg_path_arg(path),
                           "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                          capture_output=True, timeout=600)
    frames = re.findall(rb"frame=\s*(\d+)", proc.stdout) or re.findall(rb"frame=\s*(\d+)", proc.stderr)
    if proc.returncode != 0 and not frames:
        raise DejavuError(f"{path} is not a video ffmpeg can read")
    return int(frames[-1]) if frames else 0


def scaled_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """(width, height) after shrinking so the longer side is at most ``max_side`` (never enlarged)."""
    w, h = size
    if not max_side or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def iter_frames(path: str | os.PathLike, info: VideoInfo | None = None,
                frames: Iterable[int] | None = None, max_side: int | None = None,
                log: Callable[[str], None] | None = None, stall_seconds: float | None = None
                ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, frame uint8 [H, W, 3])`` in order; only the indices in ``frames`` if given.

    Decoding is streamed (one frame in memory at a time) and stops after the last wanted index.
    ``max_side``: let ffmpeg shrink frames (area filter) so the longer side is at most this (see
    :func:`scaled_size`); much cheaper than piping 4K frames and resizing them here. Decode errors with
    frames still coming out are reported once at the end through ``log(line)`` (default: a
    :class:`DamagedVideoWarning`); no frame at all, or a decoder stalled for ``stall_seconds`` (default
    :data:`STALL_SECONDS`), raises :class:`DejavuError`.
    """
    path = _check_path(path)
    info = info or probe(path)
    wanted = None if frames is None else sorted(set(int(i) for i in frames))
    if wanted is not None and not wanted:
        return
    last = wanted[-1] if wanted is not None else None
    wanted_set = set(wanted) if wanted is not None else None
    w, h = scaled_size(info.size, max_side)
    nbytes = w * h * 3
    scale = [] if (w, h) == tuple(info.size) else ["-vf", f"scale={w}:{h}:flags=area"]
    cmd = [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", ffmpeg_path_arg(path),
           "-map", "0:v:0", *scale, "-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            bufsize=nbytes * 2)
    errors = StderrTail(proc.stderr, ignore=MUXER_NOISE)
    watch = _Watchdog(proc, STALL_SECONDS if stall_seconds is None else stall_seconds)
    index, complete = -1, False
    try:
        while True:
            with watch.reading():
                buf = proc.stdout.read(nbytes)
            if not buf:
                complete = True
                break
            if len(buf) < nbytes:
                complete = True
                break  # truncated last frame: ignore
            index += 1
            if wanted_set is None or index in wanted_set:
                yield index, np.frombuffer(buf, np.uint8).reshape(h, w, 3)
            if last is not None and index >= last:
                break
    finally:
        watch.stop()
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()
        errors.join()
        proc.stderr.close()
    if watch.fired:
        raise DejavuError(f"{path}: ffmpeg stopped delivering frames for {watch.seconds:.0f} s after frame "
                          f"{index + 1} (damaged video?); killed it")
    if index < 0:
        raise DejavuError(f"{path}: could not decode any frame ({errors.first_error('no frames decoded')})")
    failed = complete and proc.returncode != 0  # ffmpeg gave up part-way without saying why
    if errors.lines or failed:
        line = (f"{path}: ffmpeg reported {max(errors.lines, 1)} decode error line(s); {index + 1} frames decoded "
                f"and used (last: {errors.first_error()})")
        if log is not None:
            log(line)
        else:
            warnings.warn(line, DamagedVideoWarning, stacklevel=2)


class _Watchdog:
    """Kills ``proc`` when one read waits longer than ``seconds`` (time the consumer spends between reads
    does not count)."""

    def __init__(self, proc: subprocess.Popen, seconds: float):
        self.proc, self.seconds, self.fired = proc, float(seconds), False
        self._since: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def reading(self):
        """Times the block as one read."""
        self._since = time.monotonic()
        try:
            yield
        finally:
            self._since = None

    def _run(self) -> None:
        while not self._done.wait(min(1.0, self.seconds / 4)):
            since = self._since
            if since is not None and time.monotonic() - since > self.seconds and self.proc.poll() is None:
                self.fired = True
                self.proc.kill()
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)


def read_frames(path: str | os.PathLike, frames: Iterable[int] | None = None) -> np.ndarray:
    """All (or the selected) frames as one array ``uint8 [T, H, W, 3]`` (for short clips and tests)."""
    return np.stack([f for _, f in iter_frames(path, frames=frames)])
