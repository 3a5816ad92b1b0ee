"""The head-model interface. Conventions: docs/conventions.md (metres, y up, +z out of the face).

A head model is a ``torch.nn.Module`` holding buffers only; the math (blendshapes, LBS) lives in pure
functions (``dejavu_cli.head.lbs``). Vertices are returned in *model space*; the rigid head pose is
applied separately with :func:`dejavu_cli.head.pose.apply_rigid` so every model shares it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

#: Region names every head model labels its faces with (a face can be in exactly one region).
REGION_NAMES = (
    "face",       # skin of the face incl. lips and eyelids
    "scalp",      # top and back of the head, where hair grows
    "ears",
    "neck",       # removed from the UV Gaussian map, kept for fitting
    "eyeballs",
    "mouth",      # mouth interior: socket, gums, tongue
    "teeth",
    "other",      # eyelashes, tear ducts, eye occlusion helpers: not used for Gaussians
)


@dataclass
class HeadParams:
    """Per-frame parameters of a head model; missing parts are ``None`` (model default / zeros).

    identity   [B, n_identity]
    expression [B, n_expression]
    jaw        [B, 3]   axis-angle (models with a jaw joint; ICT has jaw blendshapes instead)
    neck       [B, 3]   axis-angle
    eyes       [B, 6]   axis-angle, left then right eye
    """

    identity: torch.Tensor | None = None
    expression: torch.Tensor | None = None
    jaw: torch.Tensor | None = None
    neck: torch.Tensor | None = None
    eyes: torch.Tensor | None = None


class HeadModel(nn.Module):
    """Common interface of ICT-FaceKit, FLAME and the test head.

    Buffers every implementation registers:
      ``template``      [V, 3] float  neutral mean shape, metres
      ``faces``         [F, 3] long   triangles (counter-clockwise seen from outside)
      ``uv``            [T, 2] float  UV coordinates, v up: in [0, 1]^2 for FLAME and the test head; ICT keeps
                                      its raw UDIM coordinates (u in [0, 7), tile = floor(u)) and the UV stage
                                      packs them (docs/head-models.md#ict-uv)
      ``uv_faces``      [F, 3] long   UV index of each triangle corner (UV seams differ from ``faces``)
      ``face_region``   [F]    long   index into :data:`REGION_NAMES`
      ``landmarks68``   [68]   long   vertex index of each iBUG/Multi-PIE 68-point landmark
    Attributes: ``name`` (str), ``expression_names`` (list[str]), ``n_identity``, ``n_expression`` (int),
    ``has_jaw``, ``has_neck``, ``has_eyes`` (bool), ``blend_drivers`` (list[int]: the 10 expression
    indices whose softmax weights the blendmaps, paper eq. 10).
    """

    name: str = "abstract"
    expression_names: list[str]
    n_identity: int
    n_expression: int
    has_jaw: bool = False
    has_neck: bool = False
    has_eyes: bool = False
    blend_drivers: list[int]

    template: torch.Tensor
    faces: torch.Tensor
    uv: torch.Tensor
    uv_faces: torch.Tensor
    face_region: torch.Tensor
    landmarks68: torch.Tensor

    @property
    def n_vertices(self) -> int:
        return int(self.template.shape[0])

    def forward(self, params: HeadParams) -> torch.Tensor:
        """Model-space vertices ``[B, V, 3]`` for the given parameters (differentiable, batched)."""
        raise NotImplementedError

    def vertices(self, identity=None, expression=None, jaw=None, neck=None, eyes=None,
                 batch_size: int | None = None) -> torch.Tensor:
        """Convenience wrapper around :meth:`forward`; ``batch_size`` is used when all inputs are None."""
        params = HeadParams(identity, expression, jaw, neck, eyes)
        return self.forward(params) if batch_size is None else self.forward_batch(params, batch_size)

    def forward_batch(self, params: HeadParams, batch_size: int) -> torch.Tensor:
        return self.forward(params) if any(
            v is not None for v in vars(params).values()) else self.template.expand(batch_size, -1, -1) + 0

    def region_faces(self, *names: str) -> torch.Tensor:
        """Bool mask ``[F]`` of faces in any of the named regions."""
        idx = [REGION_NAMES.index(n) for n in names]
        return torch.isin(self.face_region, torch.tensor(idx, device=self.face_region.device))

    def batch_of(self, params: HeadParams) -> int:
        for v in vars(params).values():
            if v is not None:
                return int(v.shape[0])
        return 1

    def zeros(self, batch_size: int, device=None, dtype=torch.float32) -> HeadParams:
        """Neutral parameters for ``batch_size`` frames."""
        device = device or self.template.device
        z = lambda n: torch.zeros(batch_size, n, device=device, dtype=dtype)  # noqa: E731
        return HeadParams(z(self.n_identity), z(self.n_expression), z(3) if self.has_jaw else None,
                          z(3) if self.has_neck else None, z(6) if self.has_eyes else None)
