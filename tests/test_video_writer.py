import subprocess

import imageio_ffmpeg
import numpy as np

from dejavu_cli.io.video_writer import write_video


def _count_frames(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    return meta, sum(1 for _ in reader)


def test_audio_shorter_than_video_keeps_every_frame(tmp_path):
    # 0.5 s of audio for a 1 s video: -shortest would cut the video; we pad the audio instead.
    audio = tmp_path / "tone.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=0.5", "-c:a", "aac", str(audio)], check=True)
    frames = (np.full((32, 48, 3), i * 8, np.uint8) for i in range(30))
    out = write_video(tmp_path / "v.mp4", frames, 30, (48, 32), audio_from=audio)
    meta, n = _count_frames(out)
    assert n == 30
    assert meta.get("audio_codec") == "aac"
    assert abs(meta["duration"] - 1.0) < 0.1
