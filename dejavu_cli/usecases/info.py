"""Facts about an avatar (or tracking) file for ``dejavu info``."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.avatar.quality import artifact_figures
from dejavu_cli.errors import DejavuError
from dejavu_cli.fit.visibility import seen_summary
from dejavu_cli.head.registry import is_ready, load_head
from dejavu_cli.io.npz import load_npz, looks_like_npz
from dejavu_cli.track import api as track_api


def summarize_file(path: str | os.PathLike) -> dict:
    """A flat dict; tracking files (schema ``dejavu.track...``) go to ``track.api.summarize``. Avatars get
    their artifact figures (``avatar.quality``) when their head model is set up."""
    path = Path(path)
    if path.is_file() and not looks_like_npz(path):
        raise DejavuError(f"{path} is not a dejavu avatar (.npz) or tracking file (.track.npz)")
    schema = _peek_schema(path)
    if schema.startswith("dejavu.track"):

        return track_api.summarize(path)
    if not schema:
        load_npz(path, what="avatar or tracking file")  # one-line error for missing/truncated/non-NPZ

    a = load_avatar(path)
    return {"schema": "dejavu.avatar/1", "file_bytes": path.stat().st_size, "head": a.head,
            "uv_size": a.uv_size, "gaussians": a.n_gaussians, "blendmaps": a.n_blendmaps,
            "blend_drivers": a.blend_drivers, "identity_dims": int(np.asarray(a.identity).size),
            "layout_check": a.layout_check, "camera_fov_deg": a.fov_deg, "camera_distance_m": a.distance,
            "image_size": a.image_size, "version": a.dejavu_version, "created": a.created,
            "source_video_sha256": a.source_video_sha256 or None,
            "personalized": bool(np.abs(a.mean_offsets).max() > 0 or np.abs(a.rectification).max() > 0
                                 or a.n_blendmaps > 0),
            **_figures(a)}


def _figures(a) -> dict:
    """Artifact figures and, for created avatars, how much of the UV map the training frames saw."""
    if not is_ready(a.head):
        return {"artifacts": None, "uv_seen": None}
    animator = Animator(a, load_head(a.head))
    seen = None
    if a.texel_seen is not None:
        seen = seen_summary(animator.layout, torch.as_tensor(np.asarray(a.texel_seen) > 0).long())
    return {"artifacts": artifact_figures(animator), "uv_seen": seen}


def _peek_schema(path: Path) -> str:
    """The ``schema`` string of an NPZ without loading the rest ("" when absent or unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "schema" in getattr(data, "files", []):
                value = data["schema"]
                return str(value) if value.ndim == 0 else ""
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError):
        return ""
    return ""
