"""`dejavu render`: turntable MP4 on CPU decodes with the right frame count."""

import numpy as np
import pytest


def _decode(path):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    return meta, frames


def test_render_test_head(cli, tmp_path, capsys):
    t = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "24", "-o", t) == 0
    out = tmp_path / "t.mp4"
    assert cli("render", t, "--turntable", "-o", out, "--size", "32", "--frames", "3", "--device", "cpu") == 0
    meta, frames = _decode(out)
    assert meta["size"] == (32, 32) and len(frames) == 3
    assert frames[0].min() < 200                                                  # the head is visible on white
    capsys.readouterr()
    assert cli("render", t, "-o", tmp_path / "odd.mp4", "--size", "33") == 1      # H.264 yuv420p needs even
    assert cli("render", t, "-o", t) == 1                                         # never overwrite the input
    assert capsys.readouterr().err.count("error:") == 2


def test_video_writer_atomic_and_audio(tmp_path):
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.io.video_writer import write_video

    frames = [np.full((16, 24, 3), i * 40, np.uint8) for i in range(5)]
    out = write_video(tmp_path / "a.mp4", iter(frames), 10, (24, 16))
    meta, got = _decode(out)
    assert len(got) == 5 and meta["fps"] == 10
    with pytest.raises(ValueError):
        write_video(tmp_path / "b.mp4", iter([np.zeros((8, 8, 3), np.uint8)]), 10, (24, 16))
    with pytest.raises(DejavuError):
        write_video(tmp_path / "c.mp4", iter(frames), 10, (23, 16))
    # muxing from a source without audio still gives a playable video
    write_video(tmp_path / "d.mp4", iter(frames), 10, (24, 16), audio_from=out)
    assert len(_decode(tmp_path / "d.mp4")[1]) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "d.mp4"]      # no temp files left


@pytest.mark.slow
def test_render_ict_turntable_cpu(cli, ict_head, tmp_path):
    t = tmp_path / "t.npz"
    assert cli("template", "--head", "ict", "-o", t) == 0
    out = tmp_path / "t.mp4"
    assert cli("render", t, "--turntable", "-o", out, "--size", "256", "--frames", "2", "--device", "cpu") == 0
    meta, frames = _decode(out)
    assert meta["size"] == (256, 256) and len(frames) == 2
    assert (frames[0] < 200).mean() > 0.05                                         # a head covers the frame centre
