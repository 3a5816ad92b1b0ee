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


def as_export_dict(source, expression: str | None = None) -> dict[str, np.ndarray]:
    """Accept an Avatar or an already computed export dict."""
    if isinstance(source, dict):
        return {k: np.asarray(v) for k, v in source.items()}
    return export_gaussians(source, expression)
