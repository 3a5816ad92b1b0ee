"""Pinhole cameras (pure functions). Conventions: docs/conventions.md#camera.

World-to-camera ``viewmat`` [4, 4] in OpenCV axes (x right, y down, z forward); intrinsics ``K`` [3, 3] in
pixels with the pixel (row i, col j) centred at (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import math

import torch

#: Field of view of the tracking/default camera (degrees), as the official tracker and renderer.
DEFAULT_FOV_DEG = 20.0
#: Distance from the camera to the head-model origin for the default camera (metres).
DEFAULT_DISTANCE = 1.0


def focal_from_fov(fov_deg: float, size: int) -> float:
    """Focal length in pixels for a square image of ``size`` pixels and full field of view ``fov_deg``."""
    return 0.5 * size / math.tan(math.radians(fov_deg) / 2)


def intrinsics(focal: float | torch.Tensor, width: int, height: int, device=None,
               dtype=torch.float32) -> torch.Tensor:
    """K [3, 3] with square pixels and the principal point at the image centre."""
    f = torch.as_tensor(focal, dtype=dtype, device=device)
    K = torch.zeros(3, 3, dtype=dtype, device=device)
    K[0, 0] = f
    K[1, 1] = f
    K[0, 2] = width / 2
    K[1, 2] = height / 2
    K[2, 2] = 1
    return K


def default_viewmat(distance: float = DEFAULT_DISTANCE, device=None, dtype=torch.float32) -> torch.Tensor:
    """World-to-camera [4, 4] of a camera on the +z axis at ``distance`` looking at the origin.

    The head model is y-up with +z out of the face (docs/conventions.md), so the camera flips y and z.
    """
    V = torch.eye(4, dtype=dtype, device=device)
    V[1, 1] = -1
    V[2, 2] = -1
    V[2, 3] = distance
    return V


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor | None = None) -> torch.Tensor:
    """World-to-camera [..., 4, 4] (OpenCV axes) of cameras at ``eye`` [..., 3] looking at ``target``."""
    if up is None:
        up = torch.tensor([0.0, 1.0, 0.0], dtype=eye.dtype, device=eye.device).expand_as(eye)
    fwd = torch.nn.functional.normalize(target - eye, dim=-1)            # camera +z
    right = torch.nn.functional.normalize(torch.cross(fwd, up, dim=-1), dim=-1)  # camera +x
    down = torch.cross(fwd, right, dim=-1)                                # camera +y
    R = torch.stack([right, down, fwd], dim=-2)                           # rows = camera axes in world
    t = -(R @ eye[..., None])[..., 0]
    V = torch.zeros(*eye.shape[:-1], 4, 4, dtype=eye.dtype, device=eye.device)
    V[..., :3, :3] = R
    V[..., :3, 3] = t
    V[..., 3, 3] = 1
    return V


def orbit_viewmats(n: int, distance: float = DEFAULT_DISTANCE, max_yaw_deg: float = 360.0,
                   elevation_deg: float = 0.0, target=(0.0, 0.0, 0.0), device=None) -> torch.Tensor:
    """[n, 4, 4] cameras circling the y axis (a full turntable when ``max_yaw_deg`` is 360)."""
    if max_yaw_deg >= 360:
        yaw_deg = torch.arange(n, dtype=torch.float32, device=device) * (360.0 / n)
    else:
        yaw_deg = torch.linspace(-1, 1, n, device=device) * float(max_yaw_deg)
    return yaw_viewmats(yaw_deg, distance, elevation_deg, target, device)


def yaw_viewmats(yaws_deg, distance: float = DEFAULT_DISTANCE, elevation_deg: float = 0.0,
                 target=(0.0, 0.0, 0.0), device=None) -> torch.Tensor:
    """[n, 4, 4] cameras at the given angles [n] (degrees) around the y axis, looking at ``target``
    (0: in front of the face on +z; 90: on +x, the subject's left)."""
    yaw = torch.deg2rad(torch.as_tensor(yaws_deg, dtype=torch.float32, device=device))
    el = math.radians(elevation_deg)
    tgt = torch.tensor(target, dtype=torch.float32, device=device)
    eye = torch.stack([distance * torch.sin(yaw) * math.cos(el), torch.full_like(yaw, distance * math.sin(el)),
                       distance * torch.cos(yaw) * math.cos(el)], -1) + tgt
    return look_at(eye, tgt.expand_as(eye))


def project(points: torch.Tensor, viewmat: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates [..., N, 2] of world points [..., N, 3] (viewmat [..., 4, 4], K [..., 3, 3])."""
    cam = points @ viewmat[..., :3, :3].transpose(-1, -2) + viewmat[..., None, :3, 3]
    uvw = cam @ K.transpose(-1, -2)
    return uvw[..., :2] / uvw[..., 2:3].clamp_min(1e-8)
