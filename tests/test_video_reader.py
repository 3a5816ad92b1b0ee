"""Streaming video reader: containers, rotation metadata, odd sizes, audio, frame selection, errors."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.video_reader import iter_frames, parse_rotation, probe, read_frames


def ffmpeg(*args):
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True,
                   timeout=60)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=161x97:rate=10", "-t", "1", "-pix_fmt", "yuv444p", "-c:v", "libx264",
           "-qp", "0", d / "odd.mp4")
    ffmpeg("-display_rotation", "90", "-i", d / "odd.mp4", "-c", "copy", d / "rot.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=12", "-f", "lavfi", "-i", "sine=frequency=440",
           "-t", "0.5", "-c:v", "libvpx-vp9", "-c:a", "libopus", "-shortest", d / "a.webm")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440", "-t", "0.5", "-c:a", "aac", d / "audio_only.m4a")
    (d / "text.mp4").write_text("not a video")
    return d


def test_probe_odd_size_and_frames(clips):
    info = probe(clips / "odd.mp4")
    assert info.size == (161, 97) and info.n_frames == 10 and info.fps == 10.0
    assert info.rotation == 0 and not info.has_audio and info.codec == "h264"
    frames = read_frames(clips / "odd.mp4")
    assert frames.shape == (10, 97, 161, 3) and frames.dtype == np.uint8


def test_rotation_metadata_is_applied(clips):
    info = probe(clips / "rot.mp4")
    assert info.size == (97, 161) and info.rotation == 270
    upright = read_frames(clips / "rot.mp4", frames=[0])[0]
    plain = read_frames(clips / "odd.mp4", frames=[0])[0]
    # -display_rotation 90 = counter-clockwise: decoded frames are the plain ones turned by 90 degrees
    assert upright.shape == (161, 97, 3)
    assert np.abs(np.rot90(plain, 1).astype(int) - upright).mean() < 1.0


def test_webm_with_audio(clips):
    info = probe(clips / "a.webm")
    assert info.codec == "vp9" and info.has_audio and info.size == (64, 48) and info.n_frames == 6


def test_frame_selection_streams(clips):
    got = [i for i, _ in iter_frames(clips / "odd.mp4", frames=[7, 2, 2])]
    assert got == [2, 7]
    assert read_frames(clips / "odd.mp4", frames=[3]).shape[0] == 1


@pytest.mark.parametrize("name, message", [("text.mp4", "not a video"), ("missing.mp4", "not found"),
                                           ("audio_only.m4a", "no video stream")])
def test_errors_are_one_line(clips, name, message):
    with pytest.raises(DejavuError, match=message) as exc:
        probe(clips / name)
    assert "\n" not in str(exc.value)


def test_parse_rotation_variants():
    assert parse_rotation("    Side data:\n      displaymatrix: rotation of -90.00 degrees") == 90
    assert parse_rotation("      Display Matrix: rotation of 90.00 degrees") == 270
    assert parse_rotation("    rotate          : 180") == 180
    assert parse_rotation("nothing") == 0
