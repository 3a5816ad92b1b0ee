"""`dejavu reenact` as a user runs it: end to end on a short real clip, and its one-line errors."""

import subprocess

import numpy as np
import pytest
from conftest import VIDEOS, need

from dejavu_cli.cli import main


def _ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def test_avatar(tmp_path_factory, session_home):
    path = tmp_path_factory.mktemp("reenact") / "test_avatar.npz"
    # a small UV map: the CPU rasterizer's cost grows with Gaussians per tile, the test only checks plumbing
    assert main(["template", "--head", "test", "--uv-size", "24", "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    """The first second of a shared clip (re-encoded into tmp, with its audio; never committed)."""
    src = need(VIDEOS / "head_turns_12s.mp4")
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run([_ffmpeg(), "-loglevel", "error", "-y", "-i", str(src), "-t", "1", "-vf", "scale=256:256",
                    "-c:v", "libx264", "-c:a", "aac", str(out)], check=True)
    return out


def _one_line_error(capsys, code):
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.slow
def test_reenact_side_by_side_keeps_frame_count_rate_and_audio(test_avatar, short_clip, tmp_path, capsys):
    from dejavu_cli.io.video_reader import probe, read_frames

    out = tmp_path / "r.mp4"
    code = main(["reenact", str(test_avatar), str(short_clip), "-o", str(out), "--side-by-side", "--size", "48",
                 "--device", "cpu"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "frames/s" in text
    src, got = probe(short_clip), probe(out)
    assert got.n_frames == src.n_frames and abs(got.fps - src.fps) < 0.01
    assert got.size == (96, 48) and got.codec == "h264" and got.has_audio
    frames = read_frames(out, frames=[0, got.n_frames - 1])
    left, right = frames[:, :, :48].astype(float), frames[:, :, 48:].astype(float)
    assert right.mean() < 250            # the avatar is drawn over the white background
    assert abs(left.mean() - right.mean()) > 1  # the driver crop is not the render
    # --fps resamples, --duration cuts, --absolute copies coefficients
    out2 = tmp_path / "r2.mp4"
    assert main(["reenact", str(test_avatar), str(short_clip), "-o", str(out2), "--size", "32", "--fps", "10",
                 "--duration", "0.5", "--absolute", "--device", "cpu"]) == 0
    got2 = probe(out2)
    assert got2.n_frames == 5 and abs(got2.fps - 10) < 0.01 and got2.size == (32, 32)


def test_not_an_avatar_fails_with_one_line(tmp_path, short_clip, capsys, session_home):
    bad = tmp_path / "a.npz"
    bad.write_text("hello")
    code = main(["reenact", str(bad), str(short_clip), "-o", str(tmp_path / "r.mp4")])
    assert "avatar" in _one_line_error(capsys, code)
    np.savez(tmp_path / "b.npz", x=np.zeros(3))
    code = main(["reenact", str(tmp_path / "b.npz"), str(short_clip), "-o", str(tmp_path / "r.mp4")])
    assert "not a dejavu avatar" in _one_line_error(capsys, code)
    assert not (tmp_path / "r.mp4").exists()


def test_driver_without_a_face_fails_with_one_line(test_avatar, tmp_path, capsys):
    from dejavu_cli.io.video_writer import write_video

    blank = tmp_path / "blank.mp4"
    frames = (np.full((64, 64, 3), v, np.uint8) for v in np.linspace(60, 200, 8).astype(np.uint8))
    write_video(blank, frames, 8.0, (64, 64))
    code = main(["reenact", str(test_avatar), str(blank), "-o", str(tmp_path / "r.mp4"), "--size", "32"])
    assert "face" in _one_line_error(capsys, code)
    assert not (tmp_path / "r.mp4").exists()


def test_bad_options_and_missing_driver(test_avatar, tmp_path, capsys):
    code = main(["reenact", str(test_avatar), str(tmp_path / "none.mp4"), "-o", str(tmp_path / "r.mp4")])
    assert "not found" in _one_line_error(capsys, code)
    code = main(["reenact", str(test_avatar), str(tmp_path / "none.mp4"), "-o", str(tmp_path / "r.mp4"),
                 "--smooth", "-1"])
    assert "--smooth" in _one_line_error(capsys, code)
    code = main(["reenact", str(test_avatar), str(test_avatar), "-o", str(test_avatar)])
    assert "must end in .mp4" in _one_line_error(capsys, code)
    same = test_avatar.with_suffix(".mp4")
    same.write_bytes(b"x")
    code = main(["reenact", str(test_avatar), str(same), "-o", str(same)])
    assert "overwrite" in _one_line_error(capsys, code)


@pytest.mark.slow
def test_reenact_frames_out_writes_one_splat_file_per_frame(test_avatar, short_clip, tmp_path, capsys):
    """--frames-out DIR: one PLY (or SPZ) per output frame, same Gaussians in the same order, the head moving;
    a folder that already holds frames is refused before any work."""
    from plyfile import PlyData

    from dejavu_cli.avatar.file import load_avatar

    frames = tmp_path / "frames"
    assert main(["reenact", str(test_avatar), str(short_clip), "-o", str(tmp_path / "r.mp4"), "--size", "32",
                 "--fps", "10", "--duration", "0.5", "--device", "cpu", "--frames-out", str(frames)]) == 0
    assert "5 PLY frames" in capsys.readouterr().out
    files = sorted(frames.glob("frame_*.ply"))
    assert [f.name for f in files] == [f"frame_{i:05d}.ply" for i in range(5)]
    n = load_avatar(test_avatar).n_gaussians
    verts = [PlyData.read(str(f))["vertex"] for f in files]
    assert all(len(v) == n for v in verts)
    xyz = np.stack([np.stack([v["x"], v["y"], v["z"]], -1) for v in verts])
    assert np.isfinite(xyz).all() and np.abs(xyz).max() < 0.5            # model space, metres
    assert np.abs(np.diff(xyz, axis=0)).max() > 1e-5                     # the driven head moves between frames
    np.testing.assert_array_equal(verts[0]["f_dc_0"], verts[-1]["f_dc_0"])  # same Gaussians, same order
    # a folder with frames in it is refused, nothing is written; SPZ frames into another folder
    code = main(["reenact", str(test_avatar), str(short_clip), "-o", str(tmp_path / "r2.mp4"), "--size", "32",
                 "--frames-out", str(frames)])
    assert "already holds 5 frame files" in _one_line_error(capsys, code)
    assert not (tmp_path / "r2.mp4").exists()
    spz = tmp_path / "spz"
    assert main(["reenact", str(test_avatar), str(short_clip), "-o", str(tmp_path / "r3.mp4"), "--size", "32",
                 "--fps", "10", "--duration", "0.2", "--device", "cpu", "--frames-out", str(spz),
                 "--frames-format", "spz"]) == 0
    assert len(list(spz.glob("frame_*.spz"))) == 2
