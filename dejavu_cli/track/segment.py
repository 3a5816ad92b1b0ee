"""Person/background masks: MediaPipe 0.10.21 ``solutions.selfie_segmentation`` on each crop.

Masks are stored as packed bits at half the crop resolution: ``uint8 [T, m, ceil(m / 8)]`` with
``m = size // 2`` (bit order big-endian along x, ``np.packbits``), ~1 kB per frame after NPZ compression.
"""

from __future__ import annotations

import numpy as np

from dejavu_cli.errors import DejavuError


class PersonSegmenter:
    """Selfie segmentation (general 256x256 model) of crops; :meth:`mask` -> float probability [S, S]."""

    def __init__(self):
        from dejavu_cli.track.landmarks import _quiet_mediapipe

        _quiet_mediapipe()
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover
            raise DejavuError(f"mediapipe 0.10.21 is needed for tracking: {exc}") from None
        with denormals_kept():  # XNNPack fails to allocate its graph when denormals are flushed
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._seg.process(np.zeros((64, 64, 3), np.uint8))

    def mask(self, crop: np.ndarray) -> np.ndarray:
        """Person probability ``float32 [S, S]`` in [0, 1] for a uint8 RGB crop ``[S, S, 3]``."""
        out = self._seg.process(np.ascontiguousarray(crop)).segmentation_mask
        return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)

    def close(self) -> None:
        self._seg.close()


class denormals_kept:
    """Context for setting up a MediaPipe graph: temporarily disable torch's flush-denormal mode (XNNPack
    fails to allocate its graph with it on, e.g. under the test suite's ``torch.set_flush_denormal(True)``)
    and silence the C++ log lines MediaPipe prints on stderr while it starts (file descriptor 2)."""

    def __enter__(self):
        import os
        import sys

        import torch

        self._was_on = float((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item()) == 0.0
        if self._was_on:
            torch.set_flush_denormal(False)
        self._saved_fd = None
        if os.environ.get("DEJAVU_DEBUG") is None:
            try:
                sys.stderr.flush()
                self._saved_fd = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            except OSError:
                self._saved_fd = None
        return self

    def __exit__(self, *exc):
        import os

        if self._saved_fd is not None:
            os.dup2(self._saved_fd, 2)
            os.close(self._saved_fd)
        if self._was_on:
            import torch

            torch.set_flush_denormal(True)


def pack_mask(prob: np.ndarray, mask_size: int, threshold: float = 0.5) -> np.ndarray:
    """Probability [S, S] -> packed bits ``uint8 [m, ceil(m/8)]`` at ``mask_size`` m (area-averaged)."""
    import cv2

    small = cv2.resize(prob.astype(np.float32), (mask_size, mask_size), interpolation=cv2.INTER_AREA)
    return np.packbits(small >= threshold, axis=-1)


def unpack_masks(packed: np.ndarray, mask_size: int, size: int | None = None) -> np.ndarray:
    """Packed ``[..., m, ceil(m/8)]`` -> bool ``[..., m, m]``, or ``[..., size, size]`` (nearest) if given."""
    bits = np.unpackbits(packed, axis=-1)[..., :mask_size].astype(bool)
    if size is None or size == mask_size:
        return bits
    idx = (np.arange(size) * mask_size) // size
    return bits[..., idx, :][..., :, idx]
