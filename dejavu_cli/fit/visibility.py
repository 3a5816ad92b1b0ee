"""Per-texel visibility over training frames: how often and how squarely the video saw each Gaussian.

A texel is seen in a frame when its posed surface point faces the camera (cosine between its normal and the
direction to the camera above ``min_cos``), lands inside the image and is not behind nearer surface
(``colour.visible_samples``' z-buffer), and its pixel was filmed (crop padding does not count).
"""

from __future__ import annotations

import torch

from dejavu_cli.fit.colour import sample_colours, visible_samples
from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.head.pose import axis_angle_to_matrix

#: Regions reported separately (the rest are counted in "total").
REPORTED = ("face", "scalp", "ears", "eyeballs", "mouth", "teeth")


def texel_visibility(layout, verts: torch.Tensor, faces: torch.Tensor, rotvec: torch.Tensor, transl: torch.Tensor,
                     viewmat: torch.Tensor, K: torch.Tensor, size: int, coverage: torch.Tensor | None = None,
                     chunk: int = 8, min_cos: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """(frames seeing each texel squarely ``[N]`` long, best facing cosine ``[N]`` float) over ``B`` frames.

    A frame counts when the facing cosine exceeds ``min_cos``; the best cosine is over every frame the
    texel was in view at all (front-facing, unoccluded, filmed), so ``best > 0`` means "ever in view".

    verts [B, V, 3] model-space meshes of the frames; rotvec, transl [B, 3]; viewmat [4, 4]; K [3, 3] for
    ``size``-pixel images; coverage [B, size, size, 1] filmed share (None: all filmed)."""
    N = int(layout.n_texels)
    count = torch.zeros(N, dtype=torch.long, device=verts.device)
    best = torch.zeros(N, dtype=verts.dtype, device=verts.device)
    for s in range(0, verts.shape[0], chunk):
        v = verts[s:s + chunk]
        R = axis_angle_to_matrix(rotvec[s:s + chunk])
        world = layout.surface(v) @ R.transpose(-1, -2) + transl[s:s + chunk, None]
        nrm = layout.normals(v, faces) @ R.transpose(-1, -2)
        pix, w, _ = visible_samples(world, nrm, viewmat, K, size, min_cos=0.0)
        if coverage is not None:
            w = w * (sample_colours(coverage[s:s + chunk], pix)[..., 0] >= 0.999)
        count += (w > min_cos).sum(0)
        best = torch.maximum(best, w.max(0).values)
    return count, best


def seen_summary(layout, count: torch.Tensor) -> dict:
    """{"total": share of texels seen at least once, "<region>": share per region} (rounded)."""
    seen = count > 0
    out = {"total": round(float(seen.float().mean()), 3)}
    region = layout.region
    for name in REPORTED:
        m = region == REGION_NAMES.index(name)
        if bool(m.any()):
            out[name] = round(float(seen[m].float().mean()), 3)
    return out
