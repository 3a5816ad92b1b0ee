"""The fixed part of a personalization run (tracked frames, targets, base map) and batched rendering.

:class:`Problem` holds tensors on the run's device; :func:`render_batch` renders a batch of frames for a
batch of map deltas with ONE head-model call, ONE UV gather and ONE renderer call (no per-sample loops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dejavu_cli.avatar.gaussians import maps_to_gaussians
from dejavu_cli.fit.priors import facing_keep
from dejavu_cli.fit.targets import head_vertices
from dejavu_cli.head.base import HeadModel
from dejavu_cli.head.pose import axis_angle_to_matrix
from dejavu_cli.render.api import render


@dataclass
class Problem:
    """Everything the optimization reads but does not change.

    u_base      [N, 13]      U_init + mean offsets (pre-activation)
    pos_weights [N]          M_mu of the position regularizer
    identity    [n_id]
    expression  [T, n_exp];  jaw [T, 3] | None;  eyes [T, 6] | None;  rotvec, transl [T, 3]
    viewmat     [4, 4];      K [3, 3] at the training resolution
    targets     [T, R, R, 3] uint8 on the CPU (rows of frames without a face are never read)
    train, held [.] long     frame indices
    cover_x, cover_y [T, R]  share of each crop column/row inside the source video frame (None: all inside);
                             pixels outside were padded white by the crop, not filmed, so they carry no loss
    alphas      [T, R, R] uint8 the targets' masks (255 = head), for compositing over other backgrounds and
                             for the untrusted band along their edges (:meth:`edge_trust`)
    scale_weights [N], opacity_weights [N]  visibility-driven regularizer weights (None: uniform / off)
    flat_weights [N]         where the normal-thickness regularizer applies (skin: face, ears; None: off)
    blend_range [2, D]       low/high driver coefficients of the training frames (None: no fallback)
    cull [N] bool            texels hidden while their surface faces away from the camera (None: none;
                             ``priors.facing_keep`` at ``cull_cos``)
    """

    head: HeadModel
    layout: object
    u_base: torch.Tensor
    pos_weights: torch.Tensor
    identity: torch.Tensor
    expression: torch.Tensor
    jaw: torch.Tensor | None
    eyes: torch.Tensor | None
    rotvec: torch.Tensor
    transl: torch.Tensor
    viewmat: torch.Tensor
    K: torch.Tensor
    targets: torch.Tensor
    train: torch.Tensor
    held: torch.Tensor
    drivers: list[int]
    backend: str = "auto"
    cover_x: torch.Tensor | None = None
    cover_y: torch.Tensor | None = None
    alphas: torch.Tensor | None = None
    scale_weights: torch.Tensor | None = None
    opacity_weights: torch.Tensor | None = None
    flat_weights: torch.Tensor | None = None
    blend_range: torch.Tensor | None = None
    cull: torch.Tensor | None = None
    cull_cos: float = -0.5

    @property
    def resolution(self) -> int:
        return int(self.targets.shape[1])

    @property
    def device(self) -> torch.device:
        return self.u_base.device

    def target(self, idx: torch.Tensor, background: torch.Tensor | None = None) -> torch.Tensor:
        """Float targets [B, R, R, 3] in [0, 1] of frames ``idx`` [B], on the device: over white, or over
        ``background`` [B, 3] (``t - (1 - alpha)(1 - b)``: the targets are stored over white)."""
        t = self.targets[idx.cpu()].to(self.device).float() / 255.0
        if background is None:
            return t
        a = self.alphas[idx.cpu()].to(self.device).float()[..., None] / 255.0
        return t - (1.0 - a) * (1.0 - background[:, None, None, :])

    def inside(self, idx: torch.Tensor) -> torch.Tensor | None:
        """Coverage [B, R, R, 1] in [0, 1] of frames ``idx`` [B] by the source video frame (None: all inside)."""
        if self.cover_x is None:
            return None
        return (self.cover_y[idx][:, :, None] * self.cover_x[idx][:, None, :])[..., None]

    def edge_trust(self, idx: torch.Tensor, width: int) -> torch.Tensor | None:
        """[B, R, R, 1]: 0 within ``width`` pixels of the edge of frames ``idx``' target masks (either side of
        the alpha = 0.5 contour), 1 elsewhere; None for ``width`` 0 or without masks. The person matte's edge
        mixes the backdrop into the kept pixels; an untrusted band carries no loss (``CreateConfig.mask_edge``)."""
        if width <= 0 or self.alphas is None:
            return None
        a = (self.alphas[idx.cpu()].to(self.device) >= 128).float()[:, None]           # [B, 1, R, R]
        k = 2 * int(width) + 1
        grown = torch.nn.functional.max_pool2d(a, k, stride=1, padding=int(width))
        shrunk = 1.0 - torch.nn.functional.max_pool2d(1.0 - a, k, stride=1, padding=int(width))
        return (1.0 - (grown - shrunk))[:, 0, :, :, None]

    def outside_share(self, idx: torch.Tensor) -> float:
        """Mean share of the pixels of frames ``idx`` [B] outside the source frame (from the separable factors,
        without building the [B, R, R] coverage)."""
        if self.cover_x is None:
            return 0.0
        return float(1.0 - (self.cover_y[idx].mean(1) * self.cover_x[idx].mean(1)).mean())

    def vertices(self, idx: torch.Tensor) -> torch.Tensor:
        """Model-space vertices [B, V, 3] of frames ``idx`` [B] (one batched head-model call)."""
        pick = lambda x: None if x is None else x[idx]  # noqa: E731
        with torch.no_grad():
            return head_vertices(self.head, self.identity, self.expression[idx], pick(self.jaw), pick(self.eyes))


def render_batch(problem: Problem, delta: torch.Tensor, idx: torch.Tensor, verts: torch.Tensor | None = None,
                 background: torch.Tensor | None = None, rotvec: torch.Tensor | None = None,
                 transl: torch.Tensor | None = None):
    """Render frames ``idx`` [B] with maps ``u_base + delta`` (delta [B, N, 13]) over ``background`` [B, 3]
    (None: white) at head poses ``rotvec``/``transl`` [B, 3] (None: the tracked ones) -> RenderOutput."""
    if verts is None:
        verts = problem.vertices(idx)
    maps = problem.u_base[None] + delta
    rotvec = problem.rotvec[idx] if rotvec is None else rotvec
    transl = problem.transl[idx] if transl is None else transl
    g = maps_to_gaussians(problem.layout, maps, verts, rotvec, transl)
    B, R = idx.shape[0], problem.resolution
    bg = torch.ones(3, device=problem.device) if background is None else background
    opacities = g["opacities"]
    if problem.cull is not None:  # skin facing away from the camera is hidden (a constant of the frame)
        with torch.no_grad():
            rot = axis_angle_to_matrix(rotvec).transpose(-1, -2)
            points = problem.layout.surface(verts) @ rot + transl[:, None]
            normals = problem.layout.normals(verts, problem.head.faces) @ rot
            centre = -problem.viewmat[:3, :3].T @ problem.viewmat[:3, 3]
            keep = torch.where(problem.cull, facing_keep(normals, points, centre, problem.cull_cos), 1.0)
        opacities = opacities * keep
    return render(g["means"], g["quats"], g["scales"], opacities, g["colors"],
                  problem.viewmat.expand(B, 4, 4), problem.K.expand(B, 3, 3), R, R, background=bg,
                  backend=problem.backend)


def eval_indices(held: np.ndarray | torch.Tensor, max_frames: int) -> torch.Tensor:
    """At most ``max_frames`` held-out frames, evenly spaced (all of them when there are few)."""
    held = torch.as_tensor(held)
    if len(held) <= max_frames:
        return held
    pick = torch.linspace(0, len(held) - 1, max_frames).round().long()
    return held[pick]
