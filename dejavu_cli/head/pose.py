"""Rigid transforms shared by all head models (pure functions)."""

from __future__ import annotations

import torch


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rodrigues: axis-angle ``[..., 3]`` (radians) -> rotation matrix ``[..., 3, 3]``; smooth at 0."""
    theta2 = (rotvec * rotvec).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-16)
    # sin(t)/t and (1-cos t)/t^2 with Taylor fallbacks near zero, so gradients are finite at the origin.
    small = theta2 < 1e-8
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / theta2.clamp_min(1e-16))
    x, y, z = rotvec.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*rotvec.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device).expand_as(K)
    return eye + a[..., None] * K + b[..., None] * (K @ K)


def apply_rigid(vertices: torch.Tensor, rotvec: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """World-space vertices ``R(rotvec) @ v + t``.  vertices [B, V, 3], rotvec [B, 3], translation [B, 3]."""
    R = axis_angle_to_matrix(rotvec)
    return vertices @ R.transpose(-1, -2) + translation[:, None, :]
