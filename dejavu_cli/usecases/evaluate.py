"""``dejavu evaluate``: score an avatar against a video's tracked frames (the create report's rule)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.fit.frames import parse_frames
from dejavu_cli.fit.losses import make_lpips
from dejavu_cli.fit.scoring import score_frames
from dejavu_cli.head.registry import load_head
from dejavu_cli.track import api as track_api


def evaluate_avatar(avatar_path, video, track_file=None, frames: str | None = None, size: int = 512,
                    device: str = "auto", batch: int = 4, progress: bool = True, log=print) -> dict:
    """``{"psnr", "ssim", "lpips", "size", "frames": [{"index", "psnr", "ssim"}, ...]}`` of the avatar on
    ``video``'s tracked rows ``frames`` (a SPEC, default every row with a face), rendered at ``size``."""
    if not 16 <= int(size) <= 4096:
        raise DejavuError(f"--size must be 16-4096 (got {size})")
    video = Path(video)
    if not video.is_file():
        raise DejavuError(f"video not found: {video}")
    dev = resolve_device(device)
    configure_torch(dev)
    avatar = load_avatar(avatar_path)
    track, path, reused = track_api.read_track_or_video(
        video, track_file, track_api.TrackConfig(head=avatar.head, device=dev.type), progress=progress)
    if track.head != avatar.head:
        raise DejavuError(f"{path} was tracked with head {track.head!r}, the avatar uses {avatar.head!r}")
    rows = parse_frames(frames, track.T) if frames else np.arange(track.T)
    rows = rows[np.asarray(track.valid)[rows]]
    if len(rows) == 0:
        raise DejavuError("none of the selected frames has a tracked face")
    log(f"scoring {len(rows)} frames of {video.name} at {size}x{size}")
    crops = track_api.read_crops(video, track, rows, progress=progress)
    animator = Animator(avatar, load_head(avatar.head, device=dev), dev)
    res = score_frames(animator, track, crops, rows, size=size, batch=batch, lpips_fn=make_lpips(dev),
                       progress=progress)
    return {k: res[k] for k in ("psnr", "ssim", "lpips", "size", "frames")}
