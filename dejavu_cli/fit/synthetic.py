"""A synthetic personalization problem with a known answer (round-trip test, benchmark).

A "true" avatar on a head model's layout (colours varying over the surface, grown scales, opaque, small
position offsets) is rendered under known tracking (random expressions, jaw, head turns) into crops, and
a matching :class:`~dejavu_cli.track.api.TrackResult` is built (person masks all on). ``create`` must then
recover frames it never saw (the held-out last 10 %).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dejavu_cli.avatar.gaussians import maps_to_gaussians
from dejavu_cli.fit.colour import rgb_to_sh0
from dejavu_cli.fit.targets import head_vertices
from dejavu_cli.render.api import render
from dejavu_cli.render.camera import default_viewmat, focal_from_fov, intrinsics
from dejavu_cli.track.api import MediaPipeLandmarker, TrackResult
from dejavu_cli.uv.layout import build_layout
from dejavu_cli.uv.maps import init_maps


def true_maps(layout, u_init: torch.Tensor, verts: torch.Tensor, gen: torch.Generator, scale: float = 0.004,
              opacity_logit: float = 2.0, pos_noise: float = 0.001) -> torch.Tensor:
    """Ground-truth maps [N, 13]: smooth colour pattern over the surface, given scale/opacity, small offsets.
    verts [V, 3] the identity mesh (model space)."""
    p = layout.surface(verts[None])[0]                                        # [N, 3]
    rgb = 0.5 + 0.35 * torch.stack([torch.sin(40 * p[:, 0] + 1), torch.sin(30 * p[:, 1] + 2),
                                    torch.cos(35 * p[:, 2] + 25 * p[:, 0])], -1)
    m = u_init.clone()
    m[:, 0:3] = pos_noise * torch.randn(m.shape[0], 3, generator=gen)
    m[:, 3:6] = math.log(scale)
    m[:, 9] = opacity_logit
    m[:, 10:13] = rgb_to_sh0(rgb)
    return m


def make_problem(head, uv_size: int = 48, size: int = 64, n_frames: int = 30, seed: int = 0,
                 distance: float = 0.85):
    """(track, crops uint8 [T, S, S, 3], true maps [N, 13]) of a synthetic video of ``head``.

    The camera is the default one (+z axis, 20 degrees) and the head sits ``distance`` metres in front of
    it; poses sweep yaw +-0.3 rad, pitch +-0.15 rad and random expressions in [0, 0.6].
    """

    gen = torch.Generator().manual_seed(seed)
    layout = build_layout(head, uv_size)
    T = n_frames
    identity = 0.5 * torch.randn(head.n_identity, generator=gen)
    expr = 0.6 * torch.rand(T, head.n_expression, generator=gen)
    jaw = torch.zeros(T, 3)
    jaw[:, 0] = 0.15 * torch.rand(T, generator=gen)
    eyes = 0.1 * (torch.rand(T, 6, generator=gen) - 0.5)
    t = torch.linspace(0, 1, T)
    rotvec = torch.stack([0.15 * torch.sin(2 * math.pi * 1.3 * t), 0.3 * torch.sin(2 * math.pi * t),
                          0.05 * torch.cos(2 * math.pi * t)], -1)
    y_mid = float(head.template[:, 1].min() + head.template[:, 1].max()) / 2
    transl = torch.tensor([0.0, -y_mid, 1.0 - distance]).expand(T, 3).clone()
    viewmat = default_viewmat()
    K = intrinsics(focal_from_fov(20.0, size), size, size)
    with torch.no_grad():
        v_id = head_vertices(head, identity, torch.zeros(1, head.n_expression), torch.zeros(1, 3),
                             torch.zeros(1, 6))[0]
        truth = true_maps(layout, init_maps(layout), v_id, gen)
        verts = head_vertices(head, identity, expr, jaw, eyes)
        rgb = []
        for lo in range(0, T, 4):  # a few frames per call: 30 x 75k Gaussians at 512^2 at once needs >12 GB
            hi = min(T, lo + 4)
            g = maps_to_gaussians(layout, truth[None].expand(hi - lo, -1, -1), verts[lo:hi], rotvec[lo:hi],
                                  transl[lo:hi])
            out = render(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"],
                         viewmat.expand(hi - lo, 4, 4), K.expand(hi - lo, 3, 3), size, size,
                         background=torch.ones(3))
            rgb.append(out.rgb.clamp(0, 1))
    crops = (torch.cat(rgb).numpy() * 255 + 0.5).astype(np.uint8)
    m = size // 2
    track = TrackResult(
        video_sha256="synthetic", fps=25.0, n_frames=T, source_size=np.array([size, size]), frames=np.arange(T),
        valid=np.ones(T, bool), crop_boxes=np.tile(np.array([0, 0, size], np.float32), (T, 1)), size=size,
        landmarks=np.zeros((T, MediaPipeLandmarker.n_points, 2), np.float32), fit_ids=np.zeros(0, np.int64), head=head.name,
        identity=identity.numpy(), expression=expr.numpy(), jaw=jaw.numpy(), eyes=eyes.numpy(),
        rotvec=rotvec.numpy(), translation=transl.numpy(), K=K.numpy(), viewmat=viewmat.numpy(), fov_deg=20.0,
        masks=np.packbits(np.ones((T, m, m), bool), axis=-1), mask_size=m,
        landmark_error=np.zeros(T, np.float32))
    return track, crops, truth
