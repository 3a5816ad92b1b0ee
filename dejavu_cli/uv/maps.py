"""Initial UV Gaussian maps (paper §3.2) as texel lists ``[N, 13]`` (docs/architecture.md#maps).

Channels: 0:3 position offset from the posed surface point (metres, model space), 3:6 log-scale,
6:9 rotation ``r`` of the quaternion ``(1, r)``, 9 opacity logit, 10:13 SH degree-0 colour.
"""

from __future__ import annotations

import torch

#: Channel slices of a UV Gaussian map.
POS, SCALE, ROT, OPACITY, COLOR = slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 10), slice(10, 13)
N_CHANNELS = 13
#: Initial log-scale (paper §3.2): exp(-8.3533) = 2.36e-4 m.
INIT_LOG_SCALE = -8.3533
#: Initial opacity logit of the paper (the official code overwrites it with the init-opacity weight map).
PAPER_OPACITY_LOGIT = 0.1
OPACITY_INITS = ("official", "paper")


def init_maps(layout, verts: torch.Tensor | None = None, opacity: str = "official") -> torch.Tensor:
    """U_init [N, 13] on the layout's device, in offset form (position channels 0).

    ``opacity="official"`` uses the layout's init-opacity map (logit ~1 on the face, eyes and mouth,
    0 on the scalp and ears, with a ramp), ``"paper"`` the constant logit 0.1 of the paper's text.
    Colour SH DC 0 (grey 0.5), rotation 0 (identity), log-scale -8.3533. ``verts`` is not needed (the
    initial *position* map of the paper is ``layout.surface(verts)``) and is accepted for old callers.
    """
    if opacity not in OPACITY_INITS:
        raise ValueError(f"opacity init must be one of {OPACITY_INITS}, got {opacity!r}")
    n = layout.n_texels
    maps = torch.zeros(n, N_CHANNELS, device=layout.texel.device)
    maps[:, SCALE] = INIT_LOG_SCALE
    maps[:, OPACITY] = (layout.opacity_init[:, None] if opacity == "official"
                        else torch.full((n, 1), PAPER_OPACITY_LOGIT, device=maps.device))
    return maps


def position_map(layout, verts: torch.Tensor) -> torch.Tensor:
    """The paper's initial UV position map U_mu as an image [B, S, S, 3] for meshes ``verts`` [B, V, 3]."""
    return layout.to_image(layout.surface(verts))
