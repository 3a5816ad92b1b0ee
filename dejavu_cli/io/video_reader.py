"""Streaming video decode through the ffmpeg binary of imageio-ffmpeg.

Any container/codec ffmpeg reads works (mp4/H.264, mov/HEVC, webm/VP9, ...). Frames come out as uint8 RGB
``[H, W, 3]`` one at a time, so a 4K clip never sits in memory as a whole. ffmpeg applies the rotation
metadata (display matrix / ``rotate`` tag) while decoding, so frames are upright and ``VideoInfo.size`` is
the upright size. Odd sizes are decoded as they are (rgb24 has no chroma subsampling).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import imageio_ffmpeg
import numpy as np

from dejavu_cli.errors import DejavuError


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
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, timeout=60)
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
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-nostats", "-progress", "pipe:1", "-i", str(path),
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
                frames: Iterable[int] | None = None, max_side: int | None = None
                ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, frame uint8 [H, W, 3])`` in order; only the indices in ``frames`` if given.

    Decoding is streamed (one frame in memory at a time) and stops after the last wanted index.
    ``max_side``: let ffmpeg shrink frames (area filter) so the longer side is at most this (see
    :func:`scaled_size`); much cheaper than piping 4K frames and resizing them here.
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
    cmd = [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path), "-map", "0:v:0",
           *scale, "-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=nbytes * 2)
    index = -1
    try:
        while True:
            buf = proc.stdout.read(nbytes)
            if not buf:
                break
            if len(buf) < nbytes:
                break  # truncated last frame: ignore
            index += 1
            if wanted_set is None or index in wanted_set:
                yield index, np.frombuffer(buf, np.uint8).reshape(h, w, 3)
            if last is not None and index >= last:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        proc.stderr.close()
        proc.wait()
    if index < 0:
        first = err.strip().splitlines()[0] if err.strip() else "no frames decoded"
        raise DejavuError(f"{path}: could not decode any frame ({first})")


def read_frames(path: str | os.PathLike, frames: Iterable[int] | None = None) -> np.ndarray:
    """All (or the selected) frames as one array ``uint8 [T, H, W, 3]`` (for short clips and tests)."""
    return np.stack([f for _, f in iter_frames(path, frames=frames)])
