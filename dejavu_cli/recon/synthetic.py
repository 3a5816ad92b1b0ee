"""A synthetic training folder for the reconstruction network (tests, smoke runs, benchmarks).

Every identity is a random "true" avatar of a head model (``fit.synthetic.make_problem``: random
identity coefficients, colour pattern, pose sweep) rendered from ``views`` poses; each view is written as
``multiview/id<k>/v<j>.png`` with its one-row tracking file, in the folder format of docs/recon-training.md.
``single`` extra identities contribute their first view to ``single/``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np

from dejavu_cli.fit.synthetic import make_problem
from dejavu_cli.track.api import save_track


def _one_row(track, j: int):
    """The TrackResult of row ``j`` only."""
    kw = {}
    for f in dataclasses.fields(track):
        v = getattr(track, f.name)
        if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == track.T and f.name not in (
                "K", "viewmat", "source_size", "identity", "fit_ids"):
            v = v[j:j + 1]
        kw[f.name] = v
    kw["n_frames"], kw["frames"] = 1, np.zeros(1, np.int64)
    return type(track)(**kw)


def make_dataset(root: str | os.PathLike, head, identities: int = 3, views: int = 4, single: int = 0,
                 size: int = 32, uv_size: int = 16, seed: int = 0) -> Path:
    """Write a synthetic training folder; returns ``root``."""
    root = Path(root)
    for k in range(identities + single):
        track, crops, _ = make_problem(head, uv_size=uv_size, size=size, n_frames=views, seed=seed + k)
        folder = root / "multiview" / f"id{k:03d}" if k < identities else root / "single"
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(views if k < identities else 1):
            name = f"v{j}" if k < identities else f"id{k:03d}"
            cv2.imwrite(str(folder / f"{name}.png"), cv2.cvtColor(crops[j], cv2.COLOR_RGB2BGR))
            save_track(folder / f"{name}.track.npz", _one_row(track, j))
    return root
