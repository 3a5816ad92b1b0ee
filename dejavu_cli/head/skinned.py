"""A skinned head model (FLAME layout): blendshapes + 5-joint linear blend skinning.

Used by FLAME (``flame.py``) and the procedural test head (``testhead.py``); both store the same arrays
(see :data:`ARRAYS`). Joints: 0 global (kept at identity: the head pose is applied separately with
``pose.apply_rigid``), 1 neck, 2 jaw, 3 left eye, 4 right eye (subject's left = +x).
"""

from __future__ import annotations

import numpy as np
import torch

from dejavu_cli.head import lbs
from dejavu_cli.head.base import HeadModel, HeadParams

#: arrays a skinned-head NPZ holds (name: shape)
ARRAYS = {
    "template": "[V, 3] float32, metres",
    "faces": "[F, 3] int",
    "uv": "[T, 2] float32 in [0, 1]^2",
    "uv_faces": "[F, 3] int",
    "face_region": "[F] int, index into base.REGION_NAMES",
    "landmarks68": "[68] int vertex indices",
    "shape_basis": "[n_identity, V*3] float32",
    "expr_basis": "[n_expression, V*3] float32",
    "posedirs": "[36, V*3] float32 (zeros when the model has no pose correctives)",
    "J_regressor": "[5, V] float32",
    "weights": "[V, 5] float32 skinning weights",
    "parents": "[5] int (-1 for the root)",
    "expression_names": "[n_expression] str",
    "blend_drivers": "[10] int",
}


class SkinnedHead(HeadModel):
    """Blendshapes (identity, expression) then LBS over global/neck/jaw/eyes.  Buffers only."""

    has_jaw = True
    has_neck = True
    has_eyes = True

    def __init__(self, arrays: dict[str, np.ndarray], name: str, device="cpu"):
        super().__init__()
        self.name = name
        f32 = lambda k: torch.as_tensor(np.asarray(arrays[k], np.float32), device=device)  # noqa: E731
        i64 = lambda k: torch.as_tensor(np.asarray(arrays[k], np.int64), device=device)  # noqa: E731
        for key in ("template", "uv", "shape_basis", "expr_basis", "posedirs", "J_regressor", "weights"):
            self.register_buffer(key, f32(key))
        for key in ("faces", "uv_faces", "face_region", "landmarks68"):
            self.register_buffer(key, i64(key))
        self.parents = [int(p) for p in arrays["parents"]]
        self.expression_names = [str(s) for s in arrays["expression_names"]]
        self.blend_drivers = [int(i) for i in arrays["blend_drivers"]]
        self.n_identity = int(self.shape_basis.shape[0])
        self.n_expression = int(self.expr_basis.shape[0])
        self._has_posedirs = bool(np.any(np.asarray(arrays["posedirs"]) != 0))

    def forward(self, params: HeadParams) -> torch.Tensor:
        """Model-space vertices [B, V, 3]."""
        B = self.batch_of(params)
        dtype, device = self.template.dtype, self.template.device
        z = lambda n: torch.zeros(B, n, dtype=dtype, device=device)  # noqa: E731
        ident = params.identity if params.identity is not None else z(self.n_identity)
        expr = params.expression if params.expression is not None else z(self.n_expression)
        shaped = self.template + lbs.blend(ident.to(dtype), self.shape_basis) + lbs.blend(expr.to(dtype), self.expr_basis)
        neck = params.neck if params.neck is not None else z(3)
        jaw = params.jaw if params.jaw is not None else z(3)
        eyes = params.eyes if params.eyes is not None else z(6)
        pose = torch.stack([z(3), neck.to(dtype), jaw.to(dtype), eyes[:, :3].to(dtype), eyes[:, 3:].to(dtype)], 1)
        return lbs.lbs(shaped, pose, self.J_regressor, self.parents, self.weights,
                       self.posedirs if self._has_posedirs else None)
