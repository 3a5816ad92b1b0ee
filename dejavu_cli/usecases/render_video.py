"""Render an avatar to an MP4: a turntable orbit or the fixed tracking view, batched over frames."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.video_writer import write_video
from dejavu_cli.render.api import render
from dejavu_cli.render.camera import orbit_viewmats
from dejavu_cli.usecases.config import RenderConfig


def render_avatar_video(avatar_path, out_path, cfg: RenderConfig, progress: bool = True) -> dict:
    """Write the MP4 and return {frames, fps, size, gaussians, device}."""
    if cfg.size < 16 or cfg.size % 2:
        raise DejavuError(f"--size must be an even number >= 16, got {cfg.size}")
    if cfg.frames < 1 or cfg.batch < 1:
        raise DejavuError("--frames and --batch must be >= 1")
    if cfg.background not in ("white", "black"):
        raise DejavuError(f"--background must be white or black, got {cfg.background!r}")
    avatar_path, out_path = Path(avatar_path), Path(out_path)
    if out_path.resolve() == avatar_path.resolve():
        raise DejavuError(f"refusing to overwrite the input {avatar_path}")
    device = resolve_device(cfg.device)
    configure_torch(device)
    avatar = load_avatar(avatar_path)
    animator = Animator(avatar, load_head(avatar.head, device=device), device)
    params = animator.neutral(1)
    if cfg.expression != "neutral":
        params.expression[0, animator.expression_index(cfg.expression)] = 1.0
    with torch.no_grad():
        g = animator.gaussians(params)
    bg = torch.full((3,), 1.0 if cfg.background == "white" else 0.0, device=device)
    K = torch.as_tensor(avatar.intrinsics(cfg.size), device=device)
    if cfg.turntable:
        lo, hi = g["means"][0].min(0).values, g["means"][0].max(0).values
        centre = tuple(((lo + hi) / 2).tolist())
        views = orbit_viewmats(cfg.frames, avatar.distance, 360.0, cfg.elevation, centre, device=device)
    else:
        views = torch.as_tensor(avatar.viewmat, device=device)[None]            # one view, repeated

    def frames():
        cache = None
        with tqdm(total=cfg.frames, desc="render", unit="frame", disable=not progress, leave=False) as bar:
            for b0 in range(0, cfg.frames, cfg.batch):
                B = min(cfg.batch, cfg.frames - b0)
                if cfg.turntable or cache is None:

                    vm = views[b0:b0 + B] if cfg.turntable else views.expand(1, 4, 4)
                    n = vm.shape[0]
                    with torch.no_grad():
                        out = render(*(g[k].expand(n, *g[k].shape[1:]) for k in
                                       ("means", "quats", "scales", "opacities", "colors")),
                                     vm, K.expand(n, 3, 3), cfg.size, cfg.size, background=bg)
                    imgs = (out.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
                    cache = imgs[:1]
                else:
                    imgs = np.repeat(cache, B, 0)
                bar.update(B)
                yield from imgs

    write_video(out_path, frames(), cfg.fps, (cfg.size, cfg.size))
    return {"frames": cfg.frames, "fps": cfg.fps, "size": cfg.size, "gaussians": avatar.n_gaussians,
            "device": device.type, "turntable": cfg.turntable, "orbit_step_deg": 360.0 / cfg.frames,
            "fov_deg": avatar.fov_deg, "distance": avatar.distance if cfg.turntable else math.nan}
