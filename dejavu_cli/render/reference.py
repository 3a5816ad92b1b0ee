"""Brute-force per-pixel renderer: the slow, obvious definition the tile rasterizer is tested against.

Every pixel looks at *all* Gaussians in front of the near plane, sorted by camera depth, and composites
them with the shared constants (docs/conventions.md#gaussians). Written with matrices (``J W Sigma W^T J^T``)
independently of :mod:`project`; only for tiny scenes (memory is ``B * H * W * N``).
"""

from __future__ import annotations

import torch

from .project import ALPHA_MAX, ALPHA_MIN, T_MIN


def _rotmat(q: torch.Tensor) -> torch.Tensor:
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def render_reference(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
                     background=None, near: float = 0.01, far: float = 1e10, eps2d: float = 0.3):
    """``(rgb [B, H, W, 3], alpha [B, H, W, 1], depth [B, H, W, 1])``, same contract as ``render``."""
    out = [], [], []
    for b in range(means.shape[0]):
        W, t, K = viewmats[b, :3, :3], viewmats[b, :3, 3], Ks[b]
        cam = means[b] @ W.T + t                                          # [N, 3]
        keep = ((cam[:, 2] >= near) & (cam[:, 2] <= far)).nonzero().squeeze(1)
        order = keep[torch.argsort(cam[keep, 2], stable=True)]
        cam = cam[order]
        x, y, z = cam.unbind(-1)
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        # Jacobian at the mean clamped to 1.3x the field of view, as gsplat
        xc = z * torch.clamp(x / z, -(cx / fx + 0.15 * width / fx), (width - cx) / fx + 0.15 * width / fx)
        yc = z * torch.clamp(y / z, -(cy / fy + 0.15 * height / fy), (height - cy) / fy + 0.15 * height / fy)
        zero = torch.zeros_like(z)
        J = torch.stack([torch.stack([fx / z, zero, -fx * xc / z ** 2], -1),
                         torch.stack([zero, fy / z, -fy * yc / z ** 2], -1)], -2)  # [M, 2, 3]
        M = _rotmat(quats[b, order]) * scales[b, order, None, :]
        cov3 = M @ M.transpose(-1, -2)
        cov2 = J @ W @ cov3 @ W.T @ J.transpose(-1, -2) + eps2d * torch.eye(2, dtype=z.dtype, device=z.device)
        prec = torch.linalg.inv(cov2)                                     # [M, 2, 2]
        mu = torch.stack([fx * x / z + cx, fy * y / z + cy], -1)          # [M, 2]
        jj, ii = torch.meshgrid(torch.arange(width, device=z.device), torch.arange(height, device=z.device),
                                indexing="xy")
        pix = torch.stack([jj, ii], -1).reshape(-1, 1, 2).to(z.dtype) + 0.5  # [HW, 1, 2]
        d = mu[None] - pix                                                # [HW, M, 2]
        sigma = 0.5 * torch.einsum("pmi,mij,pmj->pm", d, prec, d)
        alpha = (opacities[b, order] * torch.exp(-sigma)).clamp_max(ALPHA_MAX)
        valid = (sigma >= 0) & (alpha >= ALPHA_MIN)
        alpha = alpha * valid
        T = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha], 1), 1)[:, :-1]
        incl = valid & (T * (1 - alpha) > T_MIN)                         # exclusive stop at T <= 1e-4
        w = alpha * T * incl                                              # [HW, M]
        a = w.sum(1, keepdim=True)
        rgb = w @ colors[b, order]
        bg = torch.ones(3, dtype=z.dtype, device=z.device) if background is None else background
        bg = bg if bg.dim() == 1 else bg[b]
        out[0].append((rgb + (1 - a) * bg).reshape(height, width, 3))
        out[1].append(a.reshape(height, width, 1))
        out[2].append((w @ z[:, None]).reshape(height, width, 1))
    return tuple(torch.stack(o) for o in out)
