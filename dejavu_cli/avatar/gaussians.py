"""UV Gaussian maps -> 3D Gaussians (pure functions; docs/architecture.md#maps, conventions#gaussians).

A frame's Gaussians: position ``R (surface + dpos) + t``, rotation ``q_R * normalize((1, r))``, scale
``exp(s)``, opacity ``sigmoid(o)``, colour ``max(0, 0.5 + C0 * sh)``. Everything is batched over frames.
"""

from __future__ import annotations

import torch

from dejavu_cli.head.pose import axis_angle_to_matrix, quat_mul, rotvec_to_quat
from dejavu_cli.uv.maps import COLOR, OPACITY, POS, ROT, SCALE

SH_C0 = 0.28209479177387814


def blend_weights(expression: torch.Tensor, drivers: torch.Tensor) -> torch.Tensor:
    """Blendmap weights [B, D]: softmax over the driver coefficients ``expression[:, drivers]`` (eq. 10)."""
    return torch.softmax(expression[:, drivers], dim=-1)


#: Distance beyond the training range (in training-range widths) at which the blendmap mix has fallen back
#: to ``exp(-1)`` of the way to the global map; and the smallest range width a driver counts with.
FALLBACK_WIDTH = 0.5
MIN_SPAN = 0.05


def blend_keep(expression: torch.Tensor, drivers: torch.Tensor, blend_range: torch.Tensor | None) -> torch.Tensor:
    """How much of the blendmap mix a frame keeps [B] in (0, 1] (not in the paper; docs/create.md).

    Inside the training frames' range of the driver coefficients (blend_range [2, D]: low and high) it is 1;
    beyond it falls smoothly, ``exp(-(d / FALLBACK_WIDTH)^2)`` with d the Euclidean distance outside the range
    in range widths, so an expression the video never showed gets the global map instead of an extrapolated
    blend. expression [B, n_exp]; None range: always 1."""
    if blend_range is None:
        return torch.ones(expression.shape[0], dtype=expression.dtype, device=expression.device)
    x = expression[:, drivers]
    lo, hi = blend_range[0].to(x), blend_range[1].to(x)
    span = (hi - lo).clamp_min(MIN_SPAN)
    d = ((torch.relu(x - hi) + torch.relu(lo - x)) / span).norm(dim=-1)
    return torch.exp(-(d / FALLBACK_WIDTH) ** 2)


def blend_mix(weights: torch.Tensor, blendmaps: torch.Tensor, keep: torch.Tensor | None = None,
              rectification: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 11's blend term [B, N, C] = sum_d weights[:, d] * blendmaps[d] (weights [B, D], blendmaps
    [D, N, C]); with ``keep`` [B] (:func:`blend_keep`) and the global ``rectification`` [N, C] it becomes
    ``keep * mix + (1 - keep) * rectification``. Shared by training (create.stages) and driving (Animator)."""
    mix = torch.einsum("bd,dnc->bnc", weights.to(blendmaps.dtype), blendmaps)
    if keep is None or rectification is None:
        return mix
    k = keep.to(mix.dtype)[:, None, None]
    return k * mix + (1.0 - k) * rectification[None]


def compose_maps(base: torch.Tensor, blendmaps: torch.Tensor | None = None,
                 weights: torch.Tensor | None = None, keep: torch.Tensor | None = None,
                 rectification: torch.Tensor | None = None) -> torch.Tensor:
    """Per-frame maps [B, N, 13] = base [N, 13] (U_init + mean offsets + global delta when there are no
    blendmaps) + :func:`blend_mix` of blendmaps [D, N, 13] with weights [B, D] (and ``keep`` [B] /
    ``rectification`` [N, 13] for the fallback to the global map)."""
    if blendmaps is None or blendmaps.shape[0] == 0:
        return base[None] if weights is None else base[None].expand(weights.shape[0], -1, -1)
    return base[None] + blend_mix(weights, blendmaps, keep, rectification)


def maps_to_raw(layout, maps: torch.Tensor, verts: torch.Tensor) -> dict[str, torch.Tensor]:
    """Pre-activation Gaussians in model space (what a 3DGS PLY stores).

    maps [B, N, 13], verts [B, V, 3] -> means [B, N, 3], log_scales [B, N, 3], quats [B, N, 4] = (1, r)
    (not normalized), opacity_logits [B, N], sh_dc [B, N, 3]. Position offsets of ``layout.locked``
    texels are ignored.
    """
    dpos = maps[..., POS]
    if bool(layout.locked.any()):
        dpos = dpos * (~layout.locked)[:, None].to(dpos.dtype)
    rot = maps[..., ROT]
    return {"means": layout.surface(verts) + dpos,
            "log_scales": maps[..., SCALE],
            "quats": torch.cat([torch.ones_like(rot[..., :1]), rot], -1),
            "opacity_logits": maps[..., OPACITY][..., 0],
            "sh_dc": maps[..., COLOR]}


def apply_pose(means: torch.Tensor, quats: torch.Tensor, rotvec: torch.Tensor | None = None,
               transl: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The rigid head pose on Gaussians: means [B, N, 3] -> ``R x + t``, quats [B, N, 4] (w, x, y, z, any norm)
    -> unit ``q_R * q``; rotvec, transl [B, 3] (None = identity)."""
    quats = torch.nn.functional.normalize(quats, dim=-1)
    if rotvec is not None:
        R = axis_angle_to_matrix(rotvec)                                      # [B, 3, 3]
        means = means @ R.transpose(-1, -2)
        quats = quat_mul(rotvec_to_quat(rotvec)[:, None, :], quats)
    if transl is not None:
        means = means + transl[:, None, :]
    return means, quats


def activate(raw: dict[str, torch.Tensor], rotvec: torch.Tensor | None = None,
             transl: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Activated world-space Gaussians from :func:`maps_to_raw` output and the rigid head pose
    (rotvec, transl [B, 3]; None = identity). Returns means, quats (unit), scales, opacities, colors."""

    means, quats = apply_pose(raw["means"], raw["quats"], rotvec, transl)
    return {"means": means, "quats": quats, "scales": torch.exp(raw["log_scales"]),
            "opacities": torch.sigmoid(raw["opacity_logits"]),
            "colors": (0.5 + SH_C0 * raw["sh_dc"]).clamp_min(0.0)}


def maps_to_gaussians(layout, maps: torch.Tensor, verts: torch.Tensor, rotvec: torch.Tensor | None = None,
                      transl: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Activated world-space Gaussians for the render contract (render.api) from maps [B, N, 13],
    meshes verts [B, V, 3] and the rigid head pose rotvec, transl [B, 3]."""
    return activate(maps_to_raw(layout, maps, verts), rotvec, transl)
