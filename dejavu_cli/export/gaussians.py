"""Static Gaussians of an avatar for export: one expression, head pose identity, model space."""

from __future__ import annotations

import numpy as np
import torch

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.head.registry import load_head


def export_gaussians(avatar, expression: str | None = None, device="cpu") -> dict[str, np.ndarray]:
    """Pre-activation Gaussians (numpy, float32) of ``avatar`` at the neutral expression, or with the
    expression ``expression`` set to 1: means [N, 3], log_scales [N, 3], quats [N, 4] (w, x, y, z, as
    stored), opacity_logits [N], sh_dc [N, 3]."""

    animator = Animator(avatar, load_head(avatar.head, device=device), device)
    params = animator.neutral(1)
    if expression and expression != "neutral":
        params.expression[0, animator.expression_index(expression)] = 1.0
    with torch.no_grad():
        raw = animator.raw(params)
    return {k: v[0].float().cpu().numpy() for k, v in raw.items()}


#: Orientations an export can be written in: ``y-up`` (ours: y up, the face towards +z; Spark, gsplat.js, the
#: mkkellogg viewer and three.js show it upright) and ``inria`` (turned 180 degrees about z, so the tools that
#: assume the INRIA/COLMAP y-down capture convention and turn every splat back, e.g. SuperSplat, show it
#: upright).
CONVENTIONS = ("y-up", "inria")


def to_convention(g: dict[str, np.ndarray], convention: str = "y-up") -> dict[str, np.ndarray]:
    """Export Gaussians (:func:`export_gaussians`) in ``convention``: ``inria`` maps (x, y, z) -> (-x, -y, z) and
    left-multiplies each (w, x, y, z) quaternion by the half turn about z, (0, 0, 0, 1); ``y-up`` is a no-op.
    Scales, opacities and colours do not change (SH degree 0 has no direction)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
    if convention == "y-up":
        return g
    out = dict(g)
    out["means"] = g["means"] * np.array([-1.0, -1.0, 1.0], np.float32)
    w, x, y, z = np.moveaxis(g["quats"], -1, 0)
    out["quats"] = np.stack([-z, -y, x, w], -1).astype(g["quats"].dtype)   # (0, 0, 0, 1) * (w, x, y, z)
    return out


def as_export_dict(source, expression: str | None = None) -> dict[str, np.ndarray]:
    """Accept an Avatar or an already computed export dict."""
    if isinstance(source, dict):
        return {k: np.asarray(v) for k, v in source.items()}
    return export_gaussians(source, expression)
