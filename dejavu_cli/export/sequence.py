"""A driven sequence as one splat file per frame (``reenact --frames-out``), for engines and 4D players.

Every file holds the same Gaussians in the same order (texel order of the UV map), so a player can morph
between frames or stream per-Gaussian deltas. Each frame is the avatar in model space (metres, y up, face
towards +z) with the driven expression and its head turned by the driver's rotation relative to the rest
pose (no translation: the head stays at the origin).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from dejavu_cli.avatar.gaussians import apply_pose
from dejavu_cli.errors import DejavuError
from dejavu_cli.export.ply import write_ply
from dejavu_cli.export.spz import write_spz
from dejavu_cli.io.outputs import prepare_folder

FORMATS = ("ply", "spz")


def frame_path(folder: Path, index: int, fmt: str) -> Path:
    return Path(folder) / f"frame_{index:05d}.{fmt}"


def prepare_frames_folder(path: str | os.PathLike, fmt: str) -> Path:
    """The output folder of a sequence: created when missing, writable, and holding no frame files yet (so
    nothing an earlier run wrote is overwritten). Call before any work."""
    if fmt not in FORMATS:
        raise DejavuError(f"--frames-format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    folder = prepare_folder(path, "frames folder")
    old = sorted(folder.glob("frame_*.ply")) + sorted(folder.glob("frame_*.spz"))
    if old:
        raise DejavuError(f"frames folder {folder} already holds {len(old)} frame files ({old[0].name}, ...); "
                          "choose an empty folder")
    return folder


def posed_frames(raw: dict[str, torch.Tensor], rotvec: torch.Tensor) -> list[dict[str, np.ndarray]]:
    """Per-frame export dicts (numpy float32) of pre-activation model-space Gaussians ``raw`` [B, N, ...] turned
    by ``rotvec`` [B, 3] about the model origin: means ``R x``, quaternions ``q_R * q``."""
    means, quats = apply_pose(raw["means"], raw["quats"], rotvec.to(raw["means"]))
    out = {"means": means, "quats": quats, "log_scales": raw["log_scales"],
           "opacity_logits": raw["opacity_logits"], "sh_dc": raw["sh_dc"]}
    B = means.shape[0]
    return [{k: v[b].detach().float().cpu().numpy() for k, v in out.items()} for b in range(B)]


def write_frame(g: dict[str, np.ndarray], path: Path, fmt: str) -> None:
    """One frame, atomically (the writers write a temp file and rename)."""
    if fmt == "ply":
        write_ply(g, path, sh_degree=0)
    else:
        write_spz(g, path)
