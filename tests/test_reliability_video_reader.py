"""Reliability of video decoding: damaged streams (megabytes of ffmpeg errors), stalls, protocol-like names."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import imageio_ffmpeg
import numpy as np
import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.video_reader import DamagedVideoWarning, VideoInfo, iter_frames, probe, read_frames


def ffmpeg(*args):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True,
                   timeout=120)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A clip whose payload is sprinkled with random bytes: ffmpeg prints far more than 64 KB of errors
    (the pipe buffer) but still decodes most frames."""
    d = tmp_path_factory.mktemp("damaged")
    good = d / "good.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "12", "-c:v", "libx264", "-preset",
           "ultrafast", "-x264-params", "slices=8", "-movflags", "+faststart", good)
    data = bytearray(good.read_bytes())
    start = data.find(b"mdat") + 2000
    rng = np.random.default_rng(0)
    for j in rng.integers(start, len(data), 6000):
        data[j] = int(rng.integers(0, 256))
    bad = d / "bad.mp4"
    bad.write_bytes(bytes(data))
    hopeless = d / "hopeless.mp4"  # the header survives, every payload byte is noise
    hopeless.write_bytes(bytes(data[:start]) + rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes())
    return d


def test_damaged_video_with_megabytes_of_errors_does_not_hang(damaged):
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(damaged / "bad.mp4"),
                           "-f", "null", "-"], capture_output=True, timeout=60)
    assert len(proc.stderr) > 64 * 1024  # the case that deadlocked: more than a pipe buffer of errors
    lines = []
    t0 = time.monotonic()
    n = sum(1 for _ in iter_frames(damaged / "bad.mp4", log=lines.append))
    assert time.monotonic() - t0 < 30
    assert n > 100
    assert len(lines) == 1 and "decode error" in lines[0] and f"{n} frames decoded" in lines[0]


def test_damaged_video_warns_without_a_log(damaged):
    with pytest.warns(DamagedVideoWarning, match="decode error"):
        for _ in iter_frames(damaged / "bad.mp4", frames=range(0, 400, 50)):
            pass


def test_stream_damaged_beyond_use_is_one_line(damaged):
    info = VideoInfo(str(damaged / "hopeless.mp4"), 25.0, 300, (320, 240), 0, False, "h264", 12.0)
    t0 = time.monotonic()
    with pytest.raises(DejavuError) as exc:
        list(iter_frames(damaged / "hopeless.mp4", info=info))
    assert time.monotonic() - t0 < 30
    assert "could not decode any frame" in str(exc.value) and "\n" not in str(exc.value)


def test_stalled_decoder_is_killed(tmp_path):
    fifo = tmp_path / "stall.mp4"
    os.mkfifo(fifo)  # ffmpeg blocks opening it: nobody ever writes
    info = VideoInfo(str(fifo), 25.0, 10, (64, 48), 0, False, "h264", 1.0)
    t0 = time.monotonic()
    with pytest.raises(DejavuError, match="stopped delivering frames"):
        list(iter_frames(fifo, info=info, stall_seconds=1.5))
    assert time.monotonic() - t0 < 15


def test_protocol_like_file_name(tmp_path, monkeypatch):
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "0.5", "-c:v", "libx264", "-pix_fmt",
           "yuv420p", tmp_path / "plain.mp4")
    shutil.copy(tmp_path / "plain.mp4", tmp_path / "take:1.mp4")
    monkeypatch.chdir(tmp_path)
    info = probe("take:1.mp4")  # relative: ffmpeg would read protocol "take"
    assert info.n_frames == 5 and info.size == (64, 48)
    assert read_frames("take:1.mp4").shape == (5, 48, 64, 3)
    shutil.copy(tmp_path / "plain.mp4", tmp_path / "-i.mp4")  # would be read as an option
    assert probe("-i.mp4").n_frames == 5
