"""Write MP4 videos (H.264, yuv420p) through imageio-ffmpeg, atomically, with optional audio muxing."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import imageio_ffmpeg
import numpy as np

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import atomic_path


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, size: tuple[int, int],
                audio_from: str | os.PathLike | None = None, audio_start: float = 0.0, quality: int = 8) -> Path:
    """Encode uint8 RGB frames ``[H, W, 3]`` (``size`` = (W, H), both even) to ``path``.

    The file appears only when complete (temp file + rename). ``audio_from``: a media file whose first
    audio stream, starting at ``audio_start`` seconds, is muxed in (AAC) and cut to the video's length;
    a source without audio gives a silent video. Returns the path; raises DejavuError on bad input.
    """
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise DejavuError(f"video size must be positive and even (H.264 yuv420p), got {w}x{h}")
    if not fps or fps <= 0:
        raise DejavuError(f"fps must be positive, got {fps}")
    path = Path(path)
    if audio_from is not None and Path(audio_from).resolve() == path.resolve():
        raise DejavuError(f"refusing to overwrite the audio source {path}")
    with atomic_path(path, suffix=".mp4") as tmp:
        silent = tmp if audio_from is None else Path(tempfile.mkstemp(suffix=".mp4", dir=tmp.parent)[1])
        try:
            n = _encode(imageio_ffmpeg, silent, frames, fps, (w, h), quality)
            if n == 0:
                raise DejavuError("no frames to write")
            if audio_from is not None:
                _mux(imageio_ffmpeg.get_ffmpeg_exe(), silent, Path(audio_from), audio_start, tmp, n / float(fps))
        finally:
            if silent != tmp:
                silent.unlink(missing_ok=True)
    return path


def _encode(imageio_ffmpeg, dest: Path, frames, fps, size, quality) -> int:
    w, h = size
    writer = imageio_ffmpeg.write_frames(str(dest), (w, h), fps=float(fps), codec="libx264",
                                         pix_fmt_out="yuv420p", quality=quality, macro_block_size=2,
                                         ffmpeg_log_level="error")
    writer.send(None)
    n = 0
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
                raise ValueError(f"frame {n} is {frame.shape} {frame.dtype}, expected ({h}, {w}, 3) uint8")
            writer.send(np.ascontiguousarray(frame))
            n += 1
    finally:
        writer.close()
    return n


def _mux(ffmpeg: str, video: Path, source: Path, start: float, dest: Path, duration: float) -> None:
    """Copy ``video``'s stream and add ``source``'s audio, padded with silence and cut at ``duration``
    seconds, so every video frame is kept (``-shortest`` alone drops the frames after a shorter audio)."""
    if not source.exists():
        raise DejavuError(f"audio source not found: {source}")
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-i", str(video), "-ss", f"{max(0.0, float(start)):.3f}",
           "-i", str(source), "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy", "-c:a", "aac", "-af", "apad",
           "-t", f"{duration:.6f}", str(dest)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise DejavuError(f"could not add the audio of {source.name}: {last}")
