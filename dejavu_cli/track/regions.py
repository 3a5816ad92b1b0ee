"""Landmark error per facial region: does the fit follow what drives appearance (lids, brows, lips)?

A mean residual over all points hides a tracker that fits the jaw line and misses the eyelids; the avatar then
bakes closed or half-open lids into the maps. Here the fitted head model's correspondence points are posed
with each frame's coefficients, projected, and compared with the detected MediaPipe points of the iBUG-68
groups (:data:`REGIONS`, through ``correspond.MP_TO_68``). Figures are in crop pixels (``track.size``),
mean over tracked frames, and for the eyes and mouth also the signed error of the opening (detected minus
fitted lid/lip gap): negative means the model's eyes or mouth are more open than the video's.
"""

from __future__ import annotations

import numpy as np
import torch

from dejavu_cli.track.correspond import MP_TO_68, correspondence_for
from dejavu_cli.track.fit import build_landmark_model, frame_yaw, posed_points, project

#: iBUG-68 index ranges of the facial regions.
REGIONS = {"jaw": range(0, 17), "brows": range(17, 27), "nose": range(27, 36), "eyes": range(36, 48),
           "mouth": range(48, 68)}
#: iBUG-68 pairs whose vertical gap is the opening: upper/lower lids of both eyes, inner lips.
OPENINGS = {"eyes": ((37, 41), (38, 40), (43, 47), (44, 46)), "mouth": ((61, 67), (62, 66), (63, 65))}


def frame_coefficients(track, lm) -> torch.Tensor:
    """Per-frame coefficients [T, n_exp (+3 jaw) (+6 eyes)] in the landmark model's layout."""
    parts = [np.asarray(track.expression)]
    if lm.n_jaw:
        parts.append(np.asarray(track.jaw))
    if lm.n_eyes:
        parts.append(np.asarray(track.eyes))
    return torch.as_tensor(np.concatenate(parts, 1), dtype=torch.float32)


def region_errors(track, head) -> dict:
    """{"<region>_px": mean error, "eyes_opening_px", "mouth_opening_px": signed mean} over tracked frames;
    regions whose points the correspondence lacks are left out. Empty when no frame was tracked."""
    valid = np.asarray(track.valid, bool)
    if not valid.any():
        return {}
    corr = correspondence_for(head)
    lm = build_landmark_model(head, corr)
    rows = np.flatnonzero(valid)
    with torch.no_grad():
        t = lambda a: torch.as_tensor(np.asarray(a)[rows], dtype=torch.float32)  # noqa: E731
        pts = posed_points(lm, torch.as_tensor(np.asarray(track.identity), dtype=torch.float32),
                           frame_coefficients(track, lm)[rows], frame_yaw(t(track.rotvec)))
        pix = project(pts, t(track.rotvec), t(track.translation),
                      torch.as_tensor(np.asarray(track.viewmat), dtype=torch.float32),
                      torch.as_tensor(np.asarray(track.K), dtype=torch.float32)).numpy()      # [T, L, 2]
    detected = np.asarray(track.landmarks)[rows]                                             # [T, P, 2]
    where = {int(m): i for i, m in enumerate(np.asarray(corr.mp_ids))}
    col = lambda k: where.get(MP_TO_68[k])  # noqa: E731  position in the correspondence, or None
    out = {}
    for name, ids in REGIONS.items():
        cols = [(col(k), MP_TO_68[k]) for k in ids if col(k) is not None]
        if not cols:
            continue
        fit = pix[:, [c for c, _ in cols]]
        det = detected[:, [m for _, m in cols]]
        err = np.linalg.norm(fit - det, axis=-1)
        out[f"{name}_px"] = round(float(np.nanmean(err)), 3)
    for name, pairs in OPENINGS.items():
        pairs = [(a, b) for a, b in pairs if col(a) is not None and col(b) is not None]
        if not pairs:
            continue
        gap_fit = np.stack([pix[:, col(b), 1] - pix[:, col(a), 1] for a, b in pairs], 1)
        gap_det = np.stack([detected[:, MP_TO_68[b], 1] - detected[:, MP_TO_68[a], 1] for a, b in pairs], 1)
        out[f"{name}_opening_px"] = round(float(np.nanmean(gap_det - gap_fit)), 3)
    return out
