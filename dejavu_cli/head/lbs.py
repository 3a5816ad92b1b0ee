"""Blendshapes and linear blend skinning as pure functions (FLAME/SMPL conventions).

Shapes: ``B`` batch, ``V`` vertices, ``J`` joints, ``K`` blendshape coefficients. Every function is
differentiable and works on any device/dtype its inputs have. Reference: Loper et al., "SMPL", 2015 and
Li et al., "FLAME", 2017 (eq. 1-4); the ``smplx`` package implements the same math.
"""

from __future__ import annotations

import torch

from dejavu_cli.head.pose import axis_angle_to_matrix


def blend(coeffs: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Linear blendshape offsets.  coeffs [B, K], basis [K, V*3] -> offsets [B, V, 3]."""
    B, K = coeffs.shape
    if basis.shape[0] != K:
        raise ValueError(f"{K} coefficients for a basis of {basis.shape[0]} shapes")
    return (coeffs @ basis).reshape(B, -1, 3)


def regress_joints(J_regressor: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
    """Joint locations.  J_regressor [J, V], vertices [B, V, 3] -> joints [B, J, 3]."""
    return torch.einsum("jv,bvc->bjc", J_regressor, vertices)


def pose_correctives(rot: torch.Tensor, posedirs: torch.Tensor) -> torch.Tensor:
    """Pose-dependent offsets from the non-root joint rotations.

    rot [B, J, 3, 3], posedirs [(J-1)*9, V*3] -> offsets [B, V, 3]  (FLAME eq. 4: ``(R - I)`` features).
    """
    B = rot.shape[0]
    eye = torch.eye(3, dtype=rot.dtype, device=rot.device)
    feature = (rot[:, 1:] - eye).reshape(B, -1)
    return (feature @ posedirs).reshape(B, -1, 3)


def rigid_transforms(rot: torch.Tensor, joints: torch.Tensor, parents: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward kinematics along the chain.

    rot [B, J, 3, 3] local rotations, joints [B, J, 3] rest joint locations, ``parents[j] < j`` (root -1).
    Returns posed joints [B, J, 3] and the skinning transforms [B, J, 4, 4] that map a rest-pose point
    to its posed location for joint j (``A_j = G_j @ translate(-rest_j)``).
    """
    B, J = joints.shape[:2]
    rel = joints.clone()
    rel[:, 1:] = joints[:, 1:] - joints[:, parents[1:]]
    local = _homogeneous(rot, rel)  # [B, J, 4, 4]
    chain = [local[:, 0]]
    for j in range(1, J):
        chain.append(chain[parents[j]] @ local[:, j])
    world = torch.stack(chain, dim=1)  # [B, J, 4, 4]
    posed_joints = world[:, :, :3, 3]
    # remove the rest joint location: A = G - [0 | G_R @ j_rest]
    offset = (world[:, :, :3, :3] @ joints[..., None])[..., 0]
    A = world.clone()
    A[:, :, :3, 3] = world[:, :, :3, 3] - offset
    return posed_joints, A


def skin(vertices: torch.Tensor, A: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning.  vertices [B, V, 3], A [B, J, 4, 4], weights [V, J] -> [B, V, 3]."""
    T = torch.einsum("vj,bjrc->bvrc", weights, A)  # [B, V, 4, 4]
    return (T[..., :3, :3] @ vertices[..., None])[..., 0] + T[..., :3, 3]


def lbs(shaped: torch.Tensor, pose: torch.Tensor, J_regressor: torch.Tensor, parents: list[int],
        weights: torch.Tensor, posedirs: torch.Tensor | None = None) -> torch.Tensor:
    """Pose a shaped mesh.  shaped [B, V, 3] (template + blendshapes), pose [B, J, 3] axis-angle per joint.

    Joints are regressed from ``shaped``; pose correctives (``posedirs`` [(J-1)*9, V*3]) are added before
    skinning. Returns posed vertices [B, V, 3].
    """
    rot = axis_angle_to_matrix(pose)  # [B, J, 3, 3]
    joints = regress_joints(J_regressor, shaped)
    if posedirs is not None:
        shaped = shaped + pose_correctives(rot, posedirs)
    _, A = rigid_transforms(rot, joints, parents)
    return skin(shaped, A, weights)


def _homogeneous(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """[..., 3, 3], [..., 3] -> [..., 4, 4]."""
    top = torch.cat([R, t[..., None]], dim=-1)
    bottom = torch.zeros(*R.shape[:-2], 1, 4, dtype=R.dtype, device=R.device)
    bottom[..., 0, 3] = 1
    return torch.cat([top, bottom], dim=-2)
