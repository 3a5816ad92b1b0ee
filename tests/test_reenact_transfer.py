import math

import numpy as np
import pytest
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.pose import axis_angle_to_matrix, quat_mul, quat_to_rotvec, rotvec_to_quat
from dejavu_cli.reenact.transfer import (
    Motion,
    absolute_transfer,
    fill_invalid,
    gaussian_smooth,
    mean_rotation,
    neutral_expression,
    relative_transfer,
    smooth_motion,
    smooth_rotvec,
)


def _R(v):
    return axis_angle_to_matrix(torch.as_tensor(v, dtype=torch.float64))


def _motion(T, E=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.rand(*s, generator=g, dtype=dtype)  # noqa: E731
    return Motion(r(T, E), (r(T, 3) - 0.5) * 0.2, (r(T, 6) - 0.5) * 0.2, (r(T, 3) - 0.5) * 0.6,
                  (r(T, 3) - 0.5) * 0.05)


def test_quaternion_roundtrip_and_product_match_rodrigues():
    v = torch.tensor([[0.0, 0, 0], [1e-6, -2e-6, 0], [0.3, -0.2, 0.1], [0, 3.0, 0], [-1.2, 0.4, 2.0]],
                     dtype=torch.float64)
    assert torch.allclose(quat_to_rotvec(rotvec_to_quat(v)), v, atol=1e-9)
    assert torch.allclose(quat_to_rotvec(-rotvec_to_quat(v)), v, atol=1e-9)  # q and -q are one rotation
    a, b = v[2:3], v[4:5]
    ab = quat_to_rotvec(quat_mul(rotvec_to_quat(a), rotvec_to_quat(b)))
    assert torch.allclose(_R(ab), _R(a) @ _R(b), atol=1e-9)


def test_quaternion_gradcheck():
    v = torch.tensor([[0.3, -0.2, 0.1], [1e-5, 2e-5, 0.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: quat_to_rotvec(rotvec_to_quat(x) * 1.7), (v,))
    assert torch.autograd.gradcheck(rotvec_to_quat, (v,))


def test_fill_invalid_holds_last_valid_frame():
    x = torch.arange(6.0)[:, None]
    valid = torch.tensor([False, True, False, False, True, False])
    assert fill_invalid(x, valid)[:, 0].tolist() == [1, 1, 1, 1, 4, 4]
    with pytest.raises(DejavuError, match="no face"):
        fill_invalid(x, torch.zeros(6, dtype=torch.bool))


def test_neutral_expression_quantile_and_closest_frame():
    # blendshape weights: coefficient 0 is always half on (the driver's resting mouth), 1 spikes
    e = torch.zeros(100, 2)
    e[:, 0] = 0.5
    e[::10, 1] = 1.0
    assert torch.allclose(neutral_expression(e), torch.tensor([0.5, 0.0]))
    # signed (PCA) coefficients: the frames closest to zero
    s = torch.randn(200, 3, generator=torch.Generator().manual_seed(1)) + torch.tensor([5.0, 0, 0])
    s[:20] = torch.tensor([0.1, -0.1, 0.0])
    assert torch.allclose(neutral_expression(s), torch.tensor([0.1, -0.1, 0.0]))
    valid = torch.zeros(100, dtype=torch.bool)
    with pytest.raises(DejavuError):
        neutral_expression(e, valid)


def test_absolute_transfer_copies_and_fills():
    d = _motion(5)
    valid = torch.tensor([True, True, False, True, True])
    out = absolute_transfer(d, valid)
    assert torch.equal(out.expression[[0, 1, 3, 4]], d.expression[[0, 1, 3, 4]])
    assert torch.equal(out.rotvec[2], d.rotvec[1])


def test_relative_transfer_against_matrix_reference():
    T = 7
    d = _motion(T, seed=2)
    valid = torch.ones(T, dtype=torch.bool)
    avatar = Motion(torch.full((1, 4), 0.2, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64),
                    torch.zeros(1, 6, dtype=torch.float64), torch.tensor([[0.05, 0.1, 0.0]], dtype=torch.float64),
                    torch.tensor([[0.0, 0.01, 0.0]], dtype=torch.float64))
    out = relative_transfer(d, valid, avatar)
    ref = mean_rotation(d.rotvec)
    for t in range(T):
        want = _R(d.rotvec[t]) @ _R(ref).T @ _R(avatar.rotvec[0])
        assert torch.allclose(_R(out.rotvec[t]), want, atol=1e-9)
    med = d.translation.median(0).values
    assert torch.allclose(out.translation, avatar.translation + d.translation - med)
    want_exp = (0.2 + d.expression - torch.quantile(d.expression, 0.05, dim=0)).clamp(0, 1)
    assert torch.allclose(out.expression, want_exp)
    assert len(out) == T and out.eyes.shape == (T, 6)


def test_relative_transfer_driver_at_rest_gives_avatar_neutral():
    T = 30
    rot = torch.tensor([0.1, -0.4, 0.05])  # the driver looks away from the camera the whole time
    exp = torch.zeros(T, 3)
    exp[:, 1] = 0.3                           # and rests with a coefficient on
    d = Motion(exp, torch.zeros(T, 3), torch.zeros(T, 6), rot.expand(T, 3).clone(),
               torch.tensor([0.02, 0.0, -0.1]).expand(T, 3).clone())
    av = Motion(torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 6), torch.zeros(1, 3), torch.zeros(1, 3))
    out = relative_transfer(d, torch.ones(T, dtype=torch.bool), av)
    assert out.expression.abs().max() < 1e-6
    assert out.rotvec.abs().max() < 1e-5 and out.translation.abs().max() < 1e-6


def test_gaussian_smooth_values():
    T = 40
    t = torch.arange(T, dtype=torch.float64)[:, None]
    ramp = torch.cat([t, 3 - 2 * t], 1)
    sm = gaussian_smooth(ramp, 2.0)
    assert torch.allclose(sm[8:-8], ramp[8:-8], atol=1e-9)  # zero phase: no lag on a ramp
    assert torch.allclose(gaussian_smooth(torch.full((T, 2), 3.0), 2.0), torch.full((T, 2), 3.0))
    # interior equals a direct convolution with the normalized kernel (numpy reference)
    x = torch.randn(T, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    k = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    ref = np.convolve(x[:, 0].numpy(), k / k.sum(), mode="same")
    assert np.allclose(gaussian_smooth(x, 2.0)[6:-6, 0].numpy(), ref[6:-6])
    assert gaussian_smooth(x, 2.0).std() < 0.7 * x.std()
    assert torch.equal(gaussian_smooth(x, 0.0), x)


def test_gaussian_smooth_gradcheck():
    x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: gaussian_smooth(v, 1.0), (x,))


def test_smooth_rotvec_handles_sign_flips_and_large_angles():
    # a yaw sweep through 180 degrees: axis-angle wraps (pi -> -pi) but the rotations are continuous
    yaw = torch.linspace(math.pi - 0.3, math.pi + 0.3, 21, dtype=torch.float64)
    rv = quat_to_rotvec(torch.stack([torch.cos(yaw / 2), 0 * yaw, torch.sin(yaw / 2), 0 * yaw], -1))
    sm = smooth_rotvec(rv, 1.5)
    for t in range(5, 16):
        assert torch.allclose(_R(sm[t]), _R(rv[t]), atol=1e-3)


def test_smooth_motion_reduces_jitter():
    T = 60
    d = _motion(T, seed=3, dtype=torch.float32)
    sm = smooth_motion(d, 2.0)
    for name in ("expression", "jaw", "rotvec"):
        a, b = getattr(d, name), getattr(sm, name)
        assert (b[1:] - b[:-1]).abs().mean() < 0.5 * (a[1:] - a[:-1]).abs().mean()
    assert smooth_motion(d, 0) is d


def test_frame_positions_and_interpolation():
    from dejavu_cli.reenact.transfer import frame_positions, interpolate_motion

    assert frame_positions(30, 30.0).tolist() == list(range(30))
    pos = frame_positions(300, 30.0, 15.0, start=8.0)  # last 2 s at half rate
    assert len(pos) == 30 and pos[0] == 240 and pos[1] == 242
    assert len(frame_positions(300, 30.0, duration=1.0)) == 30
    with pytest.raises(DejavuError, match="no driver frames"):
        frame_positions(30, 30.0, start=5.0)
    d = _motion(5)
    mid = interpolate_motion(d, torch.tensor([0.0, 1.5, 4.0], dtype=torch.float64))
    assert torch.allclose(mid.expression[1], (d.expression[1] + d.expression[2]) / 2)
    assert torch.allclose(mid.rotvec[[0, 2]], d.rotvec[[0, 4]], atol=1e-9)
    ang = lambda a, b: torch.linalg.matrix_norm(_R(a) - _R(b))  # noqa: E731
    assert abs(ang(mid.rotvec[1], d.rotvec[1]) - ang(mid.rotvec[1], d.rotvec[2])) < 1e-3
