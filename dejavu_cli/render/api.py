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
Constants matched by both backends (gsplat 1.5.3 defaults): 2D low-pass ``eps2d`` = 0.3 px added to the
projected covariance, screen-space extent ``min(3.33, sqrt(2 ln(255 opacity)))`` sigma (at most ~3.33 sigma:
exactly the region where alpha can reach 1/255), alpha = min(0.999, opacity * exp(-q/2)) and skipped below
1/255, compositing stops (exclusively) when transmittance would fall to 1e-4 or below, Gaussians outside
``near <= z <= far`` are culled (near plane 0.01 m). Algorithm and figures: docs/rendering.md.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch

from dejavu_cli.render.gsplat_backend import gsplat_status, rasterize_gsplat
from dejavu_cli.render.torch_raster import rasterize

from ..errors import DejavuError


class RenderInputError(DejavuError, ValueError):
    """Tensors passed to :func:`render` have the wrong shape, dtype or device."""


class GsplatFallbackWarning(UserWarning):
    """CUDA tensors are rendered with the PyTorch rasterizer because gsplat's kernels are unavailable."""


_warned_fallback = False


def _accelerated(device: torch.device) -> bool:
    """True for devices where gsplat would be used (CUDA); a seam for tests."""
    return device.type == "cuda"


BACKENDS = ("auto", "kernel", "torch", "gsplat")


def choose_backend(device: torch.device, backend: str = "auto") -> str:
    """``"gsplat"``, ``"kernel"`` or ``"torch"`` for tensors on ``device``. ``"auto"`` picks the compiled CPU
    kernel for CPU tensors, gsplat on CUDA when its kernels load, else the PyTorch rasterizer on the same
    device, with one warning per process saying why. ``"auto"`` first defers to ``DEJAVU_RENDERER`` (what
    ``dejavu --renderer NAME`` sets) when that is set."""
    global _warned_fallback
    if backend == "auto":
        backend = os.environ.get("DEJAVU_RENDERER", "auto").strip().lower() or "auto"
        if backend not in BACKENDS:
            raise RenderInputError(f"DEJAVU_RENDERER={backend!r} is not a renderer: use auto, kernel, torch or "
                                   "gsplat")
    if backend == "torch":
        return "torch"
    if backend not in BACKENDS:
        raise RenderInputError(f"unknown backend {backend!r}: use 'auto', 'kernel', 'torch' or 'gsplat'")
    if backend == "kernel":
        if device.type != "cpu":
            raise DejavuError(f"backend 'kernel' is the CPU rasterizer and needs CPU tensors (got {device}); "
                              "use backend='auto'")
        return "kernel"
    if not _accelerated(device):
        if backend == "gsplat":
            raise DejavuError(f"backend 'gsplat' needs CUDA tensors (got {device}); use backend='auto'")
        return "kernel" if device.type == "cpu" else "torch"
    ok, reason = gsplat_status()
    if ok:
        return "gsplat"
    if backend == "gsplat":
        raise DejavuError(f"backend 'gsplat' is unavailable: {reason}")
    if not _warned_fallback:
        _warned_fallback = True
        warnings.warn(f"rendering on {device} with the PyTorch rasterizer (slower) because {reason}",
                      GsplatFallbackWarning, stacklevel=3)
    return "torch"


def _rasterize_kernel():
    """The compiled CPU rasterizer, imported on first use: numba (and its LLVM) loads only for CPU renders, so
    GPU-only environments (the device kit carries no numba) and commands that never render stay light."""
    from dejavu_cli.render.kernel_raster import rasterize_kernel

    return rasterize_kernel


@dataclass
class RenderOutput:
    rgb: torch.Tensor    # [B, H, W, 3]
    alpha: torch.Tensor  # [B, H, W, 1]
    depth: torch.Tensor  # [B, H, W, 1]


def _check(means, quats, scales, opacities, colors, viewmats, Ks, width, height, background):
    if means.dim() != 3 or means.shape[-1] != 3:
        raise RenderInputError(f"means must be [B, N, 3], got {list(means.shape)}")
    B, N = means.shape[:2]
    want = {"quats": (quats, (B, N, 4)), "scales": (scales, (B, N, 3)), "opacities": (opacities, (B, N)),
            "colors": (colors, (B, N, 3)), "viewmats": (viewmats, (B, 4, 4)), "Ks": (Ks, (B, 3, 3))}
    for name, (t, shape) in want.items():
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            got = list(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise RenderInputError(f"{name} must be {list(shape)} to match means {list(means.shape)}, got {got}")
        if t.device != means.device:
            raise RenderInputError(f"{name} is on {t.device} but means is on {means.device}")
        if not t.is_floating_point():
            raise RenderInputError(f"{name} must be a floating-point tensor, got {t.dtype}")
    if not means.is_floating_point():
        raise RenderInputError(f"means must be a floating-point tensor, got {means.dtype}")
    if int(width) <= 0 or int(height) <= 0:
        raise RenderInputError(f"image size must be positive, got {width}x{height}")
    if background is not None and (background.dim() not in (1, 2) or background.shape[-1] != 3
                                   or (background.dim() == 2 and background.shape[0] != B)):
        raise RenderInputError(f"background must be [3] or [{B}, 3], got {list(background.shape)}")


def render(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
           background: torch.Tensor | None = None, backend: str = "auto", near: float = 0.01,
           far: float = 1e10, eps2d: float = 0.3) -> RenderOutput:
    """Render a batch of Gaussian sets; ``backend`` is ``"auto"`` (see :func:`choose_backend`),
    ``"kernel"`` (the compiled CPU rasterizer), ``"gsplat"`` or ``"torch"``. Each batch element has its own
    Gaussians and camera. Differentiable w.r.t. means, quats, scales, opacities and colors."""
    _check(means, quats, scales, opacities, colors, viewmats, Ks, width, height, background)
    width, height = int(width), int(height)
    B = means.shape[0]
    # everything in the Gaussians' dtype (cameras often arrive as float64 from numpy)
    quats, scales, opacities, colors, viewmats, Ks = (t.to(means.dtype) for t in
                                                      (quats, scales, opacities, colors, viewmats, Ks))
    if background is None:
        background = torch.ones(3, dtype=means.dtype, device=means.device)
    background = background.to(means).expand(B, 3)
    choice = choose_backend(means.device, backend)
    if choice == "gsplat":
        rgb, alpha, depth = rasterize_gsplat(means, quats, scales, opacities, colors, viewmats, Ks, width,
                                             height, background, near, far, eps2d)
        return RenderOutput(rgb, alpha, depth)
    raster = _rasterize_kernel() if choice == "kernel" else rasterize
    feat, alpha = raster(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                         near=near, far=far, eps2d=eps2d)
    rgb = feat[..., :3] + (1 - alpha) * background[:, None, None, :]
    return RenderOutput(rgb, alpha, feat[..., 3:4])
