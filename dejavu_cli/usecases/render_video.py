"""Render an avatar to an MP4: a turntable orbit or the fixed tracking view, batched over frames."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.config import check_config
from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.outputs import prepare_output, video_bytes_estimate
from dejavu_cli.io.video_writer import write_video
from dejavu_cli.render.api import render
from dejavu_cli.render.camera import orbit_viewmats
from dejavu_cli.usecases.config import RenderConfig
from dejavu_cli.usecases.contact_sheet import contact_sheet, write_contact_sheet


def render_avatar_video(avatar_path, out_path, cfg: RenderConfig, progress: bool = True) -> dict:
    """Write the MP4 and return {output, frames, fps, size, gaussians, device}."""
    check_config(cfg)
    if cfg.size % 2:
        raise DejavuError(f"--size must be even (H.264), got {cfg.size}")
    avatar_path = Path(avatar_path)
    out_path = prepare_output(out_path, ".mp4", "video", inputs=(avatar_path,),
                              need_bytes=video_bytes_estimate(cfg.frames, cfg.size, cfg.size))
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
    return {"output": out_path, "frames": cfg.frames, "fps": cfg.fps, "size": cfg.size, "gaussians": avatar.n_gaussians,
            "device": device.type, "turntable": cfg.turntable, "orbit_step_deg": 360.0 / cfg.frames,
            "fov_deg": avatar.fov_deg, "distance": avatar.distance if cfg.turntable else math.nan}


def render_contact_sheet(avatar_path, out_path, size: int = 512, device: str = "auto",
                         background: float = 1.0) -> dict:
    """Write the contact sheet PNG (``usecases.contact_sheet``); returns {output, width, height, ...}."""
    if not 16 <= size <= 2048:
        raise DejavuError(f"--size must be 16-2048 for a contact sheet (got {size})")
    avatar_path = Path(avatar_path)
    out_path = prepare_output(out_path, ".png", "contact sheet", inputs=(avatar_path,))
    dev = resolve_device(device)
    configure_torch(dev)
    avatar = load_avatar(avatar_path)
    img = contact_sheet(Animator(avatar, load_head(avatar.head, device=dev), dev), size, background)
    write_contact_sheet(out_path, img)
    return {"output": out_path, "width": img.shape[1], "height": img.shape[0], "gaussians": avatar.n_gaussians,
            "device": dev.type}
