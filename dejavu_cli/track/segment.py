"""Person/background masks: MediaPipe 0.10.21 ``solutions.selfie_segmentation`` on each crop.

Masks are stored as packed bits at half the crop resolution: ``uint8 [T, m, ceil(m / 8)]`` with
``m = size // 2`` (bit order big-endian along x, ``np.packbits``), ~1 kB per frame after NPZ compression.
"""

from __future__ import annotations

import cv2
import numpy as np

from dejavu_cli.track.mediapipe_env import denormals_kept, import_mediapipe


class PersonSegmenter:
    """Selfie segmentation (general 256x256 model) of crops; :meth:`mask` -> float probability [S, S]."""
    def __init__(self):
        mp = import_mediapipe()
        with denormals_kept():  # XNNPack fails to allocate its graph when denormals are flushed
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._seg.process(np.zeros((64, 64, 3), np.uint8))

    def mask(self, crop: np.ndarray) -> np.ndarray:
        """Person probability ``float32 [S, S]`` in [0, 1] for a uint8 RGB crop ``[S, S, 3]``."""
        out = self._seg.process(np.ascontiguousarray(crop)).segmentation_mask
        return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)

    def close(self) -> None:
        self._seg.close()


def pack_mask(prob: np.ndarray, mask_size: int, threshold: float = 0.5) -> np.ndarray:
    """Probability [S, S] -> packed bits ``uint8 [m, ceil(m/8)]`` at ``mask_size`` m (area-averaged)."""
    small = cv2.resize(prob.astype(np.float32), (mask_size, mask_size), interpolation=cv2.INTER_AREA)
    return np.packbits(small >= threshold, axis=-1)


def unpack_masks(packed: np.ndarray, mask_size: int, size: int | None = None) -> np.ndarray:
    """Packed ``[..., m, ceil(m/8)]`` -> bool ``[..., m, m]``, or ``[..., size, size]`` (nearest) if given."""
    bits = np.unpackbits(packed, axis=-1)[..., :mask_size].astype(bool)
    if size is None or size == mask_size:
        return bits
    idx = (np.arange(size) * mask_size) // size
    return bits[..., idx, :][..., :, idx]
