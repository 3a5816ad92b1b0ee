"""The prior's hooks into a ``create`` run (fit/priors.py holds the math): visibility-driven regularizer
weights, the training range of the blend drivers, and the fill of never-seen texels after training."""

from __future__ import annotations

import torch

from dejavu_cli.create.config import CreateConfig
from dejavu_cli.create.problem import Problem
from dejavu_cli.create.stages import channel_scale
from dejavu_cli.fit import priors
from dejavu_cli.head.base import REGION_NAMES

#: Regions held opaque where the video did not look (not the eyeballs, mouth interior and teeth, which the
#: lids and lips hide).
OPAQUE_REGIONS = ("face", "scalp", "ears")
#: Regions whose Gaussians are held thin along the surface normal (skin; hair needs its volume).
FLAT_REGIONS = ("face", "ears")


def weigh_by_visibility(problem: Problem, seen: torch.Tensor, cfg: CreateConfig) -> None:
    """Regularizer weights from the texels' visibility ``seen`` [N] (share of training frames): position and
    scale weights grow by ``cfg.visibility_gain`` where the video never looked (fit/priors.py), the
    opacity floor applies to the face, scalp and ears in proportion to how rarely they were seen, and the
    normal-thickness regularizer to the face and ears."""
    factor = priors.visibility_factor(seen, cfg.visibility_gain)
    problem.pos_weights = problem.pos_weights * factor
    problem.scale_weights = factor
    region = problem.layout.region
    skin = torch.zeros_like(seen, dtype=torch.bool)
    for name in OPAQUE_REGIONS:
        skin |= region == REGION_NAMES.index(name)
    problem.opacity_weights = skin.float() * priors.low_visibility(seen)
    flat = torch.zeros_like(skin)
    for name in FLAT_REGIONS:
        flat |= region == REGION_NAMES.index(name)
    problem.flat_weights = flat.float()


#: Percentiles of the training frames' driver coefficients that bound the blendmaps' range.
RANGE_PERCENTILES = (0.02, 0.98)


def driver_range(coefficients: torch.Tensor) -> torch.Tensor:
    """[2, D] low/high (:data:`RANGE_PERCENTILES`) of the training frames' driver coefficients [T, D]."""
    q = torch.tensor(RANGE_PERCENTILES, dtype=coefficients.dtype, device=coefficients.device)
    return torch.quantile(coefficients, q, dim=0)


def _maps(state, unit: torch.Tensor) -> torch.Tensor:
    """[K, N, 13] the stage-1 delta and every blendmap of ``state``, in map units."""
    maps = [state.delta_global.detach()] + ([] if state.blendmaps is None else list(state.blendmaps.detach()))
    return torch.stack(maps) * unit


def _store(state, maps: torch.Tensor, unit: torch.Tensor) -> None:
    maps = maps / unit
    state.delta_global = maps[0].contiguous()
    if state.blendmaps is not None:
        state.blendmaps = maps[1:].contiguous()


def cap_rare_scales(problem: Problem, state, info: dict, cfg: CreateConfig) -> int:
    """Clamp the scale of the Gaussians fewer than a quarter of the training frames saw at
    ``cfg.scale_cap * cfg.max_scale`` (:func:`priors.cap_scales`) in the trained ``state``, in place; returns how
    many texels it changed. The shape regularizer is a soft pull; where the video barely looked (e.g. above
    the frame's edge) nothing opposes it, and a few Gaussians grew into blurred horns."""
    unit = channel_scale(problem.device)
    rare = priors.low_visibility(info["texel_seen"].to(problem.device)) > 0
    maps, n = priors.cap_scales(problem.u_base, _maps(state, unit), rare, cfg.scale_cap * cfg.max_scale)
    _store(state, maps, unit)
    return n


def close_scalp(problem: Problem, state, info: dict) -> int:
    """:func:`priors.close_scalp_holes` on the trained ``state`` in place (texels seen in fewer than a quarter
    of the training frames); returns how many texels it changed."""
    unit = channel_scale(problem.device)
    scalp = problem.layout.region == REGION_NAMES.index("scalp")
    rare = priors.low_visibility(info["texel_seen"].to(problem.device)) > 0
    maps, n = priors.close_scalp_holes(problem.u_base, _maps(state, unit), scalp, rare)
    _store(state, maps, unit)
    return n


def fill_unseen_texels(problem: Problem, state, info: dict) -> dict:
    """The prior's fill of never-seen texels (:func:`priors.fill_unseen`) applied to the trained ``state``
    in place (stage-1 delta and blendmaps, optimized units); returns the counts."""
    unit = channel_scale(problem.device)
    deltas = _maps(state, unit)
    scalp = problem.layout.region == REGION_NAMES.index("scalp")
    squarely = priors.low_visibility(info["texel_seen"].to(problem.device)) <= 0   # seen in >= 25 % of frames
    filled, counts = priors.fill_unseen(problem.u_base, deltas, info["in_view"], info["mirror"],
                                        problem.layout.region, scalp, source=squarely)
    _store(state, filled, unit)
    return counts
