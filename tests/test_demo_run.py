"""`dejavu demo` end to end at tiny settings (--quick) on a short real clip, and its one-line errors."""

import json
import subprocess

import pytest
from conftest import VIDEOS, need

from dejavu_cli.cli import main


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    """1.2 s of a shared clip, re-encoded into tmp (never committed)."""
    import imageio_ffmpeg

    src = need(VIDEOS / "talking_woman_15s.mp4")
    out = tmp_path_factory.mktemp("democlip") / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-ss", "2", "-i", str(src),
                    "-t", "1.2", "-vf", "scale=256:256", "-c:v", "libx264", "-c:a", "aac", str(out)], check=True)
    return out


@pytest.mark.slow
def test_demo_quick_leaves_avatar_ply_report_and_video(ict_head, short_clip, tmp_path, capsys):
    from dejavu_cli.avatar.file import load_avatar
    from dejavu_cli.io.video_reader import probe

    out = tmp_path / "demo"
    code = main(["demo", "--video", str(short_clip), "-o", str(out), "--device", "cpu", "--quick",
                 "--reenact-seconds", "0.5"])
    text = capsys.readouterr().out
    assert code == 0, text
    for name in ("avatar.npz", "avatar.report.json", "avatar.ply", "reenact.mp4"):
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in text  # the paths are printed
    assert load_avatar(out / "avatar.npz").head == "ict"
    assert (out / "avatar.ply").read_bytes().startswith(b"ply\n")
    report = json.loads((out / "avatar.report.json").read_text())
    assert report["psnr"] > 0 and report["gaussians"] > 0
    assert f"held-out PSNR {report['psnr']:.2f} dB" in text and "frames/s" in text   # a human summary
    assert not text.strip().splitlines()[-1].startswith("{")
    video = probe(out / "reenact.mp4")
    src = probe(short_clip)
    assert abs(video.fps - src.fps) < 0.01 and video.n_frames == 15 and video.size == (128, 64)


def test_demo_errors_are_one_line(tmp_path, capsys, session_home):
    code = main(["demo", "--video", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and "not found" in err
    (tmp_path / "f").write_text("x")
    code = main(["demo", "-o", str(tmp_path / "f"), "--video", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert code != 0 and "folder" in err
    assert not (tmp_path / "d").exists()


def test_demo_flame_not_set_up_names_the_command(tmp_path, capsys, session_home):
    from dejavu_cli.head.registry import is_ready

    if is_ready("flame"):
        pytest.skip("FLAME is set up in this DEJAVU_HOME")
    import numpy as np

    from dejavu_cli.io.video_writer import write_video

    clip = tmp_path / "c.mp4"
    write_video(clip, (np.zeros((32, 32, 3), np.uint8) for _ in range(2)), 10.0, (32, 32))
    code = main(["demo", "--video", str(clip), "--head", "flame", "-o", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code != 0 and "dejavu setup flame" in err and len(err.strip().splitlines()) == 1
