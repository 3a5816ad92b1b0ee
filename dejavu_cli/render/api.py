"""The render contract shared by both backends.

All Gaussian attributes are *activated* (see docs/conventions.md#gaussians):
  means     [B, N, 3]  world positions, metres
  quats     [B, N, 4]  rotation quaternions (w, x, y, z), need not be normalized
  scales    [B, N, 3]  standard deviations along the local axes, metres (> 0)
  opacities [B, N]     in [0, 1]
  colors    [B, N, 3]  RGB in [0, 1] (SH degree 0 already evaluated: 0.5 + C0 * sh, clamped at 0)
  viewmats  [B, 4, 4]  world-to-camera, OpenCV axes
  Ks        [B, 3, 3]  pixel intrinsics
Returns :class:`RenderOutput` with ``rgb`` [B, H, W, 3] (composited over ``background``), ``alpha``
[B, H, W, 1] and ``depth`` [B, H, W, 1] (alpha-weighted camera z, not normalized by alpha).
Constants matched by both backends: 2D low-pass ``eps2d`` = 0.3 px added to the projected covariance,
3-sigma extent, alpha = min(0.999, opacity * exp(-q/2)) and skipped below 1/255, compositing stops
when transmittance would fall below 1e-4, near plane 0.01 m.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class RenderOutput:
    rgb: torch.Tensor    # [B, H, W, 3]
    alpha: torch.Tensor  # [B, H, W, 1]
    depth: torch.Tensor  # [B, H, W, 1]


def render(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
           background: torch.Tensor | None = None, backend: str = "auto", near: float = 0.01,
           far: float = 1e10, eps2d: float = 0.3) -> RenderOutput:
    """Render a batch of Gaussian sets; ``backend`` is ``"auto"`` (gsplat on CUDA, else torch),
    ``"gsplat"`` or ``"torch"``."""
    raise NotImplementedError("renderer not implemented yet")
