"""A contact sheet of an avatar: what a user sees from every side and in expressions the video never showed.

Top row: the neutral avatar from 0, 45, 90, 135 and 180 degrees around the head (turntable, camera at the
avatar's tracking distance, looking at the head's centre). Bottom row: the front view at neutral and at
four expression presets (``avatar.expressions``). One uint8 image; PNG via ``write_contact_sheet``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.expressions import preset_expression
from dejavu_cli.io.atomic import atomic_path
from dejavu_cli.render.camera import yaw_viewmats

ANGLES = (0, 45, 90, 135, 180)
EXPRESSIONS = ("neutral", "smile", "surprise", "frown", "blink")


def contact_sheet(animator: Animator, size: int = 512, background: float = 1.0) -> np.ndarray:
    """uint8 ``[2 * size, 5 * size, 3]``: turntable angles on top, expressions below (module docstring)."""
    dev = animator.device
    bg = torch.full((3,), float(background), device=dev)
    K = torch.as_tensor(animator.avatar.intrinsics(size), device=dev)
    with torch.no_grad():
        g = animator.gaussians(animator.neutral(1))
        lo, hi = g["means"][0].min(0).values, g["means"][0].max(0).values
        centre = tuple(((lo + hi) / 2).tolist())
        views = yaw_viewmats(ANGLES, animator.avatar.distance, 0.0, centre, dev)
        top = [animator.render(animator.neutral(1), viewmats=views[i:i + 1], Ks=K[None], size=size,
                               background=bg).rgb[0] for i in range(len(ANGLES))]
        names = list(animator.head.expression_names)
        bottom = []
        for name in EXPRESSIONS:
            p = animator.neutral(1)
            if name != "neutral":
                p.expression = preset_expression(names, name).to(dev)[None]
            bottom.append(animator.render(p, viewmats=views[:1], Ks=K[None], size=size, background=bg).rgb[0])
    rows = [torch.cat(top, 1), torch.cat(bottom, 1)]
    img = (torch.cat(rows, 0).clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    for j, label in enumerate([f"{a} deg" for a in ANGLES]):
        _label(img, label, j * size, 0, size)
    for j, label in enumerate(EXPRESSIONS):
        _label(img, label, j * size, size, size)
    return img


def _label(img: np.ndarray, text: str, x: int, y: int, size: int) -> None:
    scale = max(0.4, size / 512 * 0.8)
    cv2.putText(img, text, (x + 8, y + int(28 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 2, cv2.LINE_AA)


def write_contact_sheet(path: str | Path, img: np.ndarray) -> Path:
    """Write ``img`` (uint8 RGB) as a PNG, atomically."""
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(img[..., ::-1])):
            raise OSError(f"could not encode {path}")
    return path
