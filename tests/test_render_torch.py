"""The pure-PyTorch tile rasterizer against the brute-force per-pixel reference, its readable twin, and
finite differences (gradcheck), plus behaviours a user relies on (occlusion, background, batching)."""

from __future__ import annotations

import math

import pytest
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.render import camera
from dejavu_cli.render.api import RenderInputError, render
from dejavu_cli.render.reference import render_reference
from dejavu_cli.render.torch_raster import rasterize


def scene(B=2, N=30, W=23, H=17, dtype=torch.float64, seed=0, spread=0.3, fov=60.0):
    """Random Gaussians in front of the default camera (1 m away), moderate opacities."""
    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(B, N, 3, generator=g, dtype=dtype) - 0.5) * spread
    quats = torch.randn(B, N, 4, generator=g, dtype=dtype)
    scales = torch.rand(B, N, 3, generator=g, dtype=dtype) * 0.04 + 0.01
    opac = torch.rand(B, N, generator=g, dtype=dtype) * 0.6 + 0.2
    colors = torch.rand(B, N, 3, generator=g, dtype=dtype)
    V = camera.default_viewmat(dtype=dtype)[None].repeat(B, 1, 1)
    V[1:, 0, 3] = 0.02                                              # a second, shifted camera
    f = 0.5 * W / math.tan(math.radians(fov) / 2)
    K = camera.intrinsics(f, W, H, dtype=dtype)[None].repeat(B, 1, 1)
    return [means, quats, scales, opac, colors, V, K]


def blob(z, color, opacity=0.99, scale=0.2, dtype=torch.float64):
    """One round Gaussian on the optical axis at camera depth ``z`` (default camera looks down -z)."""
    return (torch.tensor([[0.0, 0.0, 1.0 - z]], dtype=dtype), torch.tensor([[1.0, 0, 0, 0]], dtype=dtype),
            torch.full((1, 3), scale, dtype=dtype), torch.tensor([opacity], dtype=dtype),
            torch.tensor([color], dtype=dtype))


def stack_blobs(*blobs):
    return [torch.cat(parts)[None] for parts in zip(*blobs)]


def cam(W=16, H=16, dtype=torch.float64, fov=40.0):
    f = 0.5 * W / math.tan(math.radians(fov) / 2)
    return camera.default_viewmat(dtype=dtype)[None], camera.intrinsics(f, W, H, dtype=dtype)[None]


def test_shapes_and_values_match_reference():
    s = scene()
    out = render(*s, 23, 17, backend="torch")
    ref = render_reference(*s, 23, 17)
    assert out.rgb.shape == (2, 17, 23, 3) and out.alpha.shape == (2, 17, 23, 1) and out.depth.shape == (2, 17, 23, 1)
    assert out.alpha.max() > 0.5                                         # the scene is actually visible
    for a, b in zip((out.rgb, out.alpha, out.depth), ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_float32_matches_reference():
    s = [t.float() for t in scene(seed=1)]
    out = render(*s, 23, 17, backend="torch")
    for a, b in zip((out.rgb, out.alpha, out.depth), render_reference(*s, 23, 17)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("tile", [4, 16])
def test_tile_size_does_not_change_the_image(tile):
    s = scene(seed=2)
    a, aa = rasterize(*s, 23, 17)
    b, bb = rasterize(*s, 23, 17, tile=tile)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    torch.testing.assert_close(aa, bb, atol=1e-12, rtol=0)


def test_fast_backward_matches_readable_twin():
    s = scene(seed=3, N=40)
    params = [t.clone().requires_grad_() for t in s[:5]]

    def grads(**kw):
        f, a = rasterize(*params, *s[5:], 23, 17, **kw)
        w = torch.linspace(-1, 1, f.numel(), dtype=f.dtype).reshape(f.shape)
        loss = (f * w).sum() + (a * a).sum()
        return [loss.detach(), *torch.autograd.grad(loss, params)]

    twin = grads(twin=True)
    for kw in ({}, {"chunk": 3, "tile": 16}):                          # multi-chunk and tile compaction
        for g, t in zip(grads(**kw), twin):
            torch.testing.assert_close(g, t, atol=1e-9, rtol=1e-9)


def test_gradients_match_reference_autograd():
    s = scene(seed=4, N=12, W=14, H=12)
    params = [t.clone().requires_grad_() for t in s[:5]]

    def grads(fn):
        rgb, alpha, depth = fn(*params, *s[5:], 14, 12)
        loss = (rgb * torch.arange(3.0, dtype=rgb.dtype)).sum() + alpha.sum() + 0.5 * depth.sum()
        return torch.autograd.grad(loss, params)

    fast = grads(lambda *a: tuple(vars(render(*a, backend="torch")).values()))
    for g, r in zip(fast, grads(render_reference)):
        torch.testing.assert_close(g, r, atol=1e-9, rtol=1e-7)


def test_gradcheck_custom_backward():
    s = scene(B=1, N=5, W=12, H=12, seed=5, spread=0.5, fov=60.0)
    V, K = s[5:]

    def f(means, quats, scales, opac, colors):
        feat, alpha = rasterize(means, quats, scales, opac, colors, V, K, 12, 12, chunk=2)
        return feat, alpha

    inputs = tuple(t.clone().requires_grad_() for t in s[:5])
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)


def test_colour_and_alpha_of_one_opaque_gaussian():
    V, K = cam()
    out = render(*stack_blobs(blob(1.0, [0.2, 0.4, 0.6], opacity=1.0, scale=1.0)), V, K, 16, 16, backend="torch")
    centre = out.rgb[0, 7:9, 7:9].reshape(-1, 3)
    # alpha clamps at 0.999, the rest is the white background
    want = 0.999 * torch.tensor([0.2, 0.4, 0.6], dtype=torch.float64) + 0.001
    torch.testing.assert_close(centre, want.expand_as(centre), atol=1e-12, rtol=0)
    small = render(*stack_blobs(blob(1.0, [0.2, 0.4, 0.6], scale=0.05)), V, K, 16, 16, backend="torch")
    assert 0.5 < small.alpha[0, 8, 8, 0] < 0.99 and small.alpha[0, 0, 0, 0] == 0
    assert abs(out.depth[0, 8, 8, 0] / out.alpha[0, 8, 8, 0] - 1.0) < 1e-9


def test_near_gaussian_hides_far_one_and_swapping_swaps_colour():
    V, K = cam()
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    a = render(*stack_blobs(blob(0.8, red), blob(1.2, blue)), V, K, 16, 16, backend="torch")
    b = render(*stack_blobs(blob(1.2, red), blob(0.8, blue)), V, K, 16, 16, backend="torch")
    assert a.rgb[0, 8, 8, 0] > 0.95 and a.rgb[0, 8, 8, 2] < 0.05
    assert b.rgb[0, 8, 8, 2] > 0.95 and b.rgb[0, 8, 8, 0] < 0.05
    assert abs(a.depth[0, 8, 8, 0] - 0.8) < 0.01                       # the near one's depth dominates


def test_compositing_stops_before_transmittance_reaches_1e_4():
    V, K = cam()
    layers = stack_blobs(*(blob(0.8 + 0.1 * i, [i / 2, 0.5, 0.5], opacity=1.0, scale=1.0) for i in range(3)))
    out = render(*layers, V, K, 16, 16, backend="torch")
    # first layer: T = 0.001; the second would give 1e-6 <= 1e-4, so it and all behind are dropped
    assert out.alpha[0, 8, 8, 0] == pytest.approx(0.999, abs=1e-12)
    ref = render_reference(*layers, V, K, 16, 16)
    torch.testing.assert_close(out.rgb, ref[0], atol=1e-12, rtol=0)


def test_background_per_image_and_default_white():
    s = scene(seed=6)
    s[0] = s[0] + torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64)    # everything behind the camera
    out = render(*s, 23, 17, backend="torch")
    assert torch.equal(out.rgb, torch.ones_like(out.rgb)) and out.alpha.abs().max() == 0
    bg = torch.tensor([[0.1, 0.2, 0.3], [0.0, 1.0, 0.0]], dtype=torch.float64)
    out = render(*s, 23, 17, background=bg, backend="torch")
    assert torch.allclose(out.rgb, bg[:, None, None, :].expand_as(out.rgb))


def test_batch_of_two_equals_two_singles():
    s = scene(seed=7)
    both = render(*s, 23, 17, backend="torch")
    for b in range(2):
        one = render(*[t[b:b + 1] for t in s], 23, 17, backend="torch")
        torch.testing.assert_close(both.rgb[b:b + 1], one.rgb, atol=1e-12, rtol=0)
        torch.testing.assert_close(both.depth[b:b + 1], one.depth, atol=1e-12, rtol=0)


def test_gaussians_behind_the_camera_are_culled_with_zero_gradient():
    V, K = cam()
    behind = blob(-0.5, [1.0, 0.0, 0.0], scale=0.3)                     # camera z = -0.5
    near_plane = blob(0.005, [1.0, 0.0, 0.0], scale=0.3)                # in front but inside the near plane
    visible = blob(1.0, [0.0, 1.0, 0.0])
    params = [t.clone().requires_grad_() for t in stack_blobs(behind, near_plane, visible)]
    out = render(*params, V, K, 16, 16, backend="torch")
    assert out.rgb[0, 8, 8, 0] < 0.05 and out.rgb[0, 8, 8, 1] > 0.95
    (out.rgb.sum() + out.alpha.sum()).backward()
    for p in params:
        assert torch.isfinite(p.grad).all()
        assert p.grad[0, :2].abs().max() == 0
    assert params[0].grad[0, 2].abs().max() > 0


@pytest.mark.parametrize("bad, msg", [
    (lambda s: s.__setitem__(0, s[0][..., :2]), "means"),
    (lambda s: s.__setitem__(1, s[1][:, :-1]), "quats"),
    (lambda s: s.__setitem__(3, s[3][..., None]), "opacities"),
    (lambda s: s.__setitem__(5, s[5][:1]), "viewmats"),
    (lambda s: s.__setitem__(6, s[6].long()), "Ks"),
])
def test_wrong_inputs_raise_clear_errors(bad, msg):
    s = scene(N=4)
    bad(s)
    with pytest.raises(ValueError, match=msg) as e:
        render(*s, 23, 17, backend="torch")
    assert isinstance(e.value, DejavuError) and "\n" not in str(e.value)


def test_float64_cameras_with_float32_gaussians():
    s = [t.float() for t in scene(seed=8)]
    a = render(*s[:5], s[5].double(), s[6].double(), 23, 17, backend="torch")
    b = render(*s, 23, 17, backend="torch")
    assert a.rgb.dtype == torch.float32 and torch.equal(a.rgb, b.rgb)


def test_bad_background_size_and_backend():
    s = scene(N=4)
    with pytest.raises(RenderInputError, match="background"):
        render(*s, 23, 17, background=torch.ones(3, 3, dtype=torch.float64))
    with pytest.raises(RenderInputError, match="backend"):
        render(*s, 23, 17, backend="vulkan")
    with pytest.raises(RenderInputError, match="size"):
        render(*s, 0, 17)
    if not torch.cuda.is_available():
        with pytest.raises(DejavuError, match="gsplat"):
            render(*s, 23, 17, backend="gsplat")
        out = render(*s, 23, 17)                                         # auto falls back to torch on CPU
        assert out.rgb.shape == (2, 17, 23, 3)
