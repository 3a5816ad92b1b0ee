"""Pure LBS functions (head/lbs.py): shapes, values against hand-computed rotations, gradients."""

import math

import pytest
import torch

from dejavu_cli.head import lbs
from dejavu_cli.head.pose import axis_angle_to_matrix


def _chain(dtype=torch.float64):
    """3 vertices, 2 joints: vertex 0 on the root, vertex 1 on the child, vertex 2 half/half."""
    verts = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0], [1.0, 1, 0]]], dtype=dtype)
    J_reg = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=dtype)  # joint 1 at vertex 1 (1, 0, 0)
    weights = torch.tensor([[1.0, 0], [0, 1.0], [0.5, 0.5]], dtype=dtype)
    return verts, J_reg, weights, [-1, 0]


def test_blend_shapes_and_values():
    basis = torch.arange(12.0).reshape(2, 6)
    out = lbs.blend(torch.tensor([[1.0, 0], [0, 2.0]]), basis)
    assert out.shape == (2, 2, 3)
    assert torch.equal(out[1].reshape(-1), 2 * basis[1])
    with pytest.raises(ValueError):
        lbs.blend(torch.zeros(1, 3), basis)


def test_zero_pose_is_identity():
    verts, J_reg, weights, parents = _chain()
    out = lbs.lbs(verts, torch.zeros(1, 2, 3, dtype=verts.dtype), J_reg, parents, weights)
    assert torch.allclose(out, verts)


def test_child_rotation_about_its_joint():
    verts, J_reg, weights, parents = _chain()
    pose = torch.zeros(1, 2, 3, dtype=verts.dtype)
    pose[0, 1, 2] = math.pi / 2  # 90 degrees about z at joint (1, 0, 0)
    out = lbs.lbs(verts, pose, J_reg, parents, weights)
    assert torch.allclose(out[0, 0], verts[0, 0])            # root vertex untouched
    assert torch.allclose(out[0, 1], verts[0, 1])            # vertex at the joint stays
    # full-child point (1,1,0) would go to (0,0,0); half weight -> midpoint of (1,1,0) and (0,0,0)
    assert torch.allclose(out[0, 2], torch.tensor([0.5, 0.5, 0], dtype=verts.dtype), atol=1e-12)


def test_root_rotation_carries_children():
    verts, J_reg, weights, parents = _chain()
    pose = torch.zeros(1, 2, 3, dtype=verts.dtype)
    pose[0, 0, 1] = 0.3
    out = lbs.lbs(verts, pose, J_reg, parents, weights)
    R = axis_angle_to_matrix(pose[0, 0])
    assert torch.allclose(out[0], verts[0] @ R.T)


def test_posed_joints_and_correctives_shapes():
    B, J, V = 2, 3, 4
    rot = axis_angle_to_matrix(torch.randn(B, J, 3) * 0.1)
    joints = torch.randn(B, J, 3)
    posed, A = lbs.rigid_transforms(rot, joints, [-1, 0, 1])
    assert posed.shape == (B, J, 3) and A.shape == (B, J, 4, 4)
    assert torch.allclose(posed[:, 0], joints[:, 0])
    assert lbs.pose_correctives(rot, torch.zeros((J - 1) * 9, V * 3)).shape == (B, V, 3)
    assert lbs.pose_correctives(torch.eye(3).expand(B, J, 3, 3), torch.randn((J - 1) * 9, V * 3)).abs().max() == 0


def test_lbs_gradcheck():
    torch.manual_seed(0)
    verts, J_reg, weights, parents = _chain()
    posedirs = torch.randn(9, 9, dtype=torch.float64) * 0.01
    pose = (torch.randn(1, 2, 3, dtype=torch.float64) * 0.3).requires_grad_()
    shaped = verts.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda p, s: lbs.lbs(s, p, J_reg, parents, weights, posedirs), (pose, shaped))
