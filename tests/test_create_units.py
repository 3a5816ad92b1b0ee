"""Unit tests of the personalization building blocks: losses, schedule, blend math, checkpoint, report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from dejavu_cli.create import checkpoint, report, stages
from dejavu_cli.create.config import CreateConfig, preset_config, stage_steps
from dejavu_cli.errors import DejavuError
from dejavu_cli.fit import losses


def _ssim_reference(x: np.ndarray, y: np.ndarray, win: int = 11, sigma: float = 1.5) -> float:
    """SSIM of Wang et al. 2004 with a 'valid' Gaussian window, written independently in float64 numpy."""
    g = np.exp(-((np.arange(win) - win // 2) ** 2) / (2 * sigma ** 2))
    g /= g.sum()

    def filt(a):  # separable 'valid' correlation over H and W of [H, W, C]
        h = np.stack([(a[i:i + win] * g[:, None, None]).sum(0) for i in range(a.shape[0] - win + 1)])
        return np.stack([(h[:, j:j + win] * g[None, :, None]).sum(1) for j in range(a.shape[1] - win + 1)], 1)

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx ** 2, filt(y * y) - my ** 2, filt(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean())


def test_l1_and_psnr_values():
    a = torch.zeros(2, 4, 4, 3)
    b = torch.full((2, 4, 4, 3), 0.1)
    assert losses.l1_loss(a, b).item() == pytest.approx(0.1)
    assert losses.psnr(a, b).item() == pytest.approx(20.0, abs=1e-4)  # mse 0.01 -> 20 dB


def test_ssim_matches_reference_and_identity():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 24, 24, 3, generator=g, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(1, 24, 24, 3, generator=g, dtype=torch.float64)).clamp(0, 1)
    assert losses.ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert losses.ssim(x, y).item() == pytest.approx(_ssim_reference(x[0].numpy(), y[0].numpy()), abs=1e-6)
    assert losses.ssim_loss(x, y).item() == pytest.approx(1 - _ssim_reference(x[0].numpy(), y[0].numpy()), abs=1e-6)


def test_ssim_small_image_uses_smaller_window():
    x = torch.rand(2, 8, 8, 3)
    assert torch.isfinite(losses.ssim_loss(x, x.flip(1)))


def test_regularizer_values_and_shapes():
    delta = torch.zeros(2, 13)
    delta[0, 0:3] = torch.tensor([3.0, 4.0, 0.0])
    delta[1, 3:6] = torch.tensor([0.0, 0.0, 2.0])
    w = torch.tensor([2.0, 5.0])
    assert losses.position_reg(delta, w).item() == pytest.approx((2 * 5 + 0) / 2, rel=1e-5)
    assert losses.scale_reg(delta).item() == pytest.approx(2 / 2, rel=1e-5)
    batched = delta[None].expand(3, -1, -1)
    assert losses.position_reg(batched, w).item() == pytest.approx(5.0, rel=1e-5)


def test_regularizers_finite_gradient_at_zero_and_gradcheck():
    d = torch.zeros(5, 13, requires_grad=True)
    (losses.position_reg(d, torch.ones(5)) + losses.scale_reg(d)).backward()
    assert torch.isfinite(d.grad).all()
    x = torch.randn(3, 4, 13, dtype=torch.float64, requires_grad=True)
    w = torch.rand(4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: losses.position_reg(t, w) + losses.scale_reg(t), (x,))


def test_learning_rate_schedule():
    assert stages.learning_rate(0, 0.05) == pytest.approx(0.05)
    assert stages.learning_rate(99, 0.05) == pytest.approx(0.05)
    assert stages.learning_rate(100, 0.05) == pytest.approx(0.045)
    assert stages.learning_rate(250, 0.05) == pytest.approx(0.05 * 0.81)


def test_blend_weights_softmax_over_drivers():
    expr = torch.randn(4, 20)
    drivers = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    w = stages.blend_weights(expr, drivers)
    assert w.shape == (4, 10)
    assert torch.allclose(w.sum(-1), torch.ones(4))
    assert torch.allclose(w, torch.softmax(expr[:, drivers], -1))


def test_blend_delta_onehot_and_init_continuity():
    maps = torch.randn(3, 5, 13)
    onehot = torch.eye(3)[[2, 0]]
    out = stages.blend_delta(onehot, maps)
    assert out.shape == (2, 5, 13)
    assert torch.allclose(out[0], maps[2]) and torch.allclose(out[1], maps[0])
    g = torch.randn(5, 13)
    blend = stages.init_blendmaps(g, 10)
    assert blend.shape == (10, 5, 13) and not blend.requires_grad
    d2 = stages.frame_delta(2, None, blend, torch.randn(4, 12), list(range(10)))
    d1 = stages.frame_delta(1, g, None, torch.randn(4, 12), list(range(10)))
    assert torch.allclose(d2, d1, atol=1e-6)  # stage 2 starts exactly where stage 1 ended


def test_blend_delta_gradcheck():
    w = torch.softmax(torch.randn(2, 3, dtype=torch.float64), -1).requires_grad_()
    m = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(stages.blend_delta, (w, m))


def test_presets_and_stage_split():
    fast = preset_config("fast")
    assert fast.preset == "fast" and fast.batch <= 4 and fast.resolution <= 256
    assert stage_steps(CreateConfig(steps=300)) == (90, 210)
    assert stage_steps(CreateConfig(steps=800)) == (240, 560)
    assert stage_steps(CreateConfig(steps=1)) == (0, 1)
    assert preset_config("fast", steps=10, batch=None).steps == 10
    with pytest.raises(DejavuError):
        preset_config("slow")
    with pytest.raises(DejavuError):
        preset_config("fast", steps=0)
    with pytest.raises(DejavuError):
        preset_config("fast", device="tpu")


def test_checkpoint_roundtrip_and_errors(tmp_path):
    p = checkpoint.checkpoint_path(tmp_path / "a.npz")
    assert p.name == "a.ckpt.npz"
    checkpoint.save_checkpoint(p, {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}, {"step": 7, "l": [1.5]})
    arrays, meta = checkpoint.load_checkpoint(p)
    assert meta["step"] == 7 and meta["l"] == [1.5]
    np.testing.assert_array_equal(arrays["x"], np.arange(6).reshape(2, 3))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DejavuError):
        checkpoint.load_checkpoint(bad)
    other = tmp_path / "other.npz"
    np.savez(other, y=np.zeros(2))
    with pytest.raises(DejavuError):
        checkpoint.load_checkpoint(other)


def test_adam_state_roundtrip():
    p = torch.nn.Parameter(torch.randn(4, 3))
    opt = torch.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    arrays = checkpoint.adam_state_arrays(opt)
    q = torch.nn.Parameter(p.detach().clone())
    opt2 = torch.optim.Adam([q], lr=0.1)
    checkpoint.restore_adam(opt2, arrays)
    for o, par in ((opt, p), (opt2, q)):
        par.grad = torch.ones_like(par)
        o.step()
    assert torch.equal(p, q)


def test_report_json_and_png(tmp_path):
    js, png = report.report_paths(tmp_path / "av.npz")
    assert js.name == "av.report.json" and png.name == "av.report.png"
    rep = {k: 0 for k in report.REQUIRED_KEYS}
    rep["lpips"] = None
    rep["psnr"] = np.float32(31.5)
    report.write_json(js, rep)
    assert json.loads(js.read_text())["psnr"] == pytest.approx(31.5) and json.loads(js.read_text())["lpips"] is None
    with pytest.raises(KeyError):
        report.write_json(js, {"psnr": 1.0})
    hist = {"step": [0, 1, 2], "total": [1.0, 0.5, 0.25], "l1": [0.5, 0.3, 0.1], "eval_step": [2],
            "eval_psnr": [25.0], "stage_split": 1}
    gt = np.zeros((2, 16, 16, 3), np.uint8)
    report.write_png(png, hist, gt, np.ones((2, 16, 16, 3), np.float32), title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert math.isfinite(png.stat().st_size)


def test_psnr_weighted_counts_only_weighted_pixels():
    a = torch.zeros(1, 4, 4, 3)
    b = torch.full((1, 4, 4, 3), 0.1)
    b[:, :, 2:] = 1.0                                      # garbage where the weight is 0
    w = torch.zeros(1, 4, 4, 1)
    w[:, :, :2] = 1.0
    assert losses.psnr(a, b, w).item() == pytest.approx(20.0, abs=1e-4)
    assert losses.psnr(a, b, torch.ones(1, 4, 4, 1)).item() == pytest.approx(losses.psnr(a, b).item())


def test_observed_pixels_carry_no_gradient_outside_the_frame():
    from dejavu_cli.create.problem import Problem

    T, R = 3, 8
    cx = torch.ones(T, R)
    cx[1, :3] = 0.0
    cx[1, 3] = 0.25
    p = Problem(head=None, layout=None, u_base=torch.zeros(1, 13), pos_weights=torch.ones(1),
                identity=torch.zeros(1), expression=torch.zeros(T, 1), jaw=None, eyes=None,
                rotvec=torch.zeros(T, 3), transl=torch.zeros(T, 3), viewmat=torch.eye(4), K=torch.eye(3),
                targets=torch.full((T, R, R, 3), 255, dtype=torch.uint8), train=torch.arange(T),
                held=torch.arange(1), drivers=[], cover_x=cx, cover_y=torch.ones(T, R))
    idx = torch.tensor([1, 0])
    rgb = torch.rand(2, R, R, 3, requires_grad=True)
    seen = losses.observed(rgb, p.target(idx), p.inside(idx))
    assert torch.equal(seen[0, :, :3], torch.ones(R, 3, 3))          # outside: the target's white
    losses.l1_loss(seen, p.target(idx)).backward()
    g = rgb.grad.abs().sum(-1)                                         # [2, R, R]
    assert (g[0, :, :3] == 0).all() and (g[0, :, 4:] > 0).all() and (g[1] > 0).all()
    assert torch.allclose(g[0, :, 3], g[0, :, 4] * 0.25)              # partly covered column: partly counted
    assert p.inside(idx).shape == (2, R, R, 1)
    p.cover_x = p.cover_y = None
    assert p.inside(idx) is None and losses.observed(rgb, p.target(idx), p.inside(idx)) is rgb


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_outside_weight_must_be_a_share(bad):
    with pytest.raises(DejavuError, match="--outside-weight must be 0-1"):
        preset_config("fast", outside_weight=bad)
    assert preset_config("fast").outside_weight == pytest.approx(0.1)
