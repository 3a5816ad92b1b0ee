"""Training data of the reconstruction network: multi-view identities and single-view images.

Folder format (docs/recon-training.md)::

    DATA/
      multiview/<identity>/<view>.png      several views of one person (same expression), any names
      multiview/<identity>/<view>.track.npz   `dejavu track <view>.png -o <view>.track.npz` (one row)
      single/<name>.jpg + single/<name>.track.npz   in-the-wild images, one per person

Images: .png/.jpg/.jpeg/.webp. Each view is the tracker's crop of its image (``crop_boxes[0]`` at ``size``);
the target is that crop with everything but the head (person mask, below-the-jaw cut of
``fit.targets``) set to white, as the video stage does. Views are indexed at start (parameters only)
and their images prepared on first use, keeping at most ``cache`` prepared views in memory.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.fit.targets import head_keep_masks
from dejavu_cli.head.registry import load_head
from dejavu_cli.track import api as track_api

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class View:
    image: Path
    track: Path
    group: int            # identity index (multi-view) or -1 (single-view)
    identity: np.ndarray  # [n_id]
    expression: np.ndarray
    jaw: np.ndarray
    eyes: np.ndarray
    rotvec: np.ndarray
    transl: np.ndarray
    K: np.ndarray         # [3, 3] crop pixels
    viewmat: np.ndarray   # [4, 4]
    box: np.ndarray       # [3] crop box in source pixels
    size: int             # crop size
    person: np.ndarray    # bool [m, m] person mask at the tracking file's mask size


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _track_of(image: Path) -> Path:
    return image.with_name(image.stem + ".track.npz")


def _view(image: Path, group: int, head_name: str | None) -> tuple[View, str] | None:
    tp = _track_of(image)
    if not tp.exists():
        raise DejavuError(f"{image}: no tracking file {tp.name} next to it (run `dejavu track {image.name} "
                          f"-o {tp.name}`)")
    tr = track_api.load_track(tp)
    if tr.T < 1 or not bool(tr.valid[0]):
        return None  # no face found: skipped
    if head_name is not None and tr.head != head_name:
        raise DejavuError(f"{tp}: tracked with head {tr.head!r}, the rest of the dataset with {head_name!r}")
    f32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    return View(image=image, track=tp, group=group, identity=f32(tr.identity), expression=f32(tr.expression[0]),
                jaw=f32(tr.jaw[0]), eyes=f32(tr.eyes[0]), rotvec=f32(tr.rotvec[0]), transl=f32(tr.translation[0]),
                K=f32(tr.K), viewmat=f32(tr.viewmat), box=f32(tr.crop_boxes[0]), size=int(tr.size),
                person=track_api.person_masks(tr, [0])[0]), tr.head


class ReconDataset:
    """Index of a training folder; :meth:`images` returns prepared (input crop, target) pairs."""
    def __init__(self, root: str | os.PathLike, cache: int = 4096):
        root = Path(root)
        if not root.is_dir():
            raise DejavuError(f"training data folder not found: {root}")
        self.root, self.cache_size = root, cache
        self.views: list[View] = []
        self.head: str | None = None
        self.groups: list[list[int]] = []     # multi-view identities: view indices (>= 2 each)
        self.single: list[int] = []
        skipped = 0
        mv = root / "multiview"
        for folder in sorted(p for p in mv.iterdir() if p.is_dir()) if mv.is_dir() else []:
            idx = []
            for img in _image_files(folder):
                got = _view(img, len(self.groups), self.head)
                if got is None:
                    skipped += 1
                    continue
                self.head = got[1]
                idx.append(len(self.views))
                self.views.append(got[0])
            if len(idx) >= 2:
                self.groups.append(idx)
            elif idx:  # a lone usable view trains like a single image
                self.views[idx[0]].group = -1
                self.single += idx
        sv = root / "single"
        for img in _image_files(sv) if sv.is_dir() else []:
            got = _view(img, -1, self.head)
            if got is None:
                skipped += 1
                continue
            self.head = got[1]
            self.single.append(len(self.views))
            self.views.append(got[0])
        self.skipped = skipped
        if not self.views:
            raise DejavuError(f"{root}: no usable images (expected multiview/<identity>/*.png and/or single/*.png "
                              f"with .track.npz files; see docs/recon-training.md)")
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._head_model = None

    def summary(self) -> str:
        n_mv = sum(len(g) for g in self.groups)
        return (f"{len(self.groups)} multi-view identities ({n_mv} views), {len(self.single)} single images, "
                f"head {self.head!r}" + (f", {self.skipped} skipped (no face)" if self.skipped else ""))

    def head_model(self):
        if self._head_model is None:

            self._head_model = load_head(self.head, device="cpu")
        return self._head_model

    def _prepare(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(crop uint8 [S, S, 3], target uint8 [S, S, 3] with white background) of view ``i``."""
        v = self.views[i]
        bgr = cv2.imread(str(v.image), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DejavuError(f"cannot read image {v.image}")
        crop = track_api.crop_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), v.box, v.size)
        t = lambda x: torch.as_tensor(x)[None]  # noqa: E731
        keep = head_keep_masks(self.head_model(), torch.as_tensor(v.identity), t(v.expression), t(v.jaw),
                               t(v.eyes), t(v.rotvec), t(v.transl), torch.as_tensor(v.viewmat),
                               torch.as_tensor(v.K), v.size)[0]
        keep &= track_api.resize_masks(v.person, v.size)
        target = np.where(keep[..., None], crop, 255).astype(np.uint8)
        return crop, target

    def images(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 crops and targets [B, S, S, 3] of views ``idx`` (all views share one crop size)."""
        out = []
        for i in (int(j) for j in idx):
            if i in self._cache:
                self._cache.move_to_end(i)
            else:
                self._cache[i] = self._prepare(i)
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            out.append(self._cache[i])
        sizes = {c.shape[0] for c, _ in out}
        if len(sizes) > 1:

            s = max(sizes)
            out = [(c, g) if c.shape[0] == s else (cv2.resize(c, (s, s), interpolation=cv2.INTER_LINEAR),
                                                   cv2.resize(g, (s, s), interpolation=cv2.INTER_LINEAR))
                   for c, g in out]
        return (torch.from_numpy(np.stack([c for c, _ in out])), torch.from_numpy(np.stack([g for _, g in out])))

    def params(self, idx, key: str) -> torch.Tensor:
        """Stacked per-view parameter ``key`` (identity, expression, jaw, eyes, rotvec, transl, K, viewmat),
        K rescaled to a common crop size when sizes differ."""
        vals = [getattr(self.views[int(i)], key) for i in idx]
        if key == "K":
            s = max(self.views[int(i)].size for i in idx)
            vals = [np.concatenate([k[:2] * (s / self.views[int(i)].size), k[2:]]) for k, i in zip(vals, idx)]
        return torch.as_tensor(np.stack(vals), dtype=torch.float32)

    def crop_size(self, idx) -> int:
        return max(self.views[int(i)].size for i in idx)


def sample_multiview(groups: list[list[int]], batch: int, views: int, gen: torch.Generator
                     ) -> tuple[list[int], list[int], list[int]]:
    """(input views [B], target views [B], group id [B]) for a multi-view batch.

    ``batch // views`` identities (at least 1), ``views`` views each (fewer if an identity has fewer);
    within an identity every input is paired with a random permutation of the same views (paper §3.3).
    """
    n_ids = max(1, batch // max(1, views))
    ids = torch.randint(len(groups), (n_ids,), generator=gen).tolist()
    inputs, targets, gid = [], [], []
    for k, g in enumerate(ids):
        members = groups[g]
        take = torch.randperm(len(members), generator=gen)[:views].tolist()
        chosen = [members[j] for j in take]
        perm = torch.randperm(len(chosen), generator=gen).tolist()
        inputs += chosen
        targets += [chosen[j] for j in perm]
        gid += [k] * len(chosen)
    return inputs, targets, gid
