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


# Quaternions are (w, x, y, z) (docs/conventions.md#gaussians).

def rotvec_to_quat(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``[..., 3]`` -> unit quaternion ``[..., 4]`` (w, x, y, z); smooth at 0."""
    theta2 = (rotvec * rotvec).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-24)
    small = theta2 < 1e-8
    # sin(theta/2)/theta with its Taylor expansion near 0
    s = torch.where(small, 0.5 - theta2 / 48, torch.sin(theta / 2) / theta)
    w = torch.where(small, 1 - theta2 / 8, torch.cos(theta / 2))
    return torch.cat([w, s * rotvec], -1)


def quat_to_rotvec(quat: torch.Tensor) -> torch.Tensor:
    """Quaternion ``[..., 4]`` (w, x, y, z, any norm) -> axis-angle ``[..., 3]`` with angle in [0, pi]."""
    quat = quat / quat.norm(dim=-1, keepdim=True)
    quat = torch.where(quat[..., :1] < 0, -quat, quat)
    w, xyz = quat[..., :1], quat[..., 1:]
    n2 = (xyz * xyz).sum(-1, keepdim=True)
    n = torch.sqrt(n2 + 1e-24)
    small = n2 < 1e-8
    angle = 2 * torch.atan2(n, w)
    # angle / sin(angle/2) -> 2 / w (1 + n^2 / 6 ...) near 0
    k = torch.where(small, 2 / w * (1 + n2 / (6 * w * w)), angle / n)
    return k * xyz


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` of quaternions ``[..., 4]`` (rotation b first, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack([aw * bw - ax * bx - ay * by - az * bz,
                        aw * bx + ax * bw + ay * bz - az * by,
                        aw * by - ax * bz + ay * bw + az * bx,
                        aw * bz + ax * by - ay * bx + az * bw], -1)


def quat_conj(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., :1], -q[..., 1:]], -1)


def relative_rotvec(rotvec: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Axis-angle [T, 3] of ``R(rotvec) R(reference)^T``: head rotations [T, 3] relative to a rest pose [1, 3]
    (the viewer and the per-frame exports show a driven head turned from its rest, not from the camera)."""
    ref = quat_conj(rotvec_to_quat(reference.reshape(1, 3))).expand(rotvec.shape[0], 4)
    return quat_to_rotvec(quat_mul(rotvec_to_quat(rotvec), ref))


def yaw_pitch_roll(rotvec: torch.Tensor) -> torch.Tensor:
    """Head angles ``[..., 3]`` in degrees (yaw, pitch, roll) of head rotations ``rotvec`` [..., 3].

    Model axes: y up, +z out of the face, the subject's left is +x (docs/conventions.md). With the face
    direction ``f = R e_z`` and the up direction ``u = R e_y``: yaw = atan2(f_x, f_z), positive when the
    subject turns to their left; pitch = asin(f_y), positive when they look up; roll = the tilt of ``u``
    about ``f`` after yaw and pitch are undone, positive when the top of the head leans to their left.
    R = Ry(yaw) Rx(-pitch) Rz(-roll) (intrinsic y-x-z), so the three are independent for |pitch| < 90.
    """
    R = axis_angle_to_matrix(rotvec)
    f, u = R[..., :, 2], R[..., :, 1]
    yaw = torch.atan2(f[..., 0], f[..., 2])
    pitch = torch.asin(f[..., 1].clamp(-1.0, 1.0))
    # undo yaw about y, then pitch about x: the remaining rotation is about z (the roll)
    cy, sy = torch.cos(yaw), torch.sin(yaw)
    ux = cy * u[..., 0] - sy * u[..., 2]
    uz = sy * u[..., 0] + cy * u[..., 2]
    cp, sp = torch.cos(pitch), torch.sin(pitch)
    uy = cp * u[..., 1] - sp * uz
    roll = torch.atan2(ux, uy)
    return torch.rad2deg(torch.stack([yaw, pitch, roll], -1))
