"""Capture guidance: head angles, pose range, the share of the head a video shows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dejavu_cli.head.pose import axis_angle_to_matrix, quat_to_rotvec, yaw_pitch_roll
from dejavu_cli.render.camera import default_viewmat
from dejavu_cli.track.seen import head_angles, needs_capture_hint, pose_range, seen_share


def _rv(axis: int, deg: float) -> torch.Tensor:
    v = torch.zeros(3, dtype=torch.float64)
    v[axis] = math.radians(deg)
    return v


def _matrix_to_rotvec(R: torch.Tensor) -> torch.Tensor:
    w = math.sqrt(max(0.0, 1 + R[0, 0] + R[1, 1] + R[2, 2])) / 2
    q = torch.tensor([w, (R[2, 1] - R[1, 2]) / (4 * w), (R[0, 2] - R[2, 0]) / (4 * w), (R[1, 0] - R[0, 1]) / (4 * w)],
                     dtype=torch.float64)
    return quat_to_rotvec(q)


@pytest.mark.parametrize("yaw,pitch,roll", [(25, 10, 5), (-40, -15, 12), (60, 30, -20), (0, 0, 0)])
def test_yaw_pitch_roll_inverts_the_documented_composition(yaw, pitch, roll):
    R = axis_angle_to_matrix(_rv(1, yaw)) @ axis_angle_to_matrix(_rv(0, -pitch)) @ axis_angle_to_matrix(_rv(2, -roll))
    got = yaw_pitch_roll(_matrix_to_rotvec(R))
    torch.testing.assert_close(got, torch.tensor([yaw, pitch, roll], dtype=torch.float64), atol=1e-6, rtol=0)


def test_angle_signs_follow_the_subject():
    # turning to their left swings the nose (+z) towards +x, the subject's left; looking up lifts it (+y)
    a = head_angles(torch.stack([_rv(1, 30), _rv(0, -20), _rv(2, -15)]).numpy())
    np.testing.assert_allclose(a, [[30, 0, 0], [0, 20, 0], [0, 0, 15]], atol=1e-6)
    assert yaw_pitch_roll(_rv(1, 30)[None].float()).shape == (1, 3)


def test_pose_range_counts_valid_rows_only():
    rv = torch.stack([_rv(1, -10), _rv(1, 20), _rv(1, 80)]).numpy()
    pr = pose_range(rv, np.array([True, True, False]))
    assert pr["yaw"] == [-10.0, 20.0] and pr["pitch"] == [0.0, 0.0]
    assert pose_range(rv, np.zeros(3, bool))["yaw"] is None
    assert needs_capture_hint(pr, None) and not needs_capture_hint({"yaw": [-40, 40]}, {"total": 0.8})


def test_seen_share_front_versus_turntable(test_head):
    V = default_viewmat().numpy()
    ident = np.zeros(test_head.n_identity, np.float32)
    t = np.zeros((1, 3), np.float32)
    front = seen_share(test_head, ident, np.zeros((1, 3), np.float32), t, V, np.ones(1, bool))
    yaws = np.stack([np.array([0.0, math.radians(d), 0.0]) for d in range(0, 360, 30)]).astype(np.float32)
    ring = seen_share(test_head, ident, yaws, np.zeros((12, 3), np.float32), V, np.ones(12, bool))
    assert 0.2 < front["total"] < 0.6 and front["face"] > 0.7
    assert ring["total"] > 0.8 and ring["scalp"] > front["scalp"] + 0.3
    none = seen_share(test_head, ident, yaws, np.zeros((12, 3), np.float32), V, np.zeros(12, bool))
    assert none["total"] == 0.0
