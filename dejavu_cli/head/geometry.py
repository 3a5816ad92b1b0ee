"""Mesh geometry shared by the stages (pure functions)."""

from __future__ import annotations

import torch


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals [B, V, 3] of a triangle mesh. verts [B, V, 3], faces [F, 3] long."""
    a, b, c = (verts[:, faces[:, i]] for i in range(3))
    fn = torch.cross(b - a, c - a, dim=-1)                                   # [B, F, 3], |fn| = 2 area
    n = torch.zeros_like(verts)
    for i in range(3):
        n.index_add_(1, faces[:, i], fn)
    return torch.nn.functional.normalize(n, dim=-1, eps=1e-12)
