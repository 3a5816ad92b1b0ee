"""Scoring an avatar against tracked video frames at any resolution: the rule create's report and
``dejavu evaluate`` share.

The avatar is driven by the frames' tracked parameters (expression, jaw, eyes, head pose), rendered with the
tracking camera scaled to ``size``, and compared with the same targets create trains on (crop over white
outside the person mask and the head's hair shell, ``targets.video_targets``). Only filmed pixels count:
PSNR averages over the pixels inside the source frame, SSIM (and LPIPS) see the unfilmed pixels replaced
by the target's (``losses.observed``).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from dejavu_cli.fit import losses
from dejavu_cli.fit.targets import scale_intrinsics, video_targets
from dejavu_cli.head.base import HeadParams
from dejavu_cli.track import api as track_api


def frame_params(animator, track, rows: np.ndarray) -> tuple[HeadParams, torch.Tensor, torch.Tensor]:
    """Head parameters, rotvec [n, 3] and translation [n, 3] of track ``rows`` on the animator's device."""
    t = lambda x: torch.as_tensor(np.asarray(x)[rows], dtype=torch.float32, device=animator.device)  # noqa: E731
    head = animator.head
    params = animator.neutral(len(rows))
    params.expression = t(track.expression)
    if head.has_jaw:
        params.jaw = t(track.jaw)
    if head.has_eyes:
        params.eyes = t(track.eyes)
    return params, t(track.rotvec), t(track.translation)


def score_frames(animator, track, crops: np.ndarray, rows: np.ndarray, size: int = 512, batch: int = 4,
                 lpips_fn=None, progress: bool = False, keep_renders: int = 0) -> dict:
    """PSNR/SSIM (LPIPS when ``lpips_fn``) of the avatar on track ``rows`` at ``size`` x ``size``.

    crops uint8 [n, S, S, 3] of those rows (``track.api.read_crops``). Returns ``{"psnr", "ssim", "lpips",
    "size", "frames": [{"index", "psnr", "ssim"}], "renders", "targets"}`` (the last two: uint8 arrays of
    at most ``keep_renders`` evenly spaced frames, for report pictures)."""
    rows = np.asarray(rows, dtype=np.int64)
    targets = video_targets(track, crops, rows, animator.head, size)
    cx, cy = track_api.coverage(track, size)
    K = scale_intrinsics(torch.as_tensor(np.asarray(track.K), dtype=torch.float32), int(track.size), size)
    V = torch.as_tensor(np.asarray(track.viewmat), dtype=torch.float32, device=animator.device)
    keep = set(np.linspace(0, len(rows) - 1, keep_renders).round().astype(int).tolist()) if keep_renders else set()
    per, lp, renders, kept_targets = [], [], [], []
    bar = tqdm(total=len(rows), desc=f"scoring at {size}px", unit="frame", disable=not progress, leave=False)
    with torch.no_grad(), bar:
        for s in range(0, len(rows), batch):
            sl = rows[s:s + batch]
            n = len(sl)
            params, rotvec, transl = frame_params(animator, track, sl)
            out = animator.render(params, rotvec, transl, V.expand(n, 4, 4), K.to(animator.device).expand(n, 3, 3),
                                  size=size)
            rgb = out.rgb.clamp(0, 1)
            tgt = torch.as_tensor(targets[s:s + n], device=animator.device).float() / 255.0
            w = torch.as_tensor(cy[sl][:, :, None, None] * cx[sl][:, None, :, None], dtype=torch.float32,
                                device=animator.device)                                    # [n, R, R, 1]
            w = None if bool((w >= 1).all()) else w
            seen = losses.observed(rgb, tgt, w)
            for i in range(n):
                per.append({"index": int(sl[i]),
                            "psnr": float(losses.psnr(rgb[i:i + 1], tgt[i:i + 1], None if w is None else w[i:i + 1])),
                            "ssim": float(losses.ssim(seen[i:i + 1], tgt[i:i + 1]))})
                if s + i in keep:
                    renders.append((rgb[i] * 255 + 0.5).to(torch.uint8).cpu().numpy())
                    kept_targets.append(targets[s + i])
            if lpips_fn is not None:
                lp.append(float(lpips_fn(seen, tgt)) * n)
            bar.update(n)
    return {"psnr": float(np.mean([f["psnr"] for f in per])), "ssim": float(np.mean([f["ssim"] for f in per])),
            "lpips": float(np.sum(lp) / len(rows)) if lp else None, "size": int(size), "frames": per,
            "renders": np.stack(renders) if renders else None,
            "targets": np.stack(kept_targets) if kept_targets else None}
