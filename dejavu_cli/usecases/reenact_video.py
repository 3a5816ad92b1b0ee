"""The reenactment loop: track the driver, transfer its motion, render the avatar batch by batch, encode.

``reenact(avatar_path, driver_path, out_path, cfg)`` is what ``dejavu reenact`` calls. The math lives in
:mod:`dejavu_cli.reenact.transfer`; this module joins the stages (tracking cache, avatar animator, renderer,
video writer) and measures the rendering throughput (animate + splat, without decode and encode).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.export.sequence import frame_path, posed_frames, prepare_frames_folder, write_frame
from dejavu_cli.head.base import HeadParams
from dejavu_cli.head.pose import relative_rotvec
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.outputs import prepare_output
from dejavu_cli.io.video_reader import probe
from dejavu_cli.io.video_writer import write_video
from dejavu_cli.reenact.config import ReenactConfig, validate
from dejavu_cli.reenact.transfer import (
    Motion,
    absolute_transfer,
    frame_positions,
    interpolate_motion,
    relative_transfer,
    smooth_motion,
)
from dejavu_cli.track import api as track_api


@dataclass
class ReenactResult:
    out: Path
    n_frames: int
    fps: float
    size: tuple[int, int]       # (width, height) of the written video
    render_seconds: float       # animate + render, excluding decode and encode
    valid_fraction: float       # driver frames with a face
    has_audio: bool
    frames_dir: Path | None = None   # --frames-out: one splat file per output frame

    @property
    def render_fps(self) -> float:
        return self.n_frames / max(self.render_seconds, 1e-9)


def motion_from_track(track, device=None, dtype=torch.float32) -> tuple[Motion, torch.Tensor]:
    """Driver :class:`Motion` ``[T, ...]`` and ``valid`` ``[T]`` from a tracking result."""
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # noqa: E731
    T = int(np.asarray(track.valid).shape[0])
    jaw = track.jaw if getattr(track, "jaw", None) is not None else np.zeros((T, 3))
    eyes = track.eyes if getattr(track, "eyes", None) is not None else np.zeros((T, 6))
    motion = Motion(t(track.expression), t(jaw), t(eyes), t(track.rotvec), t(track.translation))
    return motion, torch.as_tensor(np.asarray(track.valid), dtype=torch.bool, device=device)


def avatar_neutral(avatar, n_expression: int, device=None, dtype=torch.float32) -> Motion:
    """The avatar's neutral/canonical :class:`Motion` ``[1, ...]`` (zeros where the avatar stores none)."""
    def get(names, n):
        for name in names:
            value = getattr(avatar, name, None)
            if value is not None:
                v = torch.as_tensor(np.asarray(value), dtype=dtype, device=device).reshape(1, -1)
                if v.shape[1] == n:
                    return v
        return torch.zeros(1, n, dtype=dtype, device=device)

    return Motion(get(("neutral_expression",), n_expression), get(("neutral_jaw",), 3),
                  get(("neutral_eyes",), 6), get(("canonical_rotvec",), 3), get(("canonical_translation",), 3))


def driving_motion(track, avatar, n_expression: int, cfg: ReenactConfig, src_fps: float,
                   device=None) -> tuple[Motion, torch.Tensor]:
    """Transferred, smoothed and resampled Motion ``[T_out, ...]`` and source positions ``[T_out]``."""
    driver, valid = motion_from_track(track, device)
    if driver.expression.shape[1] != n_expression:
        raise DejavuError(f"the driver was tracked with {driver.expression.shape[1]} expression coefficients, "
                          f"the avatar's head model has {n_expression}")
    if not bool(valid.any()):
        raise DejavuError("no face was found in any frame of the driver video")
    if cfg.absolute:
        motion = absolute_transfer(driver, valid)
    else:
        motion = relative_transfer(driver, valid, avatar_neutral(avatar, n_expression, device))
    motion = smooth_motion(motion, cfg.smooth)
    pos = frame_positions(len(motion), src_fps, cfg.fps, cfg.start, cfg.duration)
    return interpolate_motion(motion, pos), pos


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """[B, H, W, 3] float in [0, 1] -> uint8 numpy."""
    return (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR)


def reenact(avatar_path: str | Path, driver_path: str | Path, out_path: str | Path,
            cfg: ReenactConfig | None = None, log=print, progress: bool = True) -> ReenactResult:
    """Drive the avatar at ``avatar_path`` with the video ``driver_path``; write an H.264 MP4."""
    cfg = cfg or ReenactConfig()
    validate(cfg)
    avatar_path, driver_path = Path(avatar_path), Path(driver_path)
    out_path = prepare_output(out_path, ".mp4", "video", inputs=(avatar_path, driver_path))
    frames_dir = prepare_frames_folder(cfg.frames_out, cfg.frames_format) if cfg.frames_out else None
    device = resolve_device(cfg.device)
    configure_torch(device)
    avatar = load_avatar(avatar_path)
    info = probe(driver_path)
    head = load_head(avatar.head, device=device)
    track_cfg = track_api.TrackConfig(head=avatar.head, device=device.type)
    track, _, reused = track_api.track_cached(driver_path, track_cfg, progress=progress)
    if reused:
        log("driver tracking reused from the cache")
    src_fps = float(track.fps or info.fps)
    motion, pos = driving_motion(track, avatar, head.n_expression, cfg, src_fps, device)
    fps = cfg.fps if cfg.fps > 0 else src_fps
    valid = np.asarray(track.valid, dtype=bool)
    log(f"driver: {len(valid)} frames at {src_fps:.2f} fps, face in {valid.mean():.0%}; rendering "
        f"{len(motion)} frames at {cfg.size}x{cfg.size} on {device.type}")

    animator = Animator(avatar, head, device)
    rest = avatar_neutral(avatar, head.n_expression, device).rotvec
    render_seconds = 0.0
    src_idx = pos.round().long().tolist()

    bar = tqdm(total=len(motion), desc="reenact", unit="frame", leave=False, disable=not progress)

    def frames():
        nonlocal render_seconds
        for b0 in range(0, len(motion), cfg.batch):
            chunk = motion.slice(b0, b0 + cfg.batch)
            t0 = time.perf_counter()
            with torch.no_grad():   # the model-space Gaussians, shared by the render and the frame files
                raw = animator.raw(motion_params(head, chunk))
            rgb = render_motion(animator, chunk, cfg.size, cfg.background, raw=raw)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            render_seconds += time.perf_counter() - t0
            if frames_dir is not None:
                for i, g in enumerate(posed_frames(raw, relative_rotvec(chunk.rotvec, rest))):
                    write_frame(g, frame_path(frames_dir, b0 + i, cfg.frames_format), cfg.frames_format)
            imgs = _to_uint8(rgb)
            if cfg.side_by_side:
                idx = src_idx[b0:b0 + cfg.batch]
                crops = track_api.read_crops(driver_path, track, idx)
                imgs = np.concatenate([np.stack([_resize(c, cfg.size) for c in crops]), imgs], axis=2)
            bar.update(len(imgs))
            yield from imgs

    width = cfg.size * (2 if cfg.side_by_side else 1)
    audio = driver_path if info.has_audio else None
    try:
        write_video(out_path, frames(), fps, (width, cfg.size), audio_from=audio, audio_start=cfg.start)
    finally:
        bar.close()
    return ReenactResult(out_path, len(motion), fps, (width, cfg.size), render_seconds, float(valid.mean()),
                         audio is not None, frames_dir)


def motion_params(head, motion: Motion) -> HeadParams:
    """Head-model parameters [B, ...] of a chunk of Motion (jaw and eyes only where the model has them)."""
    return HeadParams(expression=motion.expression, jaw=motion.jaw if head.has_jaw else None,
                      eyes=motion.eyes if head.has_eyes else None)


def render_motion(animator, motion: Motion, size: int, background: str = "white", raw: dict | None = None
                  ) -> torch.Tensor:
    """Render a chunk of Motion ``[B, ...]`` with the avatar's camera -> rgb ``[B, size, size, 3]`` (``raw``:
    ``animator.raw`` of the chunk when the caller has it)."""
    head = animator.head
    params = motion_params(head, motion)
    bg = torch.full((3,), 1.0 if background == "white" else 0.0, device=animator.device)
    with torch.no_grad():
        return animator.render(params, motion.rotvec, motion.translation, size=size, background=bg, raw=raw).rgb
