"""What the browser viewer draws: activated Gaussians -> the arrays viser's splat renderer takes, and the
head pose a GUI state asks for (pure functions; the viser server is in :mod:`dejavu_cli.view.server`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from dejavu_cli.head.pose import quat_mul, quat_to_rotvec, rotvec_to_quat
from dejavu_cli.render.project import quat_to_rotmat


def splat_arrays(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor, opacities: torch.Tensor,
                 colors: torch.Tensor) -> dict[str, np.ndarray]:
    """One frame's activated Gaussians (means [N, 3], quats [N, 4] wxyz, scales [N, 3] standard deviations,
    opacities [N], colors [N, 3] in [0, 1]) -> float32 ``centers`` [N, 3], ``covariances`` [N, 3, 3]
    (``R diag(s^2) R^T``), ``rgbs`` [N, 3] and ``opacities`` [N, 1] for ``viser``'s ``add_gaussian_splats``."""
    M = quat_to_rotmat(quats) * scales[..., None, :]                      # [N, 3, 3] = R S
    cov = M @ M.transpose(-1, -2)
    as_np = lambda t: t.detach().to(torch.float32).contiguous().numpy()  # noqa: E731
    return {"centers": as_np(means), "covariances": as_np(cov), "rgbs": as_np(colors.clamp(0, 1)),
            "opacities": as_np(opacities.reshape(-1, 1))}


def pose_rotvec(yaw: float, pitch: float, roll: float, extra: torch.Tensor | None = None) -> torch.Tensor:
    """Axis-angle [1, 3] of the head pose the GUI asks for, in degrees with the convention of
    :func:`head.pose.yaw_pitch_roll` (what ``dejavu info TRACK`` reports): ``R = Ry(yaw) Rx(-pitch) Rz(-roll)``;
    yaw positive when the head turns to its own left, pitch when it looks up, roll when its top leans to its
    left. ``extra`` [1, 3] (a driver's rotation) is applied after: ``R = R_extra R_gui``."""
    q = lambda axis, deg: rotvec_to_quat(torch.tensor([axis]) * math.radians(deg))  # noqa: E731
    quat = quat_mul(q([0.0, 1.0, 0.0], yaw), quat_mul(q([1.0, 0.0, 0.0], -pitch), q([0.0, 0.0, 1.0], -roll)))
    if extra is not None:
        quat = quat_mul(rotvec_to_quat(extra.reshape(1, 3).float()), quat)
    return quat_to_rotvec(quat)
