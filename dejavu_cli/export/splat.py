"""antimatter15 ``.splat`` (research notes peers-and-formats.md §3.3): 32 bytes per Gaussian.

position 3 x f32, linear scale 3 x f32, RGBA 4 x u8 (colour 0.5 + C0 * f_dc, alpha sigmoid(opacity)),
rotation 4 x u8 (unit quaternion w, x, y, z mapped by q * 128 + 128); sorted by
``-exp(sum log-scale) * sigmoid(opacity)`` (largest, most opaque first) as antimatter15's convert.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dejavu_cli.avatar.gaussians import SH_C0
from dejavu_cli.export.gaussians import as_export_dict
from dejavu_cli.io.atomic import atomic_path

SPLAT_DTYPE = np.dtype([("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])


def splat_records(g: dict[str, np.ndarray]) -> np.ndarray:
    """Structured array [N] (32 bytes each, viewer order) from pre-activation Gaussians."""
    log_s = np.asarray(g["log_scales"], np.float64)
    opacity = 1.0 / (1.0 + np.exp(-np.asarray(g["opacity_logits"], np.float64)))
    order = np.argsort(-np.exp(log_s.sum(1)) * opacity, kind="stable")
    q = np.asarray(g["quats"], np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    rgb = np.clip(0.5 + SH_C0 * np.asarray(g["sh_dc"], np.float64), 0, 1)
    out = np.empty(len(order), SPLAT_DTYPE)
    out["position"] = np.asarray(g["means"])[order]
    out["scale"] = np.exp(log_s)[order]
    out["rgba"] = np.clip(np.round(np.c_[rgb, opacity] * 255), 0, 255)[order]
    out["rot"] = np.clip(np.round(q * 128 + 128), 0, 255)[order]
    return out


def write_splat(source, path: str | os.PathLike, expression: str | None = None) -> Path:
    """Write a ``.splat`` atomically from an Avatar (static, at ``expression``) or an export dict."""
    data = splat_records(as_export_dict(source, expression)).tobytes()
    with atomic_path(path, suffix=".splat") as tmp:
        tmp.write_bytes(data)
    return Path(path)
