"""The run report of ``dejavu create``: ``AVATAR.report.json`` and ``AVATAR.report.png``.

The PNG shows the loss curves (and held-out PSNR when evaluated during training) above a strip of
held-out frames, ground truth beside render. Matplotlib runs with the Agg backend (no display).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dejavu_cli.io.atomic import atomic_path

REQUIRED_KEYS = ("psnr", "ssim", "lpips", "heldout_frames", "train_frames", "seconds_total", "seconds_stage1",
                 "seconds_stage2", "device", "gaussians", "preset", "colour_init")


def report_paths(output: str | Path) -> tuple[Path, Path]:
    """``a.npz`` -> (``a.report.json``, ``a.report.png``)."""
    output = Path(output)
    stem = output.name[:-4] if output.name.endswith(".npz") else output.name
    return output.with_name(stem + ".report.json"), output.with_name(stem + ".report.png")


def write_json(path: str | Path, report: dict, atomic: bool = True) -> Path:
    """Write ``report`` as indented JSON, atomically unless ``atomic=False`` (the caller's temp file; numpy
    scalars converted)."""
    missing = [k for k in REQUIRED_KEYS if k not in report]
    if missing:
        raise KeyError(f"report lacks {missing}")
    text = json.dumps(report, indent=2, default=_plain) + "\n"
    if not atomic:
        Path(path).write_text(text)
        return Path(path)
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(text)
    return Path(path)


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def write_png(path: str | os.PathLike, history: dict[str, list], gt: np.ndarray | None, pred: np.ndarray | None,
              title: str = "", max_frames: int = 4, atomic: bool = True) -> Path:
    """Loss curves + held-out frames (ground truth above render, cropped to the non-white content).

    history: ``step`` [T] and loss series of the same length (``total``, ``l1``, ``ssim``, ``pos``,
    ``scale``: unweighted terms), optional ``stage_split``. gt, pred: held-out frames uint8 or float
    ``[F, H, W, 3]`` (or None); ``max_frames`` evenly spaced ones are shown. ``atomic=False``: write
    ``path`` directly (a temp file of the caller's).
    """
    import matplotlib  # lazy: ~0.5 s of import, only the report PNG needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 0 if gt is None else min(max_frames, len(gt))
    fig = plt.figure(figsize=(11, 4 + (5.6 if n else 0)), dpi=100)
    grid = fig.add_gridspec(3 if n else 1, max(n, 1), height_ratios=[1.0, 1.1, 1.1] if n else [1.0])
    ax = fig.add_subplot(grid[0, :])
    steps = np.asarray(history.get("step", []))
    for key in ("total", "l1", "ssim", "pos", "scale"):
        if key in history and len(history[key]) == len(steps) and len(steps):
            ax.plot(steps, history[key], label=key if key == "total" else f"{key} (unweighted)", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if history.get("stage_split"):
        ax.axvline(history["stage_split"], color="grey", ls="--", lw=0.8, label="stage 1 | stage 2")
    ax.legend(loc="upper right", fontsize=7, ncol=3)
    ax.set_title(title, fontsize=9)
    if n:
        pick = np.linspace(0, len(gt) - 1, n).round().astype(int)
        g, p = _to_uint8(np.asarray(gt)[pick]), _to_uint8(np.asarray(pred)[pick])
        r0, r1, c0, c1 = _content_box(np.concatenate([g, p]))
        for i in range(n):
            for row, (img, name) in enumerate(((g[i], "ground truth"), (p[i], "render")), start=1):
                a = fig.add_subplot(grid[row, i])
                a.imshow(img[r0:r1, c0:c1], interpolation="nearest")
                a.set_title(f"held-out {pick[i]}: {name}", fontsize=8)
                a.axis("off")
    fig.tight_layout()
    try:
        if not atomic:
            fig.savefig(path, format="png")
        else:
            with atomic_path(path, suffix=".png") as tmp:
                fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def _content_box(imgs: np.ndarray, margin: int = 2) -> tuple[int, int, int, int]:
    """Rows/cols (r0, r1, c0, c1) holding every non-white pixel of uint8 images [F, H, W, 3]."""
    ink = (imgs < 250).any(-1).any(0)
    H, W = ink.shape
    if not ink.any():
        return 0, H, 0, W
    rows, cols = np.where(ink.any(1))[0], np.where(ink.any(0))[0]
    return (max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, H), max(cols[0] - margin, 0),
            min(cols[-1] + 1 + margin, W))


def _to_uint8(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
