"""The compiled CPU rasterizer (numba) against its readable twin (the PyTorch path), the brute-force per-pixel
reference and finite differences; binning against the torch binning; choosing it (auto on CPU, --renderer,
DEJAVU_RENDERER) and its first-compile status line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.render import api, camera, kernel_raster
from dejavu_cli.render.api import RenderInputError, choose_backend, render
from dejavu_cli.render.kernel_raster import rasterize_kernel
from dejavu_cli.render.project import project_gaussians
from dejavu_cli.render.reference import render_reference
from dejavu_cli.render.tiles import bin_tiles
from dejavu_cli.render.torch_raster import rasterize


def scene(B=2, N=60, W=37, H=29, dtype=torch.float64, seed=0, spread=0.3, fov=60.0, opacity=(0.2, 0.8)):
    """Random Gaussians in front of the default camera (1 m away); image sizes not multiples of the tile."""
    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(B, N, 3, generator=g, dtype=dtype) - 0.5) * spread
    quats = torch.randn(B, N, 4, generator=g, dtype=dtype)
    scales = torch.rand(B, N, 3, generator=g, dtype=dtype) * 0.04 + 0.005
    lo, hi = opacity
    opac = torch.rand(B, N, generator=g, dtype=dtype) * (hi - lo) + lo
    colors = torch.rand(B, N, 3, generator=g, dtype=dtype)
    V = camera.default_viewmat(dtype=dtype)[None].repeat(B, 1, 1)
    V[1:, 0, 3] = 0.03                                              # a second, shifted camera
    f = 0.5 * W / math.tan(math.radians(fov) / 2)
    K = camera.intrinsics(f, W, H, dtype=dtype)[None].repeat(B, 1, 1)
    return [means, quats, scales, opac, colors, V, K]


def both(s, W, H, weights_seed=1):
    """Images and gradients of the twin (torch, plain autograd) and the kernel for the same scene and loss."""
    out = {}
    w = torch.rand(s[0].shape[0], H, W, 4, generator=torch.Generator().manual_seed(weights_seed), dtype=s[0].dtype)
    for name, fn in (("torch", lambda *a: rasterize(*a, twin=True)), ("kernel", rasterize_kernel)):
        params = [t.clone().requires_grad_() for t in s[:5]]
        feat, alpha = fn(*params, *s[5:], W, H)
        ((feat * w).sum() + (alpha * w[..., :1]).sum()).backward()
        out[name] = (feat.detach(), alpha.detach(), [p.grad for p in params])
    return out


def assert_twins_agree(r, image_tol: float, grad_tol: float) -> None:
    """Kernel and twin images within ``image_tol``; gradients within ``grad_tol`` x their largest entry."""
    (ft, at, gt), (fk, ak, gk) = r["torch"], r["kernel"]
    torch.testing.assert_close(fk, ft, atol=image_tol, rtol=0)
    torch.testing.assert_close(ak, at, atol=image_tol, rtol=0)
    for a, b in zip(gk, gt):
        assert b.abs().max() > 0
        torch.testing.assert_close(a, b, atol=grad_tol * float(b.abs().max()), rtol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_twin_forward_and_backward_float64(seed):
    W, H = 37, 29
    r = both(scene(seed=seed, W=W, H=H), W, H)
    fk, ak = r["kernel"][:2]
    assert fk.shape == (2, H, W, 4) and ak.shape == (2, H, W, 1)
    assert ak.max() > 0.5                                            # the scene is actually visible
    assert_twins_agree(r, 1e-12, 1e-10)


def test_saturating_and_clamped_scenes_match_the_twin():
    """Many opaque layers: pixels stop at T <= 1e-4 (exclusive) and opacity 1 is clamped to alpha 0.999."""
    W, H = 40, 24
    s = scene(N=150, W=W, H=H, seed=3, opacity=(0.9, 1.0))
    s[3][:, ::3] = 1.0
    r = both(s, W, H)
    assert float(r["kernel"][1].max()) > 1 - 2e-4                    # saturated somewhere
    assert_twins_agree(r, 1e-12, 1e-10)


def test_float32_matches_the_twin():
    W, H = 64, 48
    s = [t.float() for t in scene(N=400, W=W, H=H, seed=4, spread=0.4)]
    r = both(s, W, H)
    assert r["kernel"][0].dtype == torch.float32 and all(g.dtype == torch.float32 for g in r["kernel"][2])
    assert_twins_agree(r, 2e-5, 2e-4)


def test_matches_the_brute_force_reference_through_render():
    W, H = 37, 29
    s = scene(seed=5, W=W, H=H)
    out = render(*s, W, H, backend="kernel")
    for a, b in zip((out.rgb, out.alpha, out.depth), render_reference(*s, W, H)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_gradcheck():
    """Finite differences (the named reference for the hand-written backward), a small smooth scene."""
    W, H = 20, 14
    s = scene(B=1, N=6, W=W, H=H, seed=6, spread=0.15, opacity=(0.3, 0.7))
    w = torch.rand(1, H, W, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    def f(means, scales, opac, colors):
        feat, alpha = rasterize_kernel(means, s[1], scales, opac, colors, *s[5:], W, H)
        return (feat * w).sum() + alpha.sum()

    inputs = [t.clone().requires_grad_() for t in (s[0], s[2], s[3], s[4])]
    assert torch.autograd.gradcheck(f, inputs, eps=1e-7, atol=1e-5, rtol=1e-4)


def test_binning_matches_the_torch_binning():
    W, H = 150, 90
    s = [t.float() for t in scene(N=500, W=W, H=H, seed=7, spread=0.5)]
    proj = project_gaussians(*s[:4], s[5], s[6], W, H)
    for tile in (8, 16):
        ref = bin_tiles(proj, W, H, tile)
        vis = proj.visible.reshape(-1).nonzero().squeeze(1)
        order = vis[torch.argsort(proj.depths.reshape(-1)[vis], stable=True)]
        from dejavu_cli.render import cpu_kernel

        ids, offsets = cpu_kernel.bin_tiles(proj.means2d.reshape(-1, 2).numpy(), proj.radii.reshape(-1, 2).numpy(),
                                            order.numpy(), 2, 500, ref.tiles_x, ref.tiles_y, tile)
        np.testing.assert_array_equal(offsets, ref.offsets.numpy())
        np.testing.assert_array_equal(ids, ref.gauss_ids.numpy())


def test_avatar_renders_match_the_twin(test_head):
    """A template avatar of the test head through the tracking camera and turned 90 degrees."""
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import template_avatar
    from dejavu_cli.uv.layout import build_layout

    avatar = template_avatar(test_head, build_layout(test_head, 48))
    anim = Animator(avatar, test_head, "cpu")
    size = 96
    K = torch.as_tensor(avatar.intrinsics(size), dtype=torch.float32)[None].repeat(2, 1, 1)
    V = camera.orbit_viewmats(2)[:, :, :]
    V = torch.stack([torch.as_tensor(avatar.viewmat, dtype=torch.float32), V[1].float()])
    g = anim.gaussians(anim.neutral(2), torch.zeros(2, 3), torch.zeros(2, 3))
    grads = {}
    w = torch.rand(2, size, size, 4, generator=torch.Generator().manual_seed(0))
    for name, fn in (("torch", lambda *a: rasterize(*a)), ("kernel", rasterize_kernel)):
        params = [g[k].detach().clone().requires_grad_() for k in ("means", "quats", "scales", "opacities", "colors")]
        feat, alpha = fn(*params, V, K, size, size)
        ((feat * w).sum() + alpha.sum()).backward()
        grads[name] = (feat.detach(), alpha.detach(), [p.grad for p in params])
    (ft, at, gt), (fk, ak, gk) = grads["torch"], grads["kernel"]
    assert float(ak.mean()) > 0.05                                    # the head is in view
    torch.testing.assert_close(fk, ft, atol=5e-5, rtol=0)
    torch.testing.assert_close(ak, at, atol=5e-5, rtol=0)
    for a, b in zip(gk, gt):                 # (round template Gaussians: the quaternions get ~0 gradient)
        torch.testing.assert_close(a, b, atol=1e-3 * float(b.abs().max()) + 1e-8, rtol=0)


def test_empty_and_offscreen_scenes():
    W, H = 16, 16
    s = scene(B=1, N=5, W=W, H=H)
    s[0] = s[0] + torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64)  # behind the camera: all culled
    feat, alpha = rasterize_kernel(*s, W, H)
    assert float(alpha.abs().max()) == 0 and float(feat.abs().max()) == 0


def test_auto_picks_the_kernel_on_cpu_and_the_env_overrides(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.delenv("DEJAVU_RENDERER", raising=False)
    assert choose_backend(cpu) == "kernel"
    monkeypatch.setenv("DEJAVU_RENDERER", "torch")
    assert choose_backend(cpu) == "torch" and choose_backend(cpu, "kernel") == "kernel"
    monkeypatch.setenv("DEJAVU_RENDERER", "vulkan")
    with pytest.raises(RenderInputError, match="DEJAVU_RENDERER"):
        choose_backend(cpu)
    monkeypatch.delenv("DEJAVU_RENDERER")
    with pytest.raises(DejavuError, match="CPU tensors"):
        choose_backend(torch.device("meta"), "kernel")


def test_renderer_option_reaches_every_render(monkeypatch, capsys):
    """`dejavu --renderer torch ...` makes every auto render in the process use the twin; a bad name is
    one line and exit 2."""
    import os

    from dejavu_cli.cli import main

    monkeypatch.setenv("DEJAVU_RENDERER", "auto")                   # restored (unset) after the test
    calls = []
    monkeypatch.setattr(api, "rasterize", lambda *a, **k: calls.append("torch") or rasterize(*a, **k))
    assert main(["--renderer", "torch", "setup", "gpu"]) == 0
    s = scene(B=1, N=5, W=16, H=16)
    render(*s, 16, 16)
    assert calls == ["torch"]
    os.environ["DEJAVU_RENDERER"] = "auto"
    assert main(["--renderer", "vulkan", "setup", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "--renderer" in err and err.count("\n") == 1 and "Traceback" not in err


def test_first_compile_is_announced_once(monkeypatch, capsys):
    kernel_raster._announce_compile.cache_clear()
    monkeypatch.setattr(kernel_raster, "_cached_on_disk", lambda: False)
    s = scene(B=1, N=5, W=16, H=16)
    rasterize_kernel(*s, 16, 16)
    rasterize_kernel(*s, 16, 16)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("compiling dejavu's CPU rasterizer kernel")
    kernel_raster._announce_compile.cache_clear()
    monkeypatch.setattr(kernel_raster, "_cached_on_disk", lambda: True)
    rasterize_kernel(*s, 16, 16)
    assert capsys.readouterr().err == ""
