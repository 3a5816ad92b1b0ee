"""EWA projection of 3D Gaussians to the image plane (pure functions, plain autograd).

Follows gsplat 1.5.3 ``fully_fused_projection`` (pinhole, classic mode) term by term so that both
backends agree: covariance ``R S S^T R^T`` from a normalized (w, x, y, z) quaternion, camera-space
covariance ``W Sigma W^T``, the perspective Jacobian evaluated at the mean clamped to 1.3x the field of
view, ``eps2d`` added to the 2D covariance, and an opacity-aware extent
``min(3.33, sqrt(2 ln(255 opacity)))`` sigma for the screen-space radius (the tightest box that holds every
pixel where ``alpha >= 1/255``; with opacity <= 1 it is never above 3.33 sigma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

ALPHA_MIN = 1.0 / 255.0   # contributions below this alpha are skipped
ALPHA_MAX = 0.999         # alpha clamp
T_MIN = 1e-4              # compositing stops before transmittance would reach this
EXTENT_MAX = 3.33         # gsplat's extent cap in sigmas


@dataclass
class Projected:
    means2d: torch.Tensor  # [B, N, 2] pixel coordinates of the centres
    conics: torch.Tensor   # [B, N, 3] inverse 2D covariance (a, b, c) = [[a, b], [b, c]]
    depths: torch.Tensor   # [B, N] camera-space z
    radii: torch.Tensor    # [B, N, 2] int64 screen-space half extent in pixels (0 when culled)
    visible: torch.Tensor  # [B, N] bool: survives the near/far, opacity and off-screen culls


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """[..., 3, 3] rotation matrices of (w, x, y, z) quaternions [..., 4] (normalized here)."""
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    R = torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                     2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                     2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)
    return R.reshape(*quats.shape[:-1], 3, 3)


def project_gaussians(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor,
                      opacities: torch.Tensor, viewmats: torch.Tensor, Ks: torch.Tensor, width: int,
                      height: int, near: float = 0.01, far: float = 1e10,
                      eps2d: float = 0.3) -> Projected:
    """Project [B, N] Gaussians through their batch element's camera (viewmats [B, 4, 4], Ks [B, 3, 3]).

    Culled entries keep finite placeholder values (so gradients through them are exactly zero).
    """
    W = viewmats[:, :3, :3]                                                  # [B, 3, 3]
    cam = torch.einsum("bij,bnj->bni", W, means) + viewmats[:, None, :3, 3]  # [B, N, 3]
    x, y, z = cam.unbind(-1)
    in_depth = (z >= near) & (z <= far)
    z = torch.where(in_depth, z, torch.ones_like(z))                         # safe divisor
    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]                             # [B, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    # Jacobian at the mean clamped to 1.3x the field of view (gsplat persp_proj)
    lim_xp = (width - cx) / fx + 0.3 * (0.5 * width / fx)
    lim_xn = cx / fx + 0.3 * (0.5 * width / fx)
    lim_yp = (height - cy) / fy + 0.3 * (0.5 * height / fy)
    lim_yn = cy / fy + 0.3 * (0.5 * height / fy)
    rz = 1.0 / z
    tx = z * torch.minimum(lim_xp, torch.maximum(-lim_xn, x * rz))
    ty = z * torch.minimum(lim_yp, torch.maximum(-lim_yn, y * rz))
    # M = W R_q S: the camera-space covariance is M M^T; J M gives the 2D factor [B, N, 2, 3]
    M = W[:, None] @ (quat_to_rotmat(quats) * scales[..., None, :])          # [B, N, 3, 3]
    row0 = (fx * rz)[..., None] * M[..., 0, :] - (fx * tx * rz * rz)[..., None] * M[..., 2, :]
    row1 = (fy * rz)[..., None] * M[..., 1, :] - (fy * ty * rz * rz)[..., None] * M[..., 2, :]
    a = (row0 * row0).sum(-1) + eps2d
    b = (row0 * row1).sum(-1)
    c = (row1 * row1).sum(-1) + eps2d
    det = a * c - b * b
    ok = in_depth & (det > 0) & (opacities >= ALPHA_MIN)
    det = torch.where(ok, det, torch.ones_like(det))
    conics = torch.stack([c / det, -b / det, a / det], -1)
    means2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy], -1)

    with torch.no_grad():
        o = opacities.clamp_min(ALPHA_MIN)
        extend = torch.sqrt(2.0 * torch.log(o / ALPHA_MIN)).clamp_max(EXTENT_MAX)
        rx = torch.ceil(extend * torch.sqrt(torch.where(ok, a, torch.ones_like(a))))
        ry = torch.ceil(extend * torch.sqrt(torch.where(ok, c, torch.ones_like(c))))
        ok = ok & ((rx > 0) | (ry > 0))
        mx, my = means2d[..., 0], means2d[..., 1]
        ok = ok & (mx + rx > 0) & (mx - rx < width) & (my + ry > 0) & (my - ry < height)
        radii = torch.stack([rx, ry], -1).to(torch.int64) * ok[..., None]
    return Projected(means2d, conics, z, radii, ok)


def tile_grid(width: int, height: int, tile: int = 16) -> tuple[int, int]:
    """(tiles across, tiles down) covering a ``width`` x ``height`` image."""
    return math.ceil(width / tile), math.ceil(height / tile)
