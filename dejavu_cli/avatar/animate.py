"""Animate an avatar: head-model parameters + rigid pose -> Gaussians -> images, batched over frames."""

from __future__ import annotations

import numpy as np
import torch

from dejavu_cli.avatar.file import check_layout
from dejavu_cli.avatar.gaussians import activate, blend_keep, blend_weights, compose_maps, maps_to_raw
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import HeadParams
from dejavu_cli.render.api import render
from dejavu_cli.uv.layout import build_layout


class Animator:
    """Holds an avatar's maps, the head model and its UV layout on ``device``.

    ``gaussians(params, rotvec, transl)`` -> activated world-space Gaussians (render contract),
    ``raw(params)`` -> pre-activation model-space Gaussians (PLY export), ``render(...)`` -> RenderOutput.
    """

    def __init__(self, avatar, head, device="cpu"):
        self.device = torch.device(device)
        self.avatar = avatar
        self.head = head.to(self.device)
        if avatar.head != head.name:
            raise DejavuError(f"the avatar was made with head model {avatar.head!r}, got {head.name!r}")
        self.layout = build_layout(self.head, avatar.uv_size)
        check_layout(avatar, self.layout)
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
        self.base = as_t(avatar.base_maps())                                   # [N, 13]
        self.blendmaps = as_t(avatar.blendmaps)                                # [D, N, 13]
        self.rectification = as_t(avatar.rectification)                        # [N, 13] the global map
        self.blend_range = None if avatar.blend_range is None else as_t(avatar.blend_range)  # [2, D]
        self.identity = as_t(avatar.identity)
        if self.identity.shape[-1] != head.n_identity:
            raise DejavuError(f"avatar field identity has {self.identity.shape[-1]} coefficients, the {head.name} "
                              f"head model has {head.n_identity} (made with another head model version?)")
        names = list(head.expression_names)
        missing = [n for n in avatar.blend_drivers if n not in names]
        if missing and self.blendmaps.shape[0] > 0:
            raise DejavuError(f"blend drivers {missing} are not expressions of the {head.name} head model")
        self.drivers = torch.tensor([names.index(n) for n in avatar.blend_drivers if n in names],
                                    dtype=torch.long, device=self.device)

    def expression_index(self, name: str) -> int:
        names = list(self.head.expression_names)
        if name not in names:
            raise DejavuError(f"unknown expression {name!r}; the {self.head.name} head model has: "
                              f"{', '.join(names[:12])}{' ...' if len(names) > 12 else ''}")
        return names.index(name)

    def neutral(self, batch_size: int = 1) -> HeadParams:
        """Neutral parameters with the avatar's identity for ``batch_size`` frames."""
        p = self.head.zeros(batch_size, device=self.device)
        p.identity = self.identity[None].expand(batch_size, -1)
        return p

    def maps(self, params: HeadParams) -> torch.Tensor:
        """Per-frame UV maps [B, N, 13]: blendmaps weighted by softmax over the driver expressions, falling back
        to the global map beyond the training expressions' range (``gaussians.blend_keep``)."""
        B = self.head.batch_of(params)
        if self.blendmaps.shape[0] == 0:
            return compose_maps(self.base).expand(B, -1, -1)
        expr = params.expression if params.expression is not None else \
            torch.zeros(B, self.head.n_expression, device=self.device)
        keep = blend_keep(expr, self.drivers, self.blend_range)
        return compose_maps(self.base, self.blendmaps, blend_weights(expr, self.drivers), keep, self.rectification)

    def _complete(self, params: HeadParams) -> HeadParams:
        if params.identity is None:
            B = self.head.batch_of(params)
            params = HeadParams(self.identity[None].expand(B, -1), params.expression, params.jaw, params.neck,
                                params.eyes)
        return params

    def raw(self, params: HeadParams) -> dict[str, torch.Tensor]:
        """Pre-activation Gaussians in model space [B, N, .] (see ``gaussians.maps_to_raw``)."""
        params = self._complete(params)
        return maps_to_raw(self.layout, self.maps(params), self.head(params))

    def gaussians(self, params: HeadParams, rotvec: torch.Tensor | None = None,
                  transl: torch.Tensor | None = None, raw: dict | None = None) -> dict[str, torch.Tensor]:
        """Activated world-space Gaussians for frames ``params`` [B, ...], rotvec / transl [B, 3]; ``raw``:
        :meth:`raw` of ``params`` when the caller already has it."""
        return activate(self.raw(params) if raw is None else raw, rotvec, transl)

    def render(self, params: HeadParams, rotvec=None, transl=None, viewmats=None, Ks=None, size: int = 512,
               background=None, backend: str = "auto", raw: dict | None = None):
        """Render frames [B] with cameras ``viewmats`` [B, 4, 4] / ``Ks`` [B, 3, 3] (default: the avatar's
        tracking camera at ``size``) -> :class:`dejavu_cli.render.api.RenderOutput`; ``raw`` as in
        :meth:`gaussians`."""

        g = self.gaussians(params, rotvec, transl, raw)
        B = g["means"].shape[0]
        if viewmats is None:
            viewmats = torch.as_tensor(self.avatar.viewmat, dtype=torch.float32, device=self.device).expand(B, 4, 4)
        if Ks is None:
            Ks = torch.as_tensor(self.avatar.intrinsics(size), device=self.device).expand(B, 3, 3)
        if background is None:
            background = torch.ones(3, device=self.device)
        return render(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], viewmats, Ks, size, size,
                      background=background, backend=backend)
