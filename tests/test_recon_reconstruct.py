"""`dejavu reconstruct PHOTO`: one-photo avatar (test head), with a trained checkpoint, then `render`."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PHOTOS, need


def test_duplicate_row_tiles_frames():
    from dejavu_cli.fit.synthetic import make_problem
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.recon.synthetic import _one_row
    from dejavu_cli.usecases.reconstruct_photo import duplicate_row

    track, _, _ = make_problem(load_head("test"), uv_size=16, size=32, n_frames=2)
    one = _one_row(track, 1)
    two = duplicate_row(one)
    assert two.T == 2 and two.n_frames == 2
    np.testing.assert_array_equal(two.expression[0], track.expression[1])
    np.testing.assert_array_equal(two.expression[1], track.expression[1])
    assert two.identity.shape == track.identity.shape and two.K.shape == (3, 3)


def test_reconstruct_errors(cli, tmp_path):
    assert cli("reconstruct", tmp_path / "missing.jpg", "-o", tmp_path / "a.npz") == 1
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    assert cli("reconstruct", bad, "-o", tmp_path / "a.npz") == 1
    assert cli("reconstruct", bad, "-o", tmp_path / "a.ply") == 1


@pytest.mark.slow
def test_reconstruct_photo_with_checkpoint_then_render(cli, tmp_path):
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.recon.checkpoint import save_checkpoint
    from dejavu_cli.recon.network import ReconNet, ReconNetConfig
    from dejavu_cli.uv.layout import build_layout

    photo = need(PHOTOS / "man_glasses.jpg")
    layout = build_layout(load_head("test"), 32)
    ckpt = save_checkpoint(tmp_path / "net.pt", ReconNet(ReconNetConfig(uv_size=32, img_size=32,
                                                                        channels=(4, 4, 8, 8, 8))),
                           head="test", layout_id=layout.check)
    out = tmp_path / "me.npz"
    assert cli("reconstruct", photo, "-o", out, "--head", "test", "--uv-size", "32", "--resolution", "48",
               "--steps", "3", "--checkpoint", ckpt) == 0
    from dejavu_cli.avatar.file import load_avatar

    av = load_avatar(out)
    assert av.head == "test" and av.n_blendmaps == 0 and np.abs(av.mean_offsets).sum() > 0
    # a checkpoint for another UV layout is refused with a clear message
    assert cli("reconstruct", photo, "-o", tmp_path / "x.npz", "--head", "test", "--uv-size", "16",
               "--steps", "1", "--checkpoint", ckpt) == 1
    assert not (tmp_path / "x.npz").exists()
    assert cli("render", out, "-o", tmp_path / "me.mp4", "--size", "64", "--frames", "4") == 0
    assert (tmp_path / "me.mp4").stat().st_size > 0
