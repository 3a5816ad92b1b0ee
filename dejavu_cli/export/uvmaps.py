"""The avatar's UV maps as ``S x S x C`` images in an NPZ, for editing or inspection."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.gaussians import blend_weights, compose_maps
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.atomic import save_npz_atomic


def uv_images(avatar, layout) -> dict[str, np.ndarray]:
    """Named float32 images: init, mean_offsets, rectification [S, S, 13], blendmaps [D, S, S, 13],
    neutral (the composed neutral map), valid [S, S] bool, pos_weight [S, S], region [S, S] int16
    (index into head.base.REGION_NAMES, -1 outside), features [S, S] bool."""

    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    img = lambda a, fill=0.0: layout.to_image(t(a).cpu(), fill).numpy()  # noqa: E731
    layout = layout.cpu()
    base = t(avatar.base_maps())
    if avatar.n_blendmaps:
        w = blend_weights(torch.zeros(1, avatar.n_blendmaps), torch.arange(avatar.n_blendmaps))
        neutral = compose_maps(base, t(avatar.blendmaps), w)[0]
    else:
        neutral = base
    return {"init": img(avatar.init), "mean_offsets": img(avatar.mean_offsets),
            "rectification": img(avatar.rectification),
            "blendmaps": img(avatar.blendmaps) if avatar.n_blendmaps else
            np.zeros((0, avatar.uv_size, avatar.uv_size, 13), np.float32),
            "neutral": img(neutral), "valid": layout.valid_mask.numpy(),
            "pos_weight": img(layout.pos_weight[:, None])[..., 0],
            "region": img(layout.region[:, None].float(), -1.0)[..., 0].astype(np.int16),
            "features": img(layout.features[:, None].float())[..., 0] > 0.5}


def write_uv_npz(avatar, path: str | os.PathLike, layout=None) -> Path:
    """Write the UV images of ``avatar`` (plus channel names and blend drivers) atomically."""
    if layout is None:

        layout = Animator(avatar, load_head(avatar.head)).layout
    arrays = uv_images(avatar, layout)
    arrays["channels"] = np.array(["pos_x", "pos_y", "pos_z", "log_scale_0", "log_scale_1", "log_scale_2",
                                   "rot_x", "rot_y", "rot_z", "opacity_logit", "sh_dc_r", "sh_dc_g", "sh_dc_b"])
    arrays["blend_drivers"] = np.array(list(avatar.blend_drivers), dtype="U64").reshape(-1)
    arrays["schema"] = np.array("dejavu.uvmaps/1")
    return save_npz_atomic(path, arrays)
