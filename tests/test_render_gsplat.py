"""gsplat backend parity with the pure-PyTorch rasterizer on head-like scenes (needs CUDA + gsplat).

Run on a GPU machine: ``pytest -m cuda tests/test_render_gsplat.py`` (benchmarks/gpu/run.sh does it).
"""

from __future__ import annotations

import math

import pytest
import torch

from dejavu_cli.render import camera
from dejavu_cli.render.api import render

pytestmark = pytest.mark.cuda


def _gsplat_ok() -> bool:
    from dejavu_cli.render.gsplat_backend import gsplat_available

    return torch.cuda.is_available() and gsplat_available("cuda")


needs_gsplat = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def head_scene(n=20_000, batch=2, size=128, seed=0, device="cuda"):
    """Gaussians on a 0.1 m shell (a head) 1 m from the camera, 1-3 mm scales; camera 2 orbits 30 deg."""
    g = torch.Generator().manual_seed(seed)
    means = 0.1 * torch.nn.functional.normalize(torch.randn(batch, n, 3, generator=g), dim=-1)
    quats = torch.randn(batch, n, 4, generator=g)
    scales = torch.exp(torch.empty(batch, n, 3).uniform_(math.log(1e-3), math.log(3e-3), generator=g))
    opac = torch.empty(batch, n).uniform_(0.3, 0.95, generator=g)
    colors = torch.rand(batch, n, 3, generator=g)
    V = camera.orbit_viewmats(batch, max_yaw_deg=30.0) if batch > 1 else camera.default_viewmat()[None]
    K = camera.intrinsics(camera.focal_from_fov(20.0, size), size, size)[None].repeat(batch, 1, 1)
    return [t.to(device) for t in (means, quats, scales, opac, colors, V, K)]


@needs_gsplat
def test_forward_matches_torch_backend():
    if not _gsplat_ok():
        pytest.fail("CUDA is present but gsplat's CUDA extension did not load")
    s = head_scene()
    bg = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.5, 1.0]], device="cuda")
    a = render(*s, 128, 128, background=bg, backend="gsplat")
    b = render(*s, 128, 128, background=bg, backend="torch")
    assert a.alpha.mean() > 0.2                                   # the head is in view
    for x, y, name in ((a.rgb, b.rgb, "rgb"), (a.alpha, b.alpha, "alpha"), (a.depth, b.depth, "depth")):
        err = (x - y).abs()
        assert err.mean() < 1e-4, (name, err.mean().item())
        assert err.max() < 2e-2, (name, err.max().item())        # isolated stop-rule flips only


@needs_gsplat
def test_gradients_match_torch_backend():
    if not _gsplat_ok():
        pytest.fail("CUDA is present but gsplat's CUDA extension did not load")
    s = head_scene(n=10_000)
    w = torch.rand(2, 128, 128, 3, generator=torch.Generator().manual_seed(1)).cuda()

    def grads(backend):
        params = [t.clone().requires_grad_() for t in s[:5]]
        out = render(*params, *s[5:], 128, 128, backend=backend)
        loss = (out.rgb * w).sum() + out.alpha.sum() + out.depth.sum()
        return torch.autograd.grad(loss, params)

    for name, ga, gb in zip(("means", "quats", "scales", "opacities", "colors"), grads("gsplat"), grads("torch")):
        cos = torch.nn.functional.cosine_similarity(ga.flatten(), gb.flatten(), dim=0)
        rel = (ga - gb).norm() / gb.norm()
        assert cos > 0.999 and rel < 0.05, (name, cos.item(), rel.item())


@needs_gsplat
def test_torch_backend_on_cuda_matches_cpu():
    s = head_scene(n=5_000, size=64)
    a = render(*s, 64, 64, backend="torch")
    b = render(*[t.cpu() for t in s], 64, 64, backend="torch")
    for x, y in zip((a.rgb, a.alpha, a.depth), (b.rgb, b.alpha, b.depth)):
        torch.testing.assert_close(x.cpu(), y, atol=1e-4, rtol=0)
