"""Niantic SPZ (compressed Gaussian splats) through gsply, a maintained reader/writer of SPZ, PLY and SOG.

SPZ stores positions as 24-bit fixed point (12 fractional bits: 0.24 mm), log-scales, opacity, colour and
the rotation quantized to 8 bits (v3: smallest-three quaternion), in a gzip container; our static export
(SH degree 0) has no higher SH bands. Orientation: whatever the export dict holds (y-up, or ``inria`` after
:func:`export.gaussians.to_convention`).
"""

from __future__ import annotations

import os
from pathlib import Path

import gsply
import numpy as np

from dejavu_cli.export.gaussians import as_export_dict
from dejavu_cli.io.atomic import atomic_path

#: SPZ container version written: 3 (gzip), the one every SPZ reader opens; 4 (zstd) is newer.
SPZ_VERSION = 3


def spz_data(g: dict[str, np.ndarray]) -> gsply.GSData:
    """gsply's container (PLY conventions: log-scales, logit opacities, SH DC, unit wxyz quaternions)."""
    q = np.asarray(g["quats"], np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    n = len(q)
    return gsply.GSData(means=np.ascontiguousarray(g["means"], np.float32),
                        scales=np.ascontiguousarray(g["log_scales"], np.float32), quats=np.ascontiguousarray(q),
                        opacities=np.ascontiguousarray(g["opacity_logits"], np.float32).reshape(n),
                        sh0=np.ascontiguousarray(g["sh_dc"], np.float32), shN=np.zeros((n, 0, 3), np.float32),
                        _format=gsply.create_ply_format(0))


def write_spz(source, path: str | os.PathLike, expression: str | None = None) -> Path:
    """Write an ``.spz`` atomically from an Avatar (static, at ``expression``) or an export dict."""
    data = spz_data(as_export_dict(source, expression))
    with atomic_path(path, suffix=".spz") as tmp:
        gsply.write_spz(tmp, data, version=SPZ_VERSION)
    return Path(path)
