"""mean_offsets: shapes, equals the average of per-frame predictions, locked texels, errors."""

from __future__ import annotations

import types

import pytest
import torch

from dejavu_cli.recon.infer import mean_offsets, offsets_to_texels, predict_offsets, uv_position_maps
from dejavu_cli.recon.network import ReconNet, ReconNetConfig


@pytest.fixture(scope="module")
def setup():
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    head = load_head("test")
    layout = build_layout(head, 16)
    torch.manual_seed(0)
    net = ReconNet(ReconNetConfig(uv_size=16, img_size=32, channels=(4, 4, 8, 8, 8)))
    return head, layout, net


def test_mean_offsets_is_mean_of_frames(setup):
    head, layout, net = setup
    T = 3
    verts = head.vertices(expression=torch.randn(T, head.n_expression) * 0.3)
    uv = uv_position_maps(layout, verts)
    assert uv.shape == (T, 3, 16, 16)
    crops = torch.randint(0, 256, (T, 40, 40, 3), dtype=torch.uint8)
    per = predict_offsets(net, crops, uv, layout, batch_size=2)
    assert per.shape == (T, layout.n_texels, 13)
    mean = mean_offsets(net, crops, uv, layout)
    assert mean.shape == (layout.n_texels, 13)
    torch.testing.assert_close(mean, per.mean(0), rtol=1e-4, atol=1e-4)
    single = mean_offsets(net, crops[1:2], uv[1:2], layout)
    torch.testing.assert_close(single, per[1], rtol=1e-4, atol=1e-4)  # batch-independent (instance norm)
    assert net.training  # mode restored


def test_locked_texels_lose_position_offsets():
    S, n = 4, 5
    texel = torch.tensor([0, 3, 5, 10, 15])
    layout = types.SimpleNamespace(uv_size=S, locked=torch.tensor([False, True, False, True, False]),
                                   from_image=lambda img: img.reshape(*img.shape[:-3], S * S, img.shape[-1])[..., texel, :])
    off = torch.randn(2, 13, S, S)
    t = offsets_to_texels(layout, off)
    assert t.shape == (2, n, 13)
    assert (t[:, [1, 3], :3] == 0).all() and (t[:, [1, 3], 3:] != 0).all()
    assert (t[:, [0, 2, 4], :3] != 0).all()


def test_bad_shapes(setup):
    head, layout, net = setup
    with pytest.raises(ValueError, match="uv_position_maps"):
        mean_offsets(net, torch.zeros(2, 8, 8, 3, dtype=torch.uint8), torch.zeros(2, 3, 8, 8), layout)
    with pytest.raises(ValueError, match="crops"):
        mean_offsets(net, torch.zeros(2, 8, 8, dtype=torch.uint8), torch.zeros(2, 3, 16, 16), layout)


def test_track_form_used_by_create(setup, tmp_path):
    """create calls mean_offsets(checkpoint, layout, track, crops, frames); invalid frames are skipped."""
    import numpy as np

    from dejavu_cli.recon.checkpoint import save_checkpoint

    head, layout, net = setup
    ckpt = save_checkpoint(tmp_path / "c.pt", net, head="test", layout_id=layout.check)
    T = 4
    track = types.SimpleNamespace(head="test", valid=np.array([True, False, True, True]),
                                  identity=np.zeros(head.n_identity, np.float32),
                                  expression=np.random.default_rng(0).normal(0, 0.3, (T, head.n_expression)),
                                  jaw=np.zeros((T, 3), np.float32), eyes=np.zeros((T, 6), np.float32))
    frames = np.array([3, 1, 0])
    crops = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    got = mean_offsets(str(ckpt), layout, track, crops, frames)
    assert got.shape == (layout.n_texels, 13)
    from dejavu_cli.head.base import HeadParams

    rows = [3, 0]  # frame 1 is invalid
    verts = head(HeadParams(identity=torch.zeros(2, head.n_identity),
                            expression=torch.as_tensor(track.expression[rows], dtype=torch.float32),
                            jaw=torch.zeros(2, 3) if head.has_jaw else None,
                            eyes=torch.zeros(2, 6) if head.has_eyes else None))
    want = mean_offsets(net, torch.from_numpy(crops[[0, 2]]), uv_position_maps(layout, verts), layout)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
