"""The CUDA backend: one batched ``gsplat.rasterization`` call with settings matching our contract.

``packed=False`` (faster for head-sized scenes), ``rasterize_mode="classic"``, ``sh_degree=None`` (colors
are RGB), ``render_mode="RGB+D"`` (accumulated, alpha-weighted depth, not divided by alpha), one camera
per batch element (``viewmats [B, 1, 4, 4]``), per-image backgrounds.
"""

from __future__ import annotations

import torch


def gsplat_available(device: torch.device | str) -> bool:
    """True when ``device`` is CUDA and gsplat imports with its CUDA extension."""
    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
        from gsplat.cuda._backend import _C
    except Exception:  # noqa: BLE001 - any import/compile failure means "not available"
        return False
    return _C is not None


def rasterize_gsplat(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
                     background: torch.Tensor, near: float, far: float, eps2d: float):
    """``(rgb [B, H, W, 3], alpha [B, H, W, 1], depth [B, H, W, 1])``; ``background`` is [B, 3]."""
    from gsplat import rasterization

    render, alpha, _ = rasterization(
        means, quats, scales, opacities, colors, viewmats[:, None], Ks[:, None], width, height,
        near_plane=near, far_plane=far, eps2d=eps2d, sh_degree=None, packed=False, tile_size=16,
        backgrounds=background[:, None], render_mode="RGB+D", rasterize_mode="classic")
    return render[:, 0, ..., :3], alpha[:, 0], render[:, 0, ..., 3:4]
