"""A square crop that follows the head smoothly (pure functions).

A crop box is ``(x0, y0, side)`` in source pixels (continuous coordinates: the source pixel (row i, col j)
covers ``[j, j+1) x [i, i+1)``), docs/conventions.md#camera. Crop pixel ``u`` maps to source
``x0 + u * side / size``. Boxes come from the landmarks of each frame and are then smoothed over time with a
zero-phase Gaussian (no lag, no per-frame jitter); frames without a face get interpolated boxes so every
frame has a crop, but they stay marked invalid.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: Value of crop pixels outside the source frame (white, as the official tracker's padding).
BORDER_VALUE = 255


def raw_boxes(landmarks: np.ndarray, valid: np.ndarray, scale: float = 1.8, lift: float = 0.12) -> np.ndarray:
    """Per-frame boxes ``[T, 3]`` (cx, cy, side) from landmarks ``[T, N, 2]`` (source pixels).

    ``side`` = ``scale`` x the larger extent of the landmarks; the centre is lifted by ``lift`` x the extent
    so hair above the forehead fits. Rows of invalid frames are NaN.
    """
    out = np.full((landmarks.shape[0], 3), np.nan, dtype=np.float64)
    if valid.any():
        pts = landmarks[valid].astype(np.float64)
        lo, hi = pts.min(1), pts.max(1)
        extent = (hi - lo).max(-1)
        centre = (lo + hi) / 2
        out[valid, 0] = centre[:, 0]
        out[valid, 1] = centre[:, 1] - lift * extent
        out[valid, 2] = scale * extent
    return out


def fill_gaps(x: np.ndarray) -> np.ndarray:
    """Linearly interpolate NaN rows of ``x`` [T, C] from the valid ones (constant at the ends)."""
    x = np.asarray(x, dtype=np.float64).copy()
    ok = ~np.isnan(x).any(-1)
    if not ok.any():
        raise ValueError("no valid rows to interpolate from")
    t = np.arange(x.shape[0])
    for c in range(x.shape[1]):
        x[:, c] = np.interp(t, t[ok], x[ok, c])
    return x


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian filter along axis 0 of ``x`` [T, ...] (edge-replicated); ``sigma`` in samples."""
    x = np.asarray(x, dtype=np.float64)
    if sigma <= 0 or x.shape[0] < 2:
        return x.copy()
    radius = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.concatenate([np.repeat(x[:1], radius, 0), x, np.repeat(x[-1:], radius, 0)], 0)
    flat = pad.reshape(pad.shape[0], -1)
    out = np.stack([np.convolve(flat[:, c], k, mode="valid") for c in range(flat.shape[1])], -1)
    return out.reshape(x.shape)


def smooth_boxes(raw: np.ndarray, fps: float, sigma_centre_s: float = 0.15,
                 sigma_side_s: float = 0.6) -> np.ndarray:
    """Smoothed crop boxes ``float32 [T, 3]`` (x0, y0, side) from raw (cx, cy, side) rows with NaN gaps.

    Centre and log-side are filtered separately (the size changes slower than the position).
    """
    filled = fill_gaps(raw)
    c = gaussian_smooth(filled[:, :2], sigma_centre_s * fps)
    side = np.exp(gaussian_smooth(np.log(filled[:, 2:3]), sigma_side_s * fps))[:, 0]
    return np.stack([c[:, 0] - side / 2, c[:, 1] - side / 2, side], -1).astype(np.float32)


def to_crop(points: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Source-pixel points ``[..., N, 2]`` -> crop pixels for ``box`` [..., 3] (x0, y0, side)."""
    box = np.asarray(box, dtype=np.float64)
    return ((points - box[..., None, :2]) * (size / box[..., None, 2:3])).astype(np.float32)


def from_crop(points: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Crop pixels -> source pixels (inverse of :func:`to_crop`)."""
    box = np.asarray(box, dtype=np.float64)
    return (points * (box[..., None, 2:3] / size) + box[..., None, :2]).astype(np.float32)


def crop_frame(frame: np.ndarray, box, size: int, border: int = BORDER_VALUE) -> np.ndarray:
    """Resample ``frame`` uint8 [H, W, C] inside ``box`` (x0, y0, side) to ``uint8 [size, size, C]``.

    Shrinking: an exact integer area average (``cv2.INTER_AREA`` by ``floor(side / size)``), then bilinear
    for the rest, with a small Gaussian pre-blur when that rest exceeds 1.5x (no aliasing); outside the
    frame is ``border``. Deterministic, so any stage reproduces the tracker's crop from the video and the box.
    """

    x0, y0, side = (float(v) for v in box)
    shrink = side / size                              # source pixels per crop pixel
    n = max(1, int(shrink))                           # integer box-filter factor (exact area average)
    rest = shrink / n                                 # remaining shrink in [1, 2) done by warpAffine
    sigma = 0.45 * rest if rest > 1.5 else 0.0
    margin = n * (2 + int(math.ceil(3 * sigma)))
    xi0, yi0 = int(math.floor(x0)) - margin, int(math.floor(y0)) - margin
    xi1, yi1 = int(math.ceil(x0 + side)) + margin, int(math.ceil(y0 + side)) + margin
    xi1 += (-(xi1 - xi0)) % n                         # region size divisible by n
    yi1 += (-(yi1 - yi0)) % n
    h, w = frame.shape[:2]
    sx0, sy0, sx1, sy1 = max(xi0, 0), max(yi0, 0), min(xi1, w), min(yi1, h)
    if sx1 <= sx0 or sy1 <= sy0:
        return np.full((size, size, frame.shape[2]), border, np.uint8)
    region = frame[sy0:sy1, sx0:sx1]
    if (sx0, sy0, sx1, sy1) != (xi0, yi0, xi1, yi1):
        region = cv2.copyMakeBorder(region, sy0 - yi0, yi1 - sy1, sx0 - xi0, xi1 - sx1, cv2.BORDER_CONSTANT,
                                    value=(border,) * frame.shape[2])
    if n > 1:
        region = cv2.resize(region, ((xi1 - xi0) // n, (yi1 - yi0) // n), interpolation=cv2.INTER_AREA)
    if sigma > 0:
        region = cv2.GaussianBlur(region, (0, 0), sigma)
    # region pixel r covers source [xi0 + n r, xi0 + n (r + 1)); cv2 puts pixel centres at integers:
    # u + 0.5 = k (x + 0.5 - ox), x in region pixels, ox the box origin in region pixels, k crop px per region px.
    k = n * size / side
    ox, oy = (x0 - xi0) / n, (y0 - yi0) / n
    M = np.array([[k, 0, k * (0.5 - ox) - 0.5], [0, k, k * (0.5 - oy) - 0.5]], dtype=np.float64)
    return cv2.warpAffine(region, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(border,) * frame.shape[2])


def inside_coverage(boxes: np.ndarray, source_size, size: int) -> tuple[np.ndarray, np.ndarray]:
    """How much of each crop pixel lies inside the source frame, as separable factors.

    boxes [T, 3] (x0, y0, side) in source pixels, source_size (width, height), crops of ``size`` pixels.
    Returns (cov_x [T, size], cov_y [T, size]) float32 in [0, 1]: the fraction of crop column / row ``u``
    (covering source ``[x0 + u s, x0 + (u + 1) s)``, s = side / size) that is inside ``[0, width)`` /
    ``[0, height)``. The pixel's coverage is ``cov_y[:, :, None] * cov_x[:, None, :]``; pixels with
    coverage < 1 hold :data:`BORDER_VALUE` padding, not video.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 3)
    s = b[:, 2:3] / size                                   # [T, 1] source pixels per crop pixel
    lo = np.arange(size, dtype=np.float64)[None] * s       # [T, size] offset of each pixel's left/top edge

    def cover(origin, extent):
        a = origin[:, None] + lo
        return (np.clip(np.minimum(a + s, extent) - np.maximum(a, 0.0), 0.0, None) / s).astype(np.float32)

    W, H = (float(v) for v in source_size)
    return cover(b[:, 0], W), cover(b[:, 1], H)
