"""maps -> Gaussians (docs/architecture.md#maps), blend weights (eq. 10-11), Animator."""

import math

import numpy as np
import pytest
import torch

from dejavu_cli.avatar.gaussians import SH_C0, blend_weights, compose_maps, maps_to_gaussians
from dejavu_cli.head.pose import axis_angle_to_matrix
from dejavu_cli.head.pose import quat_mul as quat_multiply
from dejavu_cli.head.pose import rotvec_to_quat as quat_from_rotvec
from dejavu_cli.uv.layout import build_layout
from dejavu_cli.uv.maps import init_maps


def _quat_rotate(q, v):
    qv = torch.cat([torch.zeros_like(v[..., :1]), v], -1)
    conj = q * torch.tensor([1.0, -1, -1, -1], dtype=q.dtype)
    return quat_multiply(quat_multiply(q, qv), conj)[..., 1:]


def test_quaternion_matches_rodrigues():
    rv = torch.tensor([[0.3, -0.2, 0.9], [0.0, 0.0, 0.0], [1e-6, 0, 0], [0, math.pi, 0]], dtype=torch.float64)
    v = torch.randn(4, 3, dtype=torch.float64)
    torch.testing.assert_close(_quat_rotate(quat_from_rotvec(rv), v), (axis_angle_to_matrix(rv) @ v[..., None])[..., 0])
    assert torch.autograd.gradcheck(quat_from_rotvec, (rv[:2].clone().requires_grad_(True),))


@pytest.fixture(scope="module")
def layout(test_head):
    return build_layout(test_head, 24).double()


def test_activation_and_rigid_pose(layout, test_head):
    N = layout.n_texels
    maps = init_maps(layout).double()[None].repeat(2, 1, 1)
    maps[..., :3] = torch.randn(2, N, 3, dtype=torch.float64) * 1e-3
    maps[..., 6:9] = torch.randn(2, N, 3, dtype=torch.float64) * 0.1
    maps[..., 10:13] = torch.randn(2, N, 3, dtype=torch.float64)
    v = test_head.template.double()[None].expand(2, -1, -1)
    rv = torch.tensor([[0.0, 0, 0], [0.2, 0.5, -0.1]], dtype=torch.float64)
    t = torch.tensor([[0.0, 0, 0], [0.01, -0.02, 0.3]], dtype=torch.float64)
    g = maps_to_gaussians(layout, maps, v, rv, t)
    base = layout.surface(v) + maps[..., :3]
    torch.testing.assert_close(g["means"][0], base[0])
    R = axis_angle_to_matrix(rv[1])
    torch.testing.assert_close(g["means"][1], base[1] @ R.T + t[1])
    q = torch.nn.functional.normalize(torch.cat([torch.ones(N, 1, dtype=torch.float64), maps[1, :, 6:9]], -1), dim=-1)
    torch.testing.assert_close(g["quats"][1], quat_multiply(quat_from_rotvec(rv[1]), q))
    torch.testing.assert_close(g["scales"], torch.full_like(g["scales"], math.exp(-8.3533)))
    torch.testing.assert_close(g["opacities"], torch.sigmoid(maps[..., 9]))
    torch.testing.assert_close(g["colors"], (0.5 + SH_C0 * maps[..., 10:13]).clamp_min(0))


def test_gradcheck_maps_to_gaussians(test_head):
    lay = build_layout(test_head, 16).double()
    n = 6
    maps = (init_maps(lay).double()[:n] + 0.1 * torch.randn(n, 13, dtype=torch.float64)).requires_grad_(True)
    v = test_head.template.double()[None]
    rv = torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64, requires_grad=True)

    class Sub:  # the first n texels of the layout
        locked = lay.locked[:n]

        @staticmethod
        def surface(x):
            return lay.surface(x)[:, :n]

    def f(m, r):
        g = maps_to_gaussians(Sub, m[None], v, r, torch.zeros(1, 3, dtype=torch.float64))
        return g["means"], g["quats"], g["scales"], g["opacities"]

    assert torch.autograd.gradcheck(f, (maps, rv))


def test_blend_weights_softmax_eq10_11():
    expr = torch.tensor([[0.0, 1.0, 2.0, 5.0]])
    w = blend_weights(expr, torch.tensor([3, 1]))
    torch.testing.assert_close(w, torch.softmax(torch.tensor([[5.0, 1.0]]), -1))
    base = torch.zeros(4, 13)
    bm = torch.stack([torch.ones(4, 13), -torch.ones(4, 13)])
    out = compose_maps(base, bm, w)
    torch.testing.assert_close(out[0], torch.full((4, 13), float(w[0, 0] - w[0, 1])))
    assert compose_maps(base).shape == (1, 4, 13)


def test_animator_batched_and_blended(test_head):
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import template_avatar

    lay = build_layout(test_head, 24)
    a = template_avatar(test_head, lay)
    a.blendmaps = np.zeros((10, a.n_gaussians, 13), np.float32)
    a.blendmaps[0, :, 10] = 2.0                                                 # jawOpen map brightens
    anim = Animator(a, test_head, "cpu")
    p = anim.neutral(3)
    p.expression[1, test_head.expression_names.index("jawOpen")] = 3.0
    g = anim.gaussians(p, torch.zeros(3, 3), torch.zeros(3, 3))
    assert g["means"].shape == (3, a.n_gaussians, 3)
    assert float(g["colors"][1, :, 0].mean()) > float(g["colors"][0, :, 0].mean())
    torch.testing.assert_close(g["colors"][0], g["colors"][2])
