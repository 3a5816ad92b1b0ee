"""Conformance with gsplat 1.5.3 on the CPU (every CI run, no GPU): our projection, argument conventions
and compositing against gsplat's pure-PyTorch reference functions (``gsplat.cuda._torch_impl``).

gsplat's conventions (docs/conventions.md#gsplat): Gaussians ``[..., N, ...]``, cameras ``[..., C, ...]``
so outputs are ``[..., C, N, ...]``; radii are int32 ``[..., C, N, 2]``; quaternions (w, x, y, z).
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from dejavu_cli.avatar.gaussians import SH_C0
from dejavu_cli.render import camera
from dejavu_cli.render.api import render
from dejavu_cli.render.project import ALPHA_MIN, EXTENT_MAX, Projected, project_gaussians, quat_to_rotmat
from dejavu_cli.render.torch_raster import rasterize_projected

ref = pytest.importorskip("gsplat.cuda._torch_impl")

MEASURED: dict[str, float] = {}  # max differences per scene (docs/rendering.md#conformance)


def head_scene(n, batch, seed, dtype=torch.float64, radius=0.1, opac=(0.05, 1.0)):
    """Gaussians on a head-sized shell around the origin: means [B, N, 3], quats, scales, opacities."""
    g = torch.Generator().manual_seed(seed)
    means = radius * torch.nn.functional.normalize(torch.randn(batch, n, 3, generator=g), dim=-1)
    means = means + 0.01 * torch.randn(batch, n, 3, generator=g)
    quats = torch.randn(batch, n, 4, generator=g)
    scales = torch.exp(torch.empty(batch, n, 3).uniform_(math.log(5e-4), math.log(8e-3), generator=g))
    opacities = torch.empty(batch, n).uniform_(*opac, generator=g)
    colors = torch.rand(batch, n, 3, generator=g)
    return [t.to(dtype) for t in (means, quats, scales, opacities, colors)]


def random_scene(n, batch, seed, size):
    """Unstructured scene: means anywhere in front of and behind a random camera, any scales."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(batch, n, 3, generator=g, dtype=torch.float64) * torch.tensor([0.6, 0.6, 1.0],
                                                                                       dtype=torch.float64)
    quats = torch.randn(batch, n, 4, generator=g, dtype=torch.float64)
    scales = torch.exp(torch.empty(batch, n, 3, dtype=torch.float64).uniform_(-7, -2, generator=g))
    opacities = torch.rand(batch, n, generator=g, dtype=torch.float64)
    yaw = torch.rand(batch, generator=g) * 2 * math.pi
    eye = torch.stack([2 * torch.sin(yaw), 0.3 * torch.randn(batch, generator=g), 2 * torch.cos(yaw)], -1)
    V = camera.look_at(eye.double(), torch.zeros(batch, 3, dtype=torch.float64))
    f = 0.5 * size / math.tan(math.radians(float(torch.empty(1).uniform_(20, 70, generator=g))) / 2)
    K = camera.intrinsics(f, size, size, dtype=torch.float64)[None].repeat(batch, 1, 1)
    return means, quats, scales, opacities, V, K


def avatar_cameras(size: int, kind: str):
    """The cameras the avatar is rendered with: the 20-degree tracking camera or turntable views."""
    K = camera.intrinsics(camera.focal_from_fov(camera.DEFAULT_FOV_DEG, size), size, size, dtype=torch.float64)
    if kind == "tracking":
        V = camera.default_viewmat(dtype=torch.float64)[None]
    else:
        V = camera.orbit_viewmats(6, elevation_deg=15.0).double()
    return V, K[None].repeat(V.shape[0], 1, 1)


def gsplat_projection(means, quats, scales, V, K, width, height, near=0.01, far=1e10, eps2d=0.3):
    """gsplat's reference projection, one camera per batch element; outputs squeezed to [B, N, ...]."""
    covars, _ = ref._quat_scale_to_covar_preci(quats, scales, compute_preci=False)
    radii, means2d, depths, conics, _ = ref._fully_fused_projection(
        means, covars, V[:, None], K[:, None], width, height, eps2d=eps2d, near_plane=near, far_plane=far)
    return radii[:, 0], means2d[:, 0], depths[:, 0], conics[:, 0]


def _extent(opacities):
    o = opacities.clamp_min(ALPHA_MIN)
    return torch.sqrt(2.0 * torch.log(o / ALPHA_MIN)).clamp_max(EXTENT_MAX)


def _compare_projection(name, means, quats, scales, opacities, V, K, size):
    ours = project_gaussians(means, quats, scales, opacities, V, K, size, size)
    radii_g, means2d_g, depths_g, conics_g = gsplat_projection(means, quats, scales, V, K, size, size)
    vis_g = (radii_g > 0).all(-1)
    vis = ours.visible
    assert vis.sum() > 0.2 * vis.numel() or name.startswith("random"), name
    # ours culls with a smaller, opacity-aware box (and opacity < 1/255): visible => gsplat-visible
    assert not (vis & ~vis_g).any(), name
    # depths for every Gaussian in range; means2d and conics where visible
    in_range = (depths_g > 0.01) & (depths_g < 1e10)
    d_depth = (ours.depths - depths_g)[in_range].abs().max().item()
    d_mean = (ours.means2d - means2d_g)[vis].abs().max().item()
    d_conic = ((ours.conics - conics_g)[vis].abs() / conics_g[vis].abs().amax(-1, keepdim=True)).max().item()
    assert d_depth < 1e-12 and d_mean < 1e-8 and d_conic < 1e-9, (name, d_depth, d_mean, d_conic)
    # radii: gsplat's rule ceil(k sqrt(cov2d diag)) from gsplat's 2D covariance, with our opacity-aware k
    a, b, c = conics_g.unbind(-1)
    det = a * c - b * b
    cov_xx, cov_yy = c / det, a / det
    k = _extent(opacities)
    want = torch.stack([torch.ceil(k * cov_xx.sqrt()), torch.ceil(k * cov_yy.sqrt())], -1).to(torch.int64)
    d_radii = (ours.radii - want)[vis].abs().max().item()
    assert d_radii == 0, (name, d_radii)
    # with gsplat's fixed 3.33 sigma the radii are gsplat's exactly
    ours333 = torch.stack([torch.ceil(EXTENT_MAX * cov_xx.sqrt()), torch.ceil(EXTENT_MAX * cov_yy.sqrt())], -1)
    assert torch.equal(ours333[vis].to(torch.int32), radii_g[vis]), name
    MEASURED[name] = max(d_mean, d_conic)
    return ours, (radii_g, means2d_g, depths_g, conics_g)


def test_quaternion_order_and_covariance_match_gsplat():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(500, 4, generator=g, dtype=torch.float64)
    s = torch.rand(500, 3, generator=g, dtype=torch.float64) + 0.01
    torch.testing.assert_close(quat_to_rotmat(q), ref._quat_to_rotmat(q), atol=1e-14, rtol=0)
    # a quarter turn about z written (w, x, y, z): both map x to y
    qz = torch.tensor([[math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)]], dtype=torch.float64)
    x = torch.tensor([1.0, 0, 0], dtype=torch.float64)
    for R in (quat_to_rotmat(qz)[0], ref._quat_to_rotmat(qz)[0]):
        torch.testing.assert_close(R @ x, torch.tensor([0.0, 1, 0], dtype=torch.float64), atol=1e-15, rtol=0)
    cov, prec = ref._quat_scale_to_covar_preci(q, s)
    M = quat_to_rotmat(q) * s[..., None, :]
    torch.testing.assert_close(M @ M.transpose(-1, -2), cov, atol=1e-14, rtol=0)
    torch.testing.assert_close(torch.linalg.inv(cov), prec, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_projection_matches_gsplat_random_scenes(seed):
    means, quats, scales, opacities, V, K = random_scene(3000, 2, seed, size=96)
    ours, _ = _compare_projection(f"random{seed}", means, quats, scales, opacities, V, K, 96)
    assert ours.visible.any()


@pytest.mark.parametrize("kind,size", [("tracking", 512), ("turntable", 128)])
def test_projection_matches_gsplat_avatar_cameras(kind, size):
    V, K = avatar_cameras(size, kind)
    means, quats, scales, opacities, _ = head_scene(4000, V.shape[0], seed=size)
    _compare_projection(f"{kind}{size}", means, quats, scales, opacities, V, K, size)


def test_near_far_clipping_matches_gsplat():
    V, K = avatar_cameras(64, "tracking")
    means = torch.tensor([[[0, 0, 0.995], [0, 0, 0.9], [0, 0, 0.0], [0, 0, -0.5], [0.0, 0.0, 0.5]]],
                         dtype=torch.float64)   # camera z = 1 - world z: 0.005, 0.1, 1, 1.5, 0.5
    quats = torch.tensor([1.0, 0, 0, 0], dtype=torch.float64).expand(1, 5, 4)
    scales = torch.full((1, 5, 3), 1e-3, dtype=torch.float64)
    opac = torch.ones(1, 5, dtype=torch.float64)
    for near, far in ((0.01, 1e10), (0.2, 1.2)):
        ours = project_gaussians(means, quats, scales, opac, V, K, 64, 64, near=near, far=far)
        radii_g, *_ = gsplat_projection(means, quats, scales, V, K, 64, 64, near=near, far=far)
        assert torch.equal(ours.visible, (radii_g > 0).all(-1)), (near, far)


def test_rasterize_call_matches_gsplat_signature(monkeypatch):
    """The arguments rasterize_gsplat passes are gsplat 1.5.3 ``rasterization``'s, with our shapes."""
    import gsplat

    from dejavu_cli.render import gsplat_backend

    assert gsplat.__version__ == gsplat_backend.GSPLAT_VERSION
    sig = inspect.signature(gsplat.rasterization)
    assert list(sig.parameters)[:9] == ["means", "quats", "scales", "opacities", "colors", "viewmats", "Ks",
                                        "width", "height"]
    # our render defaults are gsplat's
    defaults = inspect.signature(render).parameters
    assert sig.parameters["near_plane"].default == defaults["near"].default == 0.01
    assert sig.parameters["far_plane"].default == defaults["far"].default == 1e10
    assert sig.parameters["eps2d"].default == defaults["eps2d"].default == 0.3
    assert "wxyz" in (gsplat.rasterization.__doc__ or "").replace(" ", "").lower() or \
        "(w,x,y,z)" in (gsplat.rasterization.__doc__ or "").replace(" ", "")
    seen = {}

    def fake(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)          # raises on a name gsplat does not have
        seen.update(bound.arguments)
        B, C, H, W = bound.arguments["viewmats"].shape[0], 1, bound.arguments["height"], bound.arguments["width"]
        return torch.zeros(B, C, H, W, 4), torch.zeros(B, C, H, W, 1), {}

    monkeypatch.setattr(gsplat, "rasterization", fake)
    means, quats, scales, opacities, colors = head_scene(10, 2, seed=0, dtype=torch.float32)
    V, K = avatar_cameras(32, "turntable")
    V, K = V[:2].float(), K[:2].float()
    bg = torch.rand(2, 3)
    rgb, alpha, depth = gsplat_backend.rasterize_gsplat(means, quats, scales, opacities, colors, V, K, 32, 24,
                                                        bg, 0.05, 50.0, 0.3)
    assert rgb.shape == (2, 24, 32, 3) and alpha.shape == depth.shape == (2, 24, 32, 1)
    assert seen["quats"] is quats and seen["means"] is means and seen["colors"] is colors  # no reordering
    assert torch.equal(seen["viewmats"], V[:, None]) and torch.equal(seen["Ks"], K[:, None])
    assert torch.equal(seen["backgrounds"], bg[:, None])
    assert (seen["near_plane"], seen["far_plane"], seen["eps2d"]) == (0.05, 50.0, 0.3)
    assert seen["sh_degree"] is None and seen["render_mode"] == "RGB+D" and seen["rasterize_mode"] == "classic"
    assert seen["packed"] is False and seen.get("radius_clip", 0.0) == 0.0
    assert seen.get("camera_model", "pinhole") == "pinhole"


def test_sh_degree0_matches_our_colour_activation():
    g = torch.Generator().manual_seed(5)
    sh_dc = torch.randn(2, 300, 3, generator=g, dtype=torch.float64)
    dirs = torch.randn(2, 300, 3, generator=g, dtype=torch.float64)
    out = ref._spherical_harmonics(0, dirs, sh_dc[..., None, :])   # coeffs [..., K=1, 3]
    torch.testing.assert_close(out, SH_C0 * sh_dc, atol=1e-15, rtol=0)
    # gsplat's rasterization adds 0.5 and clamps at 0 for SH input; our activate does the same up front
    from dejavu_cli.avatar.gaussians import activate

    raw = {"means": torch.zeros(2, 300, 3, dtype=torch.float64), "quats": torch.randn(2, 300, 4, dtype=torch.float64),
           "log_scales": torch.zeros(2, 300, 3, dtype=torch.float64),
           "opacity_logits": torch.zeros(2, 300, dtype=torch.float64), "sh_dc": sh_dc}
    colors = activate(raw)["colors"]
    torch.testing.assert_close(colors, (out + 0.5).clamp_min(0.0), atol=1e-15, rtol=0)


@pytest.mark.parametrize("kind,size", [("tracking", 128), ("turntable", 64)])
def test_composite_from_gsplat_projection_matches_full_path(kind, size):
    V, K = avatar_cameras(size, kind)
    means, quats, scales, opacities, colors = head_scene(3000, V.shape[0], seed=7)
    radii, means2d, depths, conics = gsplat_projection(means, quats, scales, V, K, size, size)
    visible = (radii > 0).all(-1) & (opacities >= ALPHA_MIN)
    proj = Projected(means2d, conics, depths, radii.to(torch.int64) * visible[..., None], visible)
    feat, alpha = rasterize_projected(proj, opacities, colors, size, size)
    got = render(means, quats, scales, opacities, colors, V, K, size, size, backend="torch",
                 background=torch.zeros(3, dtype=torch.float64))
    assert got.alpha.mean() > 0.05
    d_rgb = (feat[..., :3] - got.rgb).abs().max().item()
    d_alpha = (alpha - got.alpha).abs().max().item()
    d_depth = (feat[..., 3:] - got.depth).abs().max().item()
    MEASURED[f"image-{kind}{size}"] = max(d_rgb, d_alpha, d_depth)
    assert max(d_rgb, d_alpha, d_depth) < 1e-9, (d_rgb, d_alpha, d_depth)
