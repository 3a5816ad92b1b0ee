"""Standard 3DGS PLY (inria layout; research notes peers-and-formats.md §3.2).

binary_little_endian, one ``vertex`` element of float properties in this order: x y z, nx ny nz (zeros),
f_dc_0..2, f_rest_0..44 (SH degree 3 only, zeros, channel-major), opacity (logit), scale_0..2 (log),
rot_0..3 (quaternion w, x, y, z, unnormalized). Viewers (SuperSplat, Spark, Unity) read it as is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from plyfile import PlyData, PlyElement

from dejavu_cli.export.gaussians import as_export_dict
from dejavu_cli.io.atomic import atomic_path


def ply_property_names(sh_degree: int = 3) -> list[str]:
    """The vertex property names, in file order, for SH degree 0 or 3."""
    if sh_degree not in (0, 3):
        raise ValueError(f"sh_degree must be 0 or 3, got {sh_degree}")
    n_rest = 3 * ((sh_degree + 1) ** 2 - 1)
    return (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
            + [f"f_rest_{i}" for i in range(n_rest)]
            + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])


def ply_vertex_array(g: dict[str, np.ndarray], sh_degree: int = 3) -> np.ndarray:
    """Structured array [N] of the PLY vertex element from pre-activation Gaussians (export dict)."""
    names = ply_property_names(sh_degree)
    n = len(g["means"])
    cols = np.zeros((n, len(names)), np.float32)
    cols[:, 0:3] = g["means"]
    cols[:, 6:9] = g["sh_dc"]
    cols[:, -8] = g["opacity_logits"]
    cols[:, -7:-4] = g["log_scales"]
    cols[:, -4:] = g["quats"]
    out = np.empty(n, dtype=[(name, "<f4") for name in names])
    for i, name in enumerate(names):
        out[name] = cols[:, i]
    return out


def write_ply(source, path: str | os.PathLike, sh_degree: int = 3, expression: str | None = None) -> Path:
    """Write a 3DGS PLY atomically from an Avatar (static, at ``expression``) or an export dict."""
    vertex = ply_vertex_array(as_export_dict(source, expression), sh_degree)
    ply = PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<",
                  comments=["dejavu Gaussian head avatar (3DGS inria layout)"])
    with atomic_path(path, suffix=".ply") as tmp:
        ply.write(str(tmp))
    return Path(path)
