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
#: Regions culled where they face away from the camera in training renders: the closed outer surface and the
#: (convex) eyeballs; not the mouth interior and teeth, whose far side is what an open mouth shows.
CULL_REGIONS = ("face", "scalp", "ears", "eyeballs")
#: Regions whose Gaussians are held thin along the surface normal (skin; hair needs its volume).
FLAT_REGIONS = ("face", "ears")


def region_mask(layout, names) -> torch.Tensor:
    """[N] bool: the texels of ``layout`` in any of the regions ``names``."""
    mask = torch.zeros_like(layout.region, dtype=torch.bool)
    for name in names:
        mask |= layout.region == REGION_NAMES.index(name)
    return mask


def rarely_seen(problem: Problem, info: dict) -> torch.Tensor:
    """[N] bool: texels seen in fewer than a quarter of the training frames (:func:`priors.low_visibility`)."""
    return priors.low_visibility(info["texel_seen"].to(problem.device)) > 0


def weigh_by_visibility(problem: Problem, seen: torch.Tensor, cfg: CreateConfig) -> None:
    """Regularizer weights from the texels' visibility ``seen`` [N] (share of training frames): position and
    scale weights grow by ``cfg.visibility_gain`` where the video never looked (fit/priors.py), the
    opacity floor applies to the face, scalp and ears in proportion to how rarely they were seen, and the
    normal-thickness regularizer to the face and ears."""
    factor = priors.visibility_factor(seen, cfg.visibility_gain)
    problem.pos_weights = problem.pos_weights * factor
    problem.scale_weights = factor
    problem.opacity_weights = region_mask(problem.layout, OPAQUE_REGIONS).float() * priors.low_visibility(seen)
    problem.flat_weights = region_mask(problem.layout, FLAT_REGIONS).float()


def hair_volume_offsets(layout, verts: torch.Tensor, faces: torch.Tensor, depth: float) -> torch.Tensor:
    """[N, 3] model-space position offsets that move the scalp texels ``depth`` metres out along the surface
    normals of the neutral mesh ``verts`` [V, 3] (zero elsewhere): the hair's volume as mean offsets."""
    normals = layout.normals(verts[None], faces)[0]
    return normals * (depth * region_mask(layout, ["scalp"]).to(normals.dtype))[:, None]


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
    maps, n = priors.cap_scales(problem.u_base, _maps(state, unit), rarely_seen(problem, info),
                                cfg.scale_cap * cfg.max_scale)
    _store(state, maps, unit)
    return n


def close_scalp(problem: Problem, state, info: dict) -> int:
    """:func:`priors.close_scalp_holes` on the trained ``state`` in place (texels seen in fewer than a quarter
    of the training frames); returns how many texels it changed."""
    unit = channel_scale(problem.device)
    maps, n = priors.close_scalp_holes(problem.u_base, _maps(state, unit), region_mask(problem.layout, ["scalp"]),
                                       rarely_seen(problem, info))
    _store(state, maps, unit)
    return n


def fill_unseen_texels(problem: Problem, state, info: dict) -> dict:
    """The prior's fill of never-seen texels (:func:`priors.fill_unseen`) applied to the trained ``state``
    in place (stage-1 delta and blendmaps, optimized units); returns the counts."""
    unit = channel_scale(problem.device)
    deltas = _maps(state, unit)
    filled, counts = priors.fill_unseen(problem.u_base, deltas, info["in_view"], info["mirror"],
                                        problem.layout.region, region_mask(problem.layout, ["scalp"]),
                                        source=~rarely_seen(problem, info),        # seen in >= 25 % of frames
                                        rest_offset=info.get("hair_offsets"))
    _store(state, filled, unit)
    return counts
