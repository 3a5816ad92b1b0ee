"""Single-photo avatar (``dejavu reconstruct``): track one image, optional network offsets, short fit.

The photo is tracked as a one-frame video (``track.api.track_video``; ffmpeg reads stills). The
video-stage optimizer of ``create`` then runs on that single frame: the network's offsets (when a
checkpoint is given) are the mean offsets, stage 1 only (one expression: no blendmaps), with the paper's
position and scale regularizers keeping the unseen sides close to the head model. The optimizer needs a
held-out frame, so the row is duplicated; the reported PSNR/SSIM are therefore measured on the input photo
(a fitting score, not a novel-view score).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import cv2
import numpy as np

from dejavu_cli.create.run import create_avatar
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.outputs import prepare_output
from dejavu_cli.recon.checkpoint import load_checkpoint
from dejavu_cli.recon.infer import mean_offsets_from_track
from dejavu_cli.track import api as track_api
from dejavu_cli.uv.layout import build_layout


def duplicate_row(track, n: int = 2):
    """The one-row ``track`` repeated ``n`` times (all per-frame arrays tiled)."""
    kw = {}
    for f in dataclasses.fields(track):
        v = getattr(track, f.name)
        if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == 1 and f.name not in (
                "identity", "fit_ids", "source_size"):
            v = np.repeat(v, n, axis=0)
        kw[f.name] = v
    kw["n_frames"] = n
    kw["frames"] = np.zeros(n, np.int64)
    return type(track)(**kw)


def reconstruct_photo(photo: str | os.PathLike, output: str | os.PathLike, cfg, progress: bool = True,
                      log=print):
    """Avatar from one photo; returns (avatar, report). ``cfg`` is a ``create.config.CreateConfig``
    (``stage1_fraction`` is forced to 1: a single expression has nothing for blendmaps to learn)."""

    photo = Path(photo)
    if not photo.is_file():
        raise DejavuError(f"photo not found: {photo}")
    output = prepare_output(output, ".npz", "avatar", inputs=(photo,))
    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DejavuError(f"cannot read {photo} as an image")
    if cfg.checkpoint:  # refuse a checkpoint for another layout before spending time on tracking

        load_checkpoint(cfg.checkpoint, build_layout(load_head(cfg.head), cfg.uv_size))
    device = "cuda" if cfg.device == "cuda" else "cpu"
    track = track_api.track_video(photo, track_api.TrackConfig(head=cfg.head, device=device), progress=progress)
    if track.T != 1:
        raise DejavuError(f"{photo} decoded to {track.T} frames; `reconstruct` takes a single still image "
                          f"(use `create` for videos)")
    if not bool(track.valid[0]):
        raise DejavuError(f"no face found in {photo}")
    log(f"tracked {photo.name}: head {track.head}, landmark error {float(track.landmark_error[0]):.2f} px")
    crop = track_api.crop_image(track, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    crops = np.repeat(crop[None], 2, axis=0)
    cfg = dataclasses.replace(cfg, stage1_fraction=1.0, heldout_fraction=0.5)
    offsets_fn = functools.partial(mean_offsets_from_track, cfg.checkpoint) if cfg.checkpoint else None
    avatar, report = create_avatar(duplicate_row(track), photo, cfg, output, crops=crops, progress=progress,
                                   offsets_fn=offsets_fn)
    report["output"] = str(output)
    return avatar, report
