"""Colour initialization from the video: project frame pixels onto the texels that see them.

Without a reconstruction network the UV map starts grey; a few seconds of projection give the optimizer a
start close to the person instead (measured in docs/create.md). For each of a few training frames the posed
surface point of every texel is projected into the target image; a texel takes the pixel colour when it
faces the camera (``cos > min_cos`` between its normal and the direction to the camera) and is not hidden
(its depth is within ``depth_tol`` of the nearest texel landing on the same pixel). Colours are averaged
over frames with the facing cosine as weight; texels no frame sees get the mean seen colour of their
region (the back of the scalp takes the hair colour), or of all seen texels.
SH degree 0: ``sh = (rgb - 0.5) / C0``.
"""

from __future__ import annotations

import torch

from dejavu_cli.avatar.gaussians import SH_C0
from dejavu_cli.head.pose import axis_angle_to_matrix
from dejavu_cli.render.camera import project


def visible_samples(points: torch.Tensor, normals: torch.Tensor, viewmat: torch.Tensor, K: torch.Tensor,
                    size: int, depth_tol: float = 0.005, min_cos: float = 0.3) -> tuple[torch.Tensor, torch.Tensor,
                                                                                         torch.Tensor]:
    """Which world points [B, N, 3] with unit normals [B, N, 3] a camera sees in a ``size``^2 image.

    viewmat [4, 4], K [3, 3]. Returns pixel coordinates [B, N, 2], a visibility weight [B, N] (the facing
    cosine, 0 where hidden, back-facing or outside the image) and the flat pixel index [B, N].
    """
    B, N, _ = points.shape
    cam = points @ viewmat[:3, :3].T + viewmat[:3, 3]                        # [B, N, 3] camera space
    centre = -viewmat[:3, :3].T @ viewmat[:3, 3]                             # camera position, world
    to_cam = torch.nn.functional.normalize(centre - points, dim=-1)
    cos = (normals * to_cam).sum(-1)                                         # [B, N]
    pix = project(points, viewmat, K)                                        # [B, N, 2]
    ij = pix.floor().long()
    inside = (ij >= 0).all(-1) & (ij < size).all(-1) & (cam[..., 2] > 0.01)
    flat = (ij[..., 1].clamp(0, size - 1) * size + ij[..., 0].clamp(0, size - 1))
    flat = flat + torch.arange(B, device=points.device)[:, None] * size * size
    z = torch.where(inside & (cos > min_cos), cam[..., 2], torch.full_like(cam[..., 2], float("inf")))
    zbuf = torch.full((B * size * size,), float("inf"), device=points.device, dtype=z.dtype)
    zbuf.scatter_reduce_(0, flat.reshape(-1), z.reshape(-1), reduce="amin")
    front = z <= zbuf[flat] + depth_tol
    weight = torch.where(inside & front & (cos > min_cos), cos, torch.zeros_like(cos))
    return pix, weight, flat


def sample_colours(images: torch.Tensor, pix: torch.Tensor) -> torch.Tensor:
    """Bilinear colours [B, N, 3] of images [B, H, W, 3] at pixel coordinates pix [B, N, 2] (centres k+0.5)."""
    B, H, W, _ = images.shape
    grid = torch.stack([pix[..., 0] / W * 2 - 1, pix[..., 1] / H * 2 - 1], -1)[:, :, None]  # [B, N, 1, 2]
    out = torch.nn.functional.grid_sample(images.permute(0, 3, 1, 2), grid, mode="bilinear",
                                          padding_mode="border", align_corners=False)
    return out[..., 0].permute(0, 2, 1)


def project_colours(surface: torch.Tensor, normals: torch.Tensor, rotvec: torch.Tensor, transl: torch.Tensor,
                    images: torch.Tensor, viewmat: torch.Tensor, K: torch.Tensor,
                    groups: torch.Tensor | None = None,
                    coverage: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Average colour [N, 3] and total visibility weight [N] of texels over frames.

    surface, normals [B, N, 3] model space (posed by expression, not yet rigidly moved); rotvec, transl
    [B, 3]; images [B, R, R, 3] targets in [0, 1]; viewmat [4, 4]; K [3, 3] for ``R``-pixel images.
    groups [N] long (e.g. the layout's regions): an unseen texel takes the mean colour of the seen texels
    of its group (the back of the scalp gets the hair colour, not skin), else the mean of all seen texels.
    coverage [B, R, R, 1] in [0, 1] (None: all 1): texels landing where it is below 1 (crop padding outside
    the filmed frame) count as unseen in that frame.
    """
    R = axis_angle_to_matrix(rotvec)                                         # [B, 3, 3]
    world = surface @ R.transpose(-1, -2) + transl[:, None]
    nrm = normals @ R.transpose(-1, -2)
    pix, w, _ = visible_samples(world, nrm, viewmat, K, images.shape[1])
    col = sample_colours(images, pix)                                        # [B, N, 3]
    if coverage is not None:
        w = w * (sample_colours(coverage, pix)[..., 0] >= 0.999)
    wsum = w.sum(0)
    mean = (col * w[..., None]).sum(0) / wsum.clamp_min(1e-8)[:, None]
    seen = wsum > 0
    if seen.any():
        fallback = ((mean[seen] * wsum[seen, None]).sum(0) / wsum[seen].sum()).expand_as(mean)
        if groups is not None:
            n_groups = int(groups.max()) + 1
            gw = torch.zeros(n_groups, dtype=wsum.dtype, device=wsum.device).index_add_(0, groups, wsum)
            gc = torch.zeros(n_groups, 3, dtype=mean.dtype, device=mean.device).index_add_(
                0, groups, mean * wsum[:, None])
            group_mean = gc / gw.clamp_min(1e-8)[:, None]
            fallback = torch.where((gw[groups] > 0)[:, None], group_mean[groups], fallback)
        mean = torch.where(seen[:, None], mean, fallback)
    else:
        mean = torch.full_like(mean, 0.5)
    return mean, wsum


def rgb_to_sh0(rgb: torch.Tensor) -> torch.Tensor:
    """SH degree-0 coefficient of an RGB colour: ``(rgb - 0.5) / C0`` (docs/conventions.md#gaussians)."""
    return (rgb - 0.5) / SH_C0


def texel_spacing(layout, verts: torch.Tensor) -> torch.Tensor:
    """Surface distance [N] (metres) between a texel's Gaussian and its right/lower UV neighbours.

    verts [V, 3] the identity mesh. Neighbour pairs across UV seams are far apart in 3D, so each texel
    takes the smaller of its two distances, clamped to [0.5, 2] x the median; texels without a valid
    neighbour get the median.
    """
    pos = layout.to_image(layout.surface(verts[None])[0])                     # [S, S, 3]
    valid = layout.to_image(torch.ones(layout.n_texels, 1, device=pos.device))[..., 0] > 0
    inf = torch.full(valid.shape, float("inf"), device=pos.device)
    dx, dy = inf.clone(), inf.clone()
    ok_x = valid[:, 1:] & valid[:, :-1]
    ok_y = valid[1:, :] & valid[:-1, :]
    dx[:, :-1] = torch.where(ok_x, (pos[:, 1:] - pos[:, :-1]).norm(dim=-1), inf[:, :-1])
    dy[:-1, :] = torch.where(ok_y, (pos[1:, :] - pos[:-1, :]).norm(dim=-1), inf[:-1, :])
    d = layout.from_image(torch.minimum(dx, dy)[..., None])[:, 0]              # [N]
    finite = torch.isfinite(d)
    med = d[finite].median() if finite.any() else torch.tensor(1e-3, device=d.device)
    return torch.where(finite, d, med).clamp(0.5 * med, 2.0 * med)
