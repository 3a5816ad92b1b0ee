"""ReconNet: shapes for several UV sizes, paper parameter count, gradients, error cases."""

from __future__ import annotations

import pytest
import torch

from dejavu_cli.recon.network import ReconNet, ReconNetConfig, binomial_blur, count_parameters, images_to_input

TINY = dict(img_size=32, channels=(4, 4, 8, 8, 8))


def test_paper_config_parameter_count():
    # 4,757,184 encoder + 3,827,625 decoder (authors' EDNet layer shapes)
    net = ReconNet(ReconNetConfig())
    assert count_parameters(net) == 8_584_809


@pytest.mark.parametrize("s", [8, 20, 33, 64])
def test_output_shape_follows_uv_size(s):
    net = ReconNet(ReconNetConfig(uv_size=s, **TINY))
    out = net(torch.rand(2, 3, 48, 40) * 2 - 1, torch.randn(2, 3, s, s))
    assert out.shape == (2, 13, s, s)
    assert torch.isfinite(out).all()


def test_uv_position_map_is_used():
    torch.manual_seed(0)
    net = ReconNet(ReconNetConfig(uv_size=16, **TINY)).eval()
    img = torch.rand(1, 3, 32, 32)
    # a spatially constant map is removed by instance norm, so compare two varying maps
    a = net(img, torch.randn(1, 3, 16, 16))
    b = net(img, torch.randn(1, 3, 16, 16))
    assert (a - b).abs().max() > 1e-4


def test_position_channels_scaled():
    torch.manual_seed(0)
    cfg = ReconNetConfig(uv_size=8, **TINY)
    net = ReconNet(cfg).eval()
    x, uv = torch.rand(1, 3, 32, 32), torch.randn(1, 3, 8, 8)
    out = net(x, uv)
    net.out_scale.fill_(1.0)
    raw = net(x, uv)
    torch.testing.assert_close(out[:, :3], raw[:, :3] * cfg.position_scale)
    torch.testing.assert_close(out[:, 3:], raw[:, 3:])


def test_gradients_reach_every_parameter():
    net = ReconNet(ReconNetConfig(uv_size=8, **TINY))
    out = net(torch.rand(2, 3, 32, 32), torch.randn(2, 3, 8, 8))
    out.square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_gradcheck_float64_tiny():
    torch.manual_seed(0)
    net = ReconNet(ReconNetConfig(uv_size=4, img_size=32, channels=(2, 2, 2, 2, 2))).double()
    img = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    uv = torch.randn(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u: net(img, u), (uv,), eps=1e-6, atol=1e-4)


def test_blur_matches_reference_and_keeps_constants():
    k = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16
    x = torch.full((1, 2, 5, 5), 3.0)
    torch.testing.assert_close(binomial_blur(x, k), x)
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 16.0
    torch.testing.assert_close(binomial_blur(x, k)[0, 0, 1:4, 1:4], k * 16)


def test_images_to_input_range():
    img = torch.tensor([[[[0, 255, 128]]]], dtype=torch.uint8).expand(1, 4, 4, 3)
    x = images_to_input(img, 4)
    assert x.shape == (1, 3, 4, 4)
    torch.testing.assert_close(x[0, :, 0, 0], torch.tensor([-1.0, 1.0, 128 / 127.5 - 1]))


def test_bad_inputs():
    with pytest.raises(ValueError, match="multiple of 16"):
        ReconNet(ReconNetConfig(img_size=40))
    net = ReconNet(ReconNetConfig(uv_size=8, **TINY))
    with pytest.raises(ValueError, match="uv_pos"):
        net(torch.rand(2, 3, 32, 32), torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="images"):
        net(torch.rand(2, 1, 32, 32), torch.randn(2, 3, 8, 8))


def test_config_roundtrip():
    cfg = ReconNetConfig(uv_size=12, **TINY)
    assert ReconNetConfig.from_dict(cfg.to_dict()) == cfg
