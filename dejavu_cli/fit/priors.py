"""The whole-head prior that ``dejavu create`` supplies itself (no pre-trained network), as pure functions.

The paper gets the parts of a head a video never showed from a network pre-trained on 360-degree heads. We
have no such network, so the prior comes from the head model and from what the video did show:

- :func:`mirror_texels`: the left-right correspondence of the UV map (heads are close to symmetric): each
  texel's partner is the texel of the same region nearest to its surface point mirrored through the head
  model's symmetry plane ``x = 0`` (docs/conventions.md: +x is the subject's left).
- :func:`fill_unseen`: after the optimization, texels no training frame saw take their mirror partner's
  maps (mirrored) when the partner was seen, else a region prior (the scalp and back of the head take the
  seen hair's colour, high opacity, positions on the head surface).
- :func:`shape_reg`: the anisotropy and maximum-scale regularizer (PhysGaussian's ratio term, avatar
  papers' scale cap): no needles.
- :func:`flat_reg`: skin Gaussians held thin along the surface normal (:func:`normal_extent`); the frontal
  views that train them cannot see their depth, so thick ones bulge out of the silhouette when the head turns.
- :func:`close_scalp_holes`: after training, rarely seen scalp texels that learned to be transparent (at the
  silhouette of frontal views) become opaque in the seen hair's colour: no holes in the turned head.
- :func:`opacity_floor_reg`: opacity held high where the video cannot vouch for transparency (the scalp, and
  every texel the video rarely saw), so nothing behind the scalp shows through.
- :func:`visibility_factor`: regularizer weights that grow where visibility is low.
- :func:`facing_keep`: the head is an opaque closed surface, so Gaussians on skin that faces away from the
  camera are hidden; training renders them transparent, and the near surface must explain the image alone.

Maps are texel lists ``[..., N, 13]`` (channels: uv/maps.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree

from dejavu_cli.render.project import quat_to_rotmat
from dejavu_cli.uv.maps import COLOR, OPACITY, POS, SCALE

#: Sign flips of the 13 map channels under the mirror x -> -x (model space): the position offset's x, and
#: the rotation (1, r) of a mirrored frame is (1, r_x, -r_y, -r_z); scales, opacity and colour stay.
MIRROR_SIGNS = torch.tensor([-1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1, 1, 1], dtype=torch.float32)
#: Opacity logit of guessed scalp texels, and the floor the regularizer holds (sigmoid(2.2) = 0.9).
OPAQUE_LOGIT = 2.2


def mirror_texels(surface: torch.Tensor, region: torch.Tensor, max_distance: float = 0.01) -> torch.Tensor:
    """Mirror partner of every texel [N] long (-1 where none lies within ``max_distance`` metres).

    surface [N, 3] texel surface points of the neutral head (model space, symmetric about x = 0); region [N]
    long. A texel on the plane is its own partner. Nearest neighbour per region (scipy's cKDTree)."""
    pts = surface.detach().cpu().double().numpy()
    reg = region.detach().cpu().numpy()
    out = np.full(len(pts), -1, np.int64)
    mirrored = pts * np.array([-1.0, 1.0, 1.0])
    for r in np.unique(reg):
        idx = np.flatnonzero(reg == r)
        dist, j = cKDTree(pts[idx]).query(mirrored[idx])
        ok = dist <= max_distance
        out[idx[ok]] = idx[j[ok]]
    return torch.from_numpy(out).to(region.device)


def mirror_maps(maps: torch.Tensor) -> torch.Tensor:
    """``maps`` [..., 13] seen in the mirror x -> -x (:data:`MIRROR_SIGNS`)."""
    return maps * MIRROR_SIGNS.to(maps.device, maps.dtype)


def fill_unseen(base: torch.Tensor, deltas: torch.Tensor, seen: torch.Tensor, mirror: torch.Tensor,
                region: torch.Tensor, opaque: torch.Tensor, source: torch.Tensor | None = None,
                rest_offset: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Maps for the texels no training frame saw; returns (deltas, counts).

    base [N, 13] (U_init + mean offsets); deltas [K, N, 13], each a full delta on ``base`` (the stage-1
    rectification and every blendmap: the blend weights sum to 1); seen [N] bool; mirror [N] long
    (:func:`mirror_texels`); region [N] long; opaque [N] bool (regions held opaque: the scalp).
    - an unseen texel t with a seen partner m: every map's row becomes the mirror image of m's,
      ``delta_t = mirror(base_m + delta_m) - base_t``, so the unfilmed cheek is the filmed one mirrored;
    - an unseen texel without one: a region prior: the median colour of the region's ``source`` texels
      (default: the seen ones; create passes those seen squarely in many frames, not the grazing ones at
      the silhouette) in the first map (the seen hair for the scalp; all such texels when the region has
      none), position on the head surface plus ``rest_offset`` [N, 3] (default zero; create's hair volume),
      opacity at least :data:`OPAQUE_LOGIT` where ``opaque``; every map takes the first map's row (no
      expression-dependent change where nothing was seen).
    counts: {"mirrored": n, "region_prior": n}."""
    out = deltas.clone()
    has = ~seen & (mirror >= 0) & seen[mirror.clamp_min(0)]             # unseen, with a seen partner
    t, m = torch.nonzero(has).flatten(), mirror[has]
    out[:, t] = mirror_maps(base[m] + deltas[:, m]) - base[t]
    rest = ~seen & ~has
    first = base + out[0]
    good = seen if source is None else source & seen
    for r in torch.unique(region[rest]):
        src = good & (region == r)
        if not bool(src.any()):
            src = good if bool(good.any()) else seen
        if not bool(src.any()):
            continue
        tgt = rest & (region == r)
        out[0, tgt, COLOR] = first[src][:, COLOR].median(0).values - base[tgt, COLOR]
    out[0, rest, POS] = (0.0 if rest_offset is None else rest_offset[rest]) - base[rest, POS]
    op = rest & opaque
    out[0, op, OPACITY] = torch.clamp(first[op, OPACITY], min=OPAQUE_LOGIT) - base[op, OPACITY]
    out[1:, rest] = out[0, rest]
    return out, {"mirrored": int(has.sum()), "region_prior": int(rest.sum())}


def close_scalp_holes(base: torch.Tensor, deltas: torch.Tensor, scalp: torch.Tensor, rare: torch.Tensor,
                      below: float = 0.5) -> tuple[torch.Tensor, int]:
    """Maps with the transparent, rarely seen scalp texels made opaque in the hair's colour; returns
    (deltas, how many texels changed).

    base [N, 13]; deltas [K, N, 13] (full deltas on ``base``); scalp, rare [N] bool. A texel changes when it
    is ``scalp & rare`` and its opacity, averaged over the maps, is below ``below``: every map's row gets
    opacity :data:`OPAQUE_LOGIT` and the median colour of the opaque (> 0.8) scalp texels. Frontal views
    see the side of the head at the silhouette, where the target is background, so those texels learn to
    be transparent, and the turned head shows holes there."""
    mean = base + deltas.mean(0)                                          # [N, 13]
    alpha = torch.sigmoid(mean[:, OPACITY][:, 0])
    hole = scalp & rare & (alpha < below)
    src = scalp & (alpha > 0.8)
    if not bool(hole.any()) or not bool(src.any()):
        return deltas, 0
    out = deltas.clone()
    out[:, hole, OPACITY] = OPAQUE_LOGIT - base[hole, OPACITY]
    out[:, hole, COLOR] = mean[src][:, COLOR].median(0).values - base[hole, COLOR]
    return out, int(hole.sum())


def cap_scales(base: torch.Tensor, deltas: torch.Tensor, mask: torch.Tensor, max_scale: float
               ) -> tuple[torch.Tensor, int]:
    """Hard cap on the scale of the ``mask`` texels in every map; returns (deltas, texels changed).

    base [N, 13]; deltas [K, N, 13] full deltas on ``base`` (as :func:`fill_unseen`); mask [N] bool; max_scale
    in metres. Each log-scale axis of ``base + delta`` is clamped at ``log(max_scale)`` (activated scale =
    exp), so no expression mix of the maps makes such a Gaussian longer than ``max_scale``."""
    full = base[None, :, SCALE] + deltas[..., SCALE]                          # [K, N, 3] log scales
    capped = torch.where(mask[None, :, None], full.clamp(max=math.log(max_scale)), full)
    out = deltas.clone()
    out[..., SCALE] = capped - base[None, :, SCALE]
    return out, int(((capped < full).any(-1).any(0)).sum())


def shape_reg(log_scales: torch.Tensor, max_scale: float, max_ratio: float) -> torch.Tensor:
    """Anisotropy and maximum-scale penalty: mean over Gaussians of
    ``relu(log s_max - log max_scale) + relu(log s_max - log s_mid - log max_ratio)``.

    log_scales [..., N, 3] (activated scale = exp); max_scale in metres; max_ratio > 1 -> scalar. Zero for
    every Gaussian inside both limits, so it leaves the photometric fit alone there."""
    s = torch.sort(log_scales, dim=-1).values
    cap = torch.relu(s[..., 2] - math.log(max_scale))
    ratio = torch.relu(s[..., 2] - s[..., 1] - math.log(max_ratio))
    return (cap + ratio).mean()


def normal_extent(log_scales: torch.Tensor, quats: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Standard deviation of each Gaussian along its surface normal, ``sqrt(n^T R S^2 R^T n)`` [..., N].

    log_scales [..., N, 3]; quats [..., N, 4] (w, x, y, z, any norm); normals [..., N, 3] unit, in the frame
    of the quaternions (model space)."""
    R = quat_to_rotmat(torch.nn.functional.normalize(quats, dim=-1))            # [..., N, 3, 3]
    along = (normals[..., None, :] @ R)[..., 0, :]                               # n . R e_i  [..., N, 3]
    return torch.sqrt(((torch.exp(log_scales) * along) ** 2).sum(-1) + 1e-20)


def flat_reg(log_scales: torch.Tensor, quats: torch.Tensor, normals: torch.Tensor, weights: torch.Tensor,
             thickness: float) -> torch.Tensor:
    """Mean over Gaussians of ``weights * relu(log normal_extent - log thickness)``: zero for every Gaussian
    thinner than ``thickness`` (metres) along its normal. Shapes as :func:`normal_extent`, weights [N]."""
    excess = torch.relu(torch.log(normal_extent(log_scales, quats, normals)) - math.log(thickness))
    return (excess * weights).mean()


def opacity_floor_reg(opacity_logits: torch.Tensor, weight: torch.Tensor, floor: float = OPAQUE_LOGIT
                      ) -> torch.Tensor:
    """``mean(weight * relu(floor - o))`` over texels (and frames).  opacity_logits [..., N], weight [N] >= 0."""
    return (torch.relu(floor - opacity_logits) * weight).mean()


def low_visibility(seen_share: torch.Tensor, full: float = 0.25) -> torch.Tensor:
    """How little the video saw each texel [N] in [0, 1]: ``1 - min(1, seen_share / full)`` (0 where at least
    ``full`` of the training frames saw it, 1 where none did).  seen_share [N]."""
    return 1.0 - torch.clamp(seen_share / full, max=1.0)


def visibility_factor(seen_share: torch.Tensor, gain: float, full: float = 0.25) -> torch.Tensor:
    """Regularizer factor [N] = ``1 + gain * low_visibility``: 1 where the video saw a texel well, ``1 + gain``
    where it never did."""
    return 1.0 + gain * low_visibility(seen_share, full)


def facing_keep(normals: torch.Tensor, points: torch.Tensor, centre: torch.Tensor, cos_at: float,
                width: float = 0.2) -> torch.Tensor:
    """Opacity factor [B, N] in [0, 1] of surface points [B, N, 3] with unit normals [B, N, 3] (world space)
    seen from the camera at ``centre`` [3]: 1 where the facing cosine exceeds ``cos_at + width / 2``, 0 below
    ``cos_at - width / 2``, linear between (no popping as a texel turns past the rim).

    A texel on a closed opaque head whose normal faces away from the camera lies behind the near surface. In
    a 3DGS render it still adds its colour wherever the near layer is not fully opaque, so frontal frames train
    the back of the head and the insides of the eyes into the face (seen: dark hair colour under the eyes,
    ``docs/create.md``). Not from the paper; its network's prior made the near layer opaque."""
    if not width > 0:
        raise ValueError(f"facing_keep: width must be positive (got {width})")
    to_cam = torch.nn.functional.normalize(centre - points, dim=-1)
    cos = (normals * to_cam).sum(-1)
    return ((cos - cos_at) / width + 0.5).clamp(0.0, 1.0)
