"""Write MP4 videos (H.264, yuv420p) through the ffmpeg of imageio-ffmpeg, atomically, with optional audio.

Every write is verified before it replaces anything: ffmpeg's exit status and error output (drained on a
thread, :class:`dejavu_cli.io.subproc.StderrTail`), the file's size, and a full decode of the result with
the expected frame count (:func:`dejavu_cli.io.verify.verify_video`). ffmpeg exits 0 after "Error writing
trailer" on a full disk, so the status alone is not enough. On any failure the temp file is removed and the
old file stays; the error is one :class:`DejavuError` line.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import imageio_ffmpeg
import numpy as np

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import atomic_path
from dejavu_cli.io.subproc import StderrTail, ffmpeg_path_arg
from dejavu_cli.io.verify import verify_video


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
        if audio_from is None:
            n = _encode(imageio_ffmpeg.get_ffmpeg_exe(), tmp, frames, fps, (w, h), quality, path.name)
        else:
            # a short name of its own: never longer than the checked temp name, unique by its token
            silent = tmp.with_name(f".dejavu-{secrets.token_hex(4)}.silent.mp4")
            try:
                n = _encode(imageio_ffmpeg.get_ffmpeg_exe(), silent, frames, fps, (w, h), quality, path.name)
                _mux(imageio_ffmpeg.get_ffmpeg_exe(), silent, Path(audio_from), audio_start, tmp, n / float(fps))
            finally:
                silent.unlink(missing_ok=True)
        verify_video(tmp, n, f"the new {path.name}")
    return path


def encoder_command(ffmpeg: str, dest: Path, fps: float, size: tuple[int, int], quality: int) -> list[str]:
    """ffmpeg arguments reading raw RGB frames ``[H, W, 3]`` on stdin and writing H.264 yuv420p MP4 to ``dest``
    (``quality`` 0..10 as imageio-ffmpeg: CRF = int((1 - quality / 10) * 51))."""
    w, h = size
    crf = int((1 - quality / 10.0) * 51)
    rate = str(Fraction(float(fps)).limit_denominator())
    return [ffmpeg, "-y", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-vcodec", "rawvideo",
            "-s", f"{w}x{h}", "-pix_fmt", "rgb24", "-r", rate, "-i", "-", "-an", "-vcodec", "libx264",
            "-pix_fmt", "yuv420p", "-crf", str(crf), "-f", "mp4", ffmpeg_path_arg(dest)]


def _encode(ffmpeg: str, dest: Path, frames, fps, size, quality, name: str) -> int:
    """Pipe ``frames`` to ffmpeg; the frame count. DejavuError when ffmpeg fails or reports an error."""
    w, h = size
    proc = subprocess.Popen(encoder_command(ffmpeg, dest, fps, size, quality), stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors = StderrTail(proc.stderr)
    n, broken = 0, False
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
                raise ValueError(f"frame {n} is {frame.shape} {frame.dtype}, expected ({h}, {w}, 3) uint8")
            try:
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
            except (BrokenPipeError, ConnectionResetError):
                broken = True  # ffmpeg died (disk full, ...); its stderr says why
                break
            n += 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()
        proc.wait()
    finally:
        if proc.poll() is None:  # an exception from the frame source: stop ffmpeg
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        errors.join()
        proc.stderr.close()
    if broken or proc.returncode != 0 or errors.lines:
        why = errors.first_error(f"ffmpeg exited with status {proc.returncode}")
        raise DejavuError(f"could not write {name}: {why}; nothing was replaced")
    if n == 0:
        raise DejavuError("no frames to write")
    return n


def _mux(ffmpeg: str, video: Path, source: Path, start: float, dest: Path, duration: float) -> None:
    """Copy ``video``'s stream and add ``source``'s audio, padded with silence and cut at ``duration``
    seconds, so every video frame is kept (``-shortest`` alone drops the frames after a shorter audio)."""
    if not source.exists():
        raise DejavuError(f"audio source not found: {source}")
    cmd = [ffmpeg, "-y", "-nostdin", "-loglevel", "error", "-i", ffmpeg_path_arg(video),
           "-ss", f"{max(0.0, float(start)):.3f}", "-i", ffmpeg_path_arg(source), "-map", "0:v:0",
           "-map", "1:a:0?", "-c:v", "copy", "-c:a", "aac", "-af", "apad",
           "-t", f"{duration:.6f}", "-f", "mp4", ffmpeg_path_arg(dest)]
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if res.returncode != 0 or res.stderr.strip():  # -loglevel error: any line is an error
        last = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise DejavuError(f"could not add the audio of {source.name}: {last}")
