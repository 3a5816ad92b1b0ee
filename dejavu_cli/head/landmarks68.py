"""A canonical front-view layout of the 68 iBUG/Multi-PIE landmarks (metres, eyes at y = EYE_Y).

Used to place landmarks on heads that ship none: the procedural test head and FLAME models without a
landmark embedding (``flame.flame_landmarks``).
"""

from __future__ import annotations

import numpy as np

#: eye centre height and half the inter-ocular distance of the layout; mouth centre height (metres)
EYE_Y, EYE_X = 0.035, 0.032
MOUTH_Y = -0.03


def canonical_68() -> np.ndarray:
    """68 iBUG points as front-view (x, y) in metres; point 0 on the subject's right (x < 0)."""
    t = np.linspace(-0.5 * np.pi, 0.5 * np.pi, 17)
    jaw = np.stack([0.062 * np.sin(t), 0.03 - 0.09 * np.cos(t)], 1)
    brow_r = np.stack([np.linspace(-0.055, -0.012, 5), 0.055 + 0.006 * np.sin(np.linspace(0, np.pi, 5))], 1)
    brow_l = brow_r[::-1] * [-1, 1]
    bridge = np.stack([np.zeros(4), np.linspace(0.035, 0.0, 4)], 1)
    nostril = np.stack([np.linspace(-0.014, 0.014, 5), -0.01 + 0.003 * np.abs(np.linspace(-1, 1, 5))], 1)

    def eye(cx):  # corner at smaller x first, then upper lid, other corner, lower lid (iBUG order)
        ang = np.deg2rad([180, 120, 60, 0, -60, -120])
        return np.stack([cx + 0.013 * np.cos(ang), EYE_Y + 0.005 * np.sin(ang)], 1)

    eye_r, eye_l = eye(-EYE_X), eye(EYE_X)  # 36 outer / 39 inner; 42 inner / 45 outer

    def lip(rx, ry, n, cy=MOUTH_Y):
        ang = np.linspace(np.pi, -np.pi, n, endpoint=False)
        return np.stack([rx * np.cos(ang), cy + ry * np.sin(ang)], 1)
    return np.concatenate([jaw, brow_r, brow_l, bridge, nostril, eye_r, eye_l, lip(0.026, 0.012, 12),
                           lip(0.018, 0.005, 8)])
