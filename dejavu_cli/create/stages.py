"""The two optimization stages (paper section 3.4) as pure functions.

Stage 1 learns one global rectification ``delta_global [N, 13]`` (eq. 9). Stage 2 learns ``D`` blendmaps
``[D, N, 13]`` initialised from ``delta_global`` and mixes them per frame with softmax weights over the head
model's ``blend_drivers`` expression coefficients (eq. 10-11).
"""

from __future__ import annotations

import torch

from dejavu_cli.avatar import gaussians

#: Position offsets are optimized in centimetres (the official code's ``loc_discount`` 0.01): with Adam at
#: lr 0.05 a metre-valued parameter would jump 5 cm per step. Maps stay in metres (docs/conventions.md).
POSITION_UNIT = 0.01


def channel_scale(device=None, dtype=torch.float32) -> torch.Tensor:
    """[13] factors from optimized units to map units (0.01 on the 3 position channels, 1 elsewhere)."""
    s = torch.ones(13, device=device, dtype=dtype)
    s[0:3] = POSITION_UNIT
    return s


def learning_rate(step: int, base: float, decay: float = 0.9, every: int = 100) -> float:
    """Step schedule of the paper: ``base * decay ** (step // every)`` (step counted over both stages)."""
    return base * decay ** (step // max(1, every))


def blend_weights(expression: torch.Tensor, drivers: list[int] | torch.Tensor) -> torch.Tensor:
    """Eq. 10: ``softmax(expression[:, drivers])`` (``avatar.gaussians.blend_weights`` for a driver list).
    expression [B, n_exp] -> weights [B, D], rows sum to 1."""
    return gaussians.blend_weights(expression, _driver_index(drivers, expression.device))


def blend_delta(weights: torch.Tensor, blendmaps: torch.Tensor) -> torch.Tensor:
    """Eq. 11's sum: ``sum_d w[b, d] * blendmaps[d]``.  weights [B, D], blendmaps [D, N, C] -> [B, N, C]."""
    return gaussians.blend_mix(weights, blendmaps)


def _driver_index(drivers, device) -> torch.Tensor:
    return torch.as_tensor(drivers, dtype=torch.long, device=device)


def init_blendmaps(delta_global: torch.Tensor, n_blend: int) -> torch.Tensor:
    """Stage-2 start: every blendmap is a copy of the stage-1 delta.  [N, C] -> [D, N, C]."""
    return delta_global.detach()[None].repeat(n_blend, 1, 1).clone()


def inherit_moments(exp_avg, exp_avg_sq, n_blend: int):
    """Stage-2 Adam moments [D, N, C] from stage 1's [N, C] (numpy or torch).

    A blendmap's gradient is ``w_d * g`` with ``w_d`` about ``1 / D``, so ``m / D`` and ``v / D^2`` make
    stage 2's first steps continue stage 1's normalized step instead of a fresh Adam's full-``lr`` jolt
    on every texel (not in the paper or the official code; docs/create.md).
    """
    if isinstance(exp_avg, torch.Tensor):
        return (exp_avg / n_blend)[None].repeat(n_blend, 1, 1), (exp_avg_sq / n_blend ** 2)[None].repeat(n_blend, 1, 1)
    return (exp_avg / n_blend)[None].repeat(n_blend, 0), (exp_avg_sq / n_blend ** 2)[None].repeat(n_blend, 0)


def frame_delta(stage: int, delta_global: torch.Tensor | None, blendmaps: torch.Tensor | None,
                expression: torch.Tensor, drivers, blend_range: torch.Tensor | None = None) -> torch.Tensor:
    """The delta each frame of a batch adds to ``U_init + mean_offsets``, in optimized units (positions in
    cm; multiply by :func:`channel_scale` for map units).

    stage 1: ``delta_global [N, C]`` broadcast to ``[B, N, C]``; stage 2: blended ``[B, N, C]``, falling
    back to ``delta_global`` beyond ``blend_range`` [2, D] (``avatar.gaussians.blend_keep``; None: the
    paper's plain blend). expression [B, n_exp].
    """
    B = expression.shape[0]
    if stage == 1:
        return delta_global[None].expand(B, -1, -1)
    idx = _driver_index(drivers, expression.device)
    keep = None if blend_range is None else gaussians.blend_keep(expression, idx, blend_range)
    rect = None if delta_global is None else delta_global.detach()
    return gaussians.blend_mix(gaussians.blend_weights(expression, idx), blendmaps, keep, rect)
