"""Back-face culling in create's training renders (``priors.facing_keep``, ``Problem.cull``): the head is an
opaque closed surface, so skin facing away from the camera must not train into the image."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dejavu_cli.fit import priors


def _camera_at(z: float) -> torch.Tensor:
    return torch.tensor([0.0, 0.0, z])


def test_facing_keep_shapes_and_values_against_the_facing_cosine():
    # points on a unit circle in the x-z plane, normals pointing outward, camera far along -z
    ang = torch.linspace(0, 2 * torch.pi, 37)[:-1]
    pts = torch.stack([torch.sin(ang), torch.zeros_like(ang), -torch.cos(ang)], -1)[None]     # [1, 36, 3]
    keep = priors.facing_keep(pts, pts, _camera_at(-1e6), cos_at=-0.2, width=0.2)
    assert keep.shape == (1, 36) and keep.dtype == torch.float32
    cos = torch.cos(ang)                               # the facing cosine for a camera at infinity
    expected = ((cos + 0.2) / 0.2 + 0.5).clamp(0, 1)
    torch.testing.assert_close(keep[0], expected, atol=1e-5, rtol=0)
    assert keep[0, 0] == 1 and keep[0, 18] == 0        # facing the camera / facing away
    # the ramp: 0.5 exactly at cos_at, 0 and 1 half a width either side
    n = torch.tensor([[[0.0, 0.0, -1.0]]])
    for c, k in ((-0.2, 0.5), (-0.3, 0.0), (-0.1, 1.0), (0.0, 1.0)):
        d = torch.tensor([[[(1 - c * c) ** 0.5, 0.0, -c]]])       # unit direction to the camera at cosine c
        got = priors.facing_keep(n, torch.zeros(1, 1, 3), d[0, 0] * 1e6, cos_at=-0.2, width=0.2)
        assert float(got) == pytest.approx(k, abs=1e-4), c


def test_facing_keep_gradient_and_errors():
    pts = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    nrm = torch.nn.functional.normalize(torch.randn(2, 5, 3, dtype=torch.float64), dim=-1)
    centre = torch.tensor([0.3, -0.2, -4.0], dtype=torch.float64)
    # a wide ramp keeps every sample off the clamp's kinks, where the gradient is defined
    torch.autograd.gradcheck(lambda p: priors.facing_keep(nrm, p, centre, cos_at=0.0, width=4.0), (pts,))
    with pytest.raises(ValueError, match="width"):
        priors.facing_keep(nrm, pts, centre, cos_at=0.0, width=0.0)


def test_culled_training_render_equals_removing_the_hidden_texels(test_head):
    from dejavu_cli.create.config import CreateConfig
    from dejavu_cli.create.problem import render_batch
    from dejavu_cli.create.run import build_problem
    from dejavu_cli.fit.synthetic import make_problem
    from dejavu_cli.head.pose import axis_angle_to_matrix

    track, crops, _ = make_problem(test_head, uv_size=24, size=48, n_frames=4, seed=0)
    cfg = CreateConfig(steps=2, resolution=48, uv_size=24, batch=2, device="cpu", colour_init=False)
    problem, _ = build_problem(track, crops, None, cfg, torch.device("cpu"), progress=False)
    assert problem.cull is not None and bool(problem.cull.any())          # on by default
    off, _ = build_problem(track, crops, None, dataclasses.replace(cfg, cull_back=False), torch.device("cpu"),
                           progress=False)
    assert off.cull is None
    problem = dataclasses.replace(problem, cull=torch.ones_like(problem.cull), cull_cos=0.0)
    idx = problem.train[:2]
    verts = problem.vertices(idx)
    rot = axis_angle_to_matrix(problem.rotvec[idx]).transpose(-1, -2)
    points = problem.layout.surface(verts) @ rot + problem.transl[idx][:, None]
    normals = problem.layout.normals(verts, problem.head.faces) @ rot
    centre = -problem.viewmat[:3, :3].T @ problem.viewmat[:3, 3]
    cos = (normals * torch.nn.functional.normalize(centre - points, dim=-1)).sum(-1)          # [2, N]
    far = cos < -0.1                                                         # fully culled at cos_at 0
    assert bool(far.any()) and bool((~far).any())
    ramp = (cos >= -0.1) & (cos < 0.1)                                       # partly culled: left out
    delta = torch.zeros(2, problem.u_base.shape[0], 13)
    delta[..., 9] = torch.where(ramp, -40.0, -problem.u_base[:, 9])          # the rest half transparent ...
    delta[..., 10:13] = torch.where(far[..., None], 3.0, 0.0)                 # ... and the back bright
    culled = render_batch(problem, delta, idx, verts=verts).rgb
    plain = render_batch(dataclasses.replace(problem, cull=None), delta, idx, verts=verts).rgb
    assert (culled - plain).abs().max() > 0.05                               # the back shows through unculled
    removed = delta.clone()
    removed[..., 9] = torch.where(far, -40.0, removed[..., 9])
    ref = render_batch(dataclasses.replace(problem, cull=None), removed, idx, verts=verts).rgb
    torch.testing.assert_close(culled, ref, atol=1e-5, rtol=0)
