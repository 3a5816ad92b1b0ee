"""Landmark fit: linear landmark model, projection, PnP initialisation, recovery on synthetic frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dejavu_cli.render.camera import default_viewmat, focal_from_fov, intrinsics
from dejavu_cli.render.camera import project as camera_project
from dejavu_cli.track.correspond import from_landmarks68
from dejavu_cli.track.fit import FitWeights, build_landmark_model, fit_landmarks, pnp_init, project

S = 128


@pytest.fixture(scope="module")
def setup(test_head):
    corr = from_landmarks68(test_head)
    return test_head, corr, build_landmark_model(test_head, corr)


def camera():
    return intrinsics(focal_from_fov(20.0, S), S, S), default_viewmat()


def test_landmark_model_matches_forward(setup):
    """The reduced model equals the head model's own forward at the points, jaw and eye rotations included."""
    from dejavu_cli.track.fit import posed_points

    head, corr, lm = setup
    assert lm.skinning is not None and lm.basis.shape == (head.n_identity + head.n_expression, 68, 3)
    g = torch.Generator().manual_seed(1)
    for b in range(2):
        ident = 0.5 * torch.randn(1, head.n_identity, generator=g)
        expr = 0.5 * torch.randn(3, head.n_expression, generator=g)
        jaw, eyes = 0.3 * torch.randn(3, 3, generator=g), 0.2 * torch.randn(3, 6, generator=g)
        truth = corr.surface(head.vertices(identity=ident.expand(3, -1), expression=expr, jaw=jaw, eyes=eyes),
                             head.faces)
        pred = posed_points(lm, ident[0], torch.cat([expr, jaw, eyes], 1))
        torch.testing.assert_close(pred, truth, atol=1e-5, rtol=0)


def test_project_matches_render_camera():
    K, V = camera()
    g = torch.Generator().manual_seed(0)
    pts = 0.05 * torch.randn(3, 7, 3, generator=g)
    rot, tr = 0.3 * torch.randn(3, 3, generator=g), 0.02 * torch.randn(3, 3, generator=g)
    from dejavu_cli.head.pose import apply_rigid

    ref = camera_project(apply_rigid(pts, rot, tr), V, K)
    torch.testing.assert_close(project(pts, rot, tr, V, K), ref, atol=1e-4, rtol=1e-5)


def test_project_gradcheck():
    K, V = camera()
    g = torch.Generator().manual_seed(2)
    pts = (0.05 * torch.randn(2, 4, 3, generator=g)).double().requires_grad_()
    rot = (0.2 * torch.randn(2, 3, generator=g)).double().requires_grad_()
    tr = (0.01 * torch.randn(2, 3, generator=g)).double().requires_grad_()
    assert torch.autograd.gradcheck(lambda p, r, t: project(p, r, t, V.double(), K.double()), (pts, rot, tr))


def _synthetic(lm, T=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    K, V = camera()
    ident = 0.3 * torch.randn(lm.n_id, generator=g)
    t = torch.linspace(0, 1, T)[:, None]
    frame = torch.zeros(T, lm.n_exp + lm.n_jaw + lm.n_eyes)
    frame[:, :lm.n_exp] = 0.3 * torch.sin(6 * t + torch.arange(lm.n_exp))
    rot = torch.cat([0.1 * torch.sin(4 * t), 0.3 * torch.sin(3 * t), 0.05 * t], 1)
    tr = torch.cat([0.01 * t, -0.01 * t, -0.05 + 0.02 * t], 1)
    frame[:, lm.n_exp] = 0.2 * t[:, 0]                                   # jaw opens
    from dejavu_cli.track.fit import posed_points

    pts = posed_points(lm, ident, frame)
    return project(pts, rot, tr, V, K).numpy(), rot.numpy(), tr.numpy(), pts


def test_pnp_init_recovers_rigid_pose(setup):
    _, _, lm = setup
    K, V = camera()
    g = torch.Generator().manual_seed(3)
    rot, tr = 0.3 * torch.randn(5, 3, generator=g), torch.tensor([[0.01, -0.02, -0.1]]).expand(5, 3)
    targets = project(lm.mean.expand(5, -1, -1), rot, tr, V, K).numpy()
    r0, t0 = pnp_init(lm.mean.numpy(), targets, K.numpy(), V.numpy())
    np.testing.assert_allclose(r0, rot.numpy(), atol=1e-3)
    np.testing.assert_allclose(t0, tr.numpy(), atol=1e-4)


def test_fit_reaches_sub_pixel_on_synthetic_frames(setup):
    _, corr, lm = setup
    targets, rot, tr, _ = _synthetic(lm)
    K, V = camera()
    res = fit_landmarks(lm, targets, corr.weights, np.r_[False, np.ones(len(targets) - 1, bool)], K, V,
                        FitWeights(iterations=300))
    assert res["expression"].shape == (len(targets), lm.n_exp) and res["jaw"].shape == (len(targets), 3)
    assert res["error"].mean() < 0.5, res["error"].mean()
    np.testing.assert_allclose(res["rotvec"], rot, atol=0.05)


def test_expression_bounds_are_respected(setup):
    _, corr, lm = setup
    targets, *_ = _synthetic(lm, T=6)
    K, V = camera()
    res = fit_landmarks(lm, targets, corr.weights, np.ones(6, bool), K, V, FitWeights(iterations=40),
                        exp_bounds=(0.0, 1.0))
    assert res["expression"].min() >= 0 and res["expression"].max() <= 1
