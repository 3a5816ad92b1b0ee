"""Reliability of writes: a full disk (a real 2 MB tmpfs), outputs that do not decode, leaked descriptors.

Each failed write must raise DejavuError (or exit non-zero through the CLI), leave the old file
byte-identical and leave no temp file behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io import video_writer
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.verify import verify_video
from dejavu_cli.io.video_writer import write_video


def _ffmpeg(*args):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True,
                   timeout=60)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs holding a good MP4 (``old.mp4``) and NPZ (``old.npz``)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root / CAP_SYS_ADMIN): {res.stderr.strip()}")
    try:
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", "1", "-c:v", "libx264", "-pix_fmt",
                "yuv420p", mnt / "old.mp4")
        save_npz_atomic(mnt / "old.npz", {"x": np.arange(10)})
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _noise(n, size=256, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n))


def test_video_that_does_not_fit_keeps_the_old_file(small_disk):
    old = (small_disk / "old.mp4").read_bytes()
    with pytest.raises(DejavuError, match="No space left on device") as exc:
        write_video(small_disk / "old.mp4", _noise(40), 25, (256, 256))
    assert "\n" not in str(exc.value)
    assert (small_disk / "old.mp4").read_bytes() == old
    assert sorted(p.name for p in small_disk.iterdir()) == ["old.mp4", "old.npz"]


def test_video_with_audio_that_does_not_fit(small_disk, tmp_path):
    audio = tmp_path / "tone.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-c:a", "aac", audio)
    old = (small_disk / "old.mp4").read_bytes()
    with pytest.raises(DejavuError):
        write_video(small_disk / "old.mp4", _noise(40), 25, (256, 256), audio_from=audio)
    assert (small_disk / "old.mp4").read_bytes() == old
    assert sorted(p.name for p in small_disk.iterdir()) == ["old.mp4", "old.npz"]


def test_npz_that_does_not_fit_keeps_the_old_file(small_disk):
    old = (small_disk / "old.npz").read_bytes()
    noise = np.random.default_rng(0).random(600_000)  # ~4.5 MB, incompressible
    with pytest.raises(OSError):  # save_npz_atomic already removes its temp file; cli.main words the OSError
        save_npz_atomic(small_disk / "old.npz", {"x": noise})
    assert (small_disk / "old.npz").read_bytes() == old
    assert sorted(p.name for p in small_disk.iterdir()) == ["old.mp4", "old.npz"]


def test_cli_render_that_does_not_fit(cli, small_disk, tmp_path, capsys):
    avatar = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "24", "-o", avatar) == 0
    with open(small_disk / "fill", "wb") as fh:  # leave about 64 KB
        fh.write(b"\0" * (os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize - 64 * 1024))
    old = (small_disk / "old.mp4").read_bytes()
    capsys.readouterr()
    code = cli("render", avatar, "--turntable", "-o", small_disk / "old.mp4", "--size", "256", "--frames", "40",
               "--device", "cpu")
    err = capsys.readouterr().err
    assert code != 0 and "error:" in err and "Traceback" not in err
    assert (small_disk / "old.mp4").read_bytes() == old
    assert sorted(p.name for p in small_disk.iterdir()) == ["fill", "old.mp4", "old.npz"]


def test_output_that_does_not_decode_is_refused(tmp_path, monkeypatch):
    """An encoder that 'succeeds' but leaves a broken file (ffmpeg exiting 0 after a failed trailer)."""
    shutil.copy(__file__, tmp_path / "old.mp4")
    old = (tmp_path / "old.mp4").read_bytes()

    def fake_encode(ffmpeg, dest, frames, fps, size, quality, name):
        dest.write_bytes(b"\0\0\0\x20ftypisom" + b"\0" * 4000)  # a header, no moov: what a failed trailer leaves
        return sum(1 for _ in frames)

    monkeypatch.setattr(video_writer, "_encode", fake_encode)
    with pytest.raises(DejavuError, match="does not decode"):
        write_video(tmp_path / "old.mp4", _noise(3, 32), 10, (32, 32))
    assert (tmp_path / "old.mp4").read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["old.mp4"]


def test_verify_video_counts_frames(tmp_path):
    out = write_video(tmp_path / "v.mp4", _noise(7, 32), 10, (32, 32))
    verify_video(out, 7, "v.mp4")
    with pytest.raises(DejavuError, match="decodes to 7 frames, 8 were written"):
        verify_video(out, 8, "v.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    with pytest.raises(DejavuError):
        verify_video(cut, 7, "cut.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(DejavuError, match="empty"):
        verify_video(tmp_path / "empty.mp4", 7, "empty.mp4")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")
def test_video_writer_closes_its_descriptors(tmp_path):
    audio = tmp_path / "tone.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", audio)
    write_video(tmp_path / "warm.mp4", _noise(2, 32), 10, (32, 32), audio_from=audio)
    before = _open_fds()
    for i in range(5):
        write_video(tmp_path / f"v{i}.mp4", _noise(3, 32), 10, (32, 32), audio_from=audio)
        write_video(tmp_path / f"s{i}.mp4", _noise(3, 32), 10, (32, 32))
    with pytest.raises(ValueError):
        write_video(tmp_path / "bad.mp4", iter([np.zeros((8, 8, 3), np.uint8)]), 10, (32, 32))
    assert _open_fds() == before


def test_protocol_like_output_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_video("take:1.mp4", _noise(3, 32), 10, (32, 32), audio_from=None)
    assert (tmp_path / "take:1.mp4").stat().st_size > 0
    verify_video(tmp_path / "take:1.mp4", 3, "take:1.mp4")


def test_write_npz_on_a_full_disk_raises_only_the_oserror(small_disk, recwarn):
    from dejavu_cli.io.npz import load_npz, write_npz

    noise = np.random.default_rng(0).random(600_000)
    with pytest.raises(OSError, match="No space left"):
        write_npz(small_disk / "new.npz", {"x": noise})
    (small_disk / "new.npz").unlink()
    import gc

    gc.collect()
    assert not [w for w in recwarn if "ZipFile" in str(w.message)]
    out = write_npz(small_disk / "ok.npz", {"a": np.arange(4), "s": np.array("x")})
    assert set(load_npz(out)) == {"a", "s"} and np.load(out)["a"].tolist() == [0, 1, 2, 3]
