"""``--preview``: the crop with detected landmarks and the fitted mesh's wireframe, as an MP4 to check.

Green dots: MediaPipe landmarks used in the fit. Thin blue lines: the fitted head (face, ears, eyes;
front-facing triangles only). Red dots: the model's points for those landmarks. Frames without a face
are dimmed and labelled ``no face``.
"""

from __future__ import annotations

import os
from typing import Iterator

import cv2
import numpy as np
import torch

from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.head.pose import apply_rigid
from dejavu_cli.io.video_reader import iter_frames
from dejavu_cli.io.video_writer import write_video
from dejavu_cli.track.correspond import correspondence_for
from dejavu_cli.track.crop import crop_frame
from dejavu_cli.track.fit import frame_yaw
from dejavu_cli.track.raster import project_points


def _mesh_vertices(head, track, rows: np.ndarray, device="cpu"):
    """World-space vertices ``[n, V, 3]`` of the fitted parameters for ``rows``."""
    t = lambda a: torch.as_tensor(np.asarray(a)[rows], dtype=torch.float32, device=device)  # noqa: E731
    n = rows.shape[0]
    with torch.no_grad():
        ident = torch.as_tensor(track.identity, dtype=torch.float32, device=device).expand(n, -1)
        verts = head.vertices(identity=ident, expression=t(track.expression),
                              jaw=t(track.jaw) if head.has_jaw else None,
                              eyes=t(track.eyes) if head.has_eyes else None)
        return apply_rigid(verts, t(track.rotvec), t(track.translation)).cpu().numpy()


def overlay(crop: np.ndarray, verts: np.ndarray, faces: np.ndarray, keep_faces: np.ndarray,
            landmarks: np.ndarray | None, model_points: np.ndarray | None, viewmat: np.ndarray,
            K: np.ndarray) -> np.ndarray:
    """Draw the wireframe (verts [V, 3] world) and landmarks (crop pixels [L, 2]) onto a copy of ``crop``."""
    img = crop.copy()
    pix, _ = project_points(verts, viewmat, K)
    tri_cam = (verts @ viewmat[:3, :3].T + viewmat[:3, 3])[faces[keep_faces]]
    normal_z = np.cross(tri_cam[:, 1] - tri_cam[:, 0], tri_cam[:, 2] - tri_cam[:, 0])[:, 2]
    polys = pix[faces[keep_faces][normal_z < 0]] - 0.5
    shift = 3
    wire = img.copy()
    cv2.polylines(wire, list(np.round(polys * (1 << shift)).astype(np.int32)), True, (70, 110, 255), 1,
                  cv2.LINE_8, shift)
    img = cv2.addWeighted(img, 0.55, wire, 0.45, 0)
    if landmarks is not None:
        for x, y in np.round((landmarks - 0.5) * (1 << shift)).astype(np.int32):
            cv2.circle(img, (int(x), int(y)), 2 << shift, (40, 230, 40), -1, cv2.LINE_AA, shift)
    if model_points is not None:
        for x, y in np.round((model_points - 0.5) * (1 << shift)).astype(np.int32):
            cv2.circle(img, (int(x), int(y)), 1 << shift, (255, 40, 40), -1, cv2.LINE_AA, shift)
    return img


#: At most this many triangles are drawn (a regular subset), so the face stays visible under the wireframe.
MAX_WIRE_TRIANGLES = 3000


def preview_frames(video: str | os.PathLike, track, head, batch: int = 16) -> Iterator[np.ndarray]:
    """Yield the overlay frames ``uint8 [S, S, 3]`` of every track row (streamed)."""
    corr = correspondence_for(head)
    faces = head.faces.cpu().numpy()
    keep = np.flatnonzero(np.isin(head.face_region.cpu().numpy(),
                                  [REGION_NAMES.index(r) for r in ("face", "ears", "eyeballs")]))
    keep = keep[::max(1, -(-keep.size // MAX_WIRE_TRIANGLES))]
    rows_of = {int(f): r for r, f in enumerate(track.frames)}
    pending: list[tuple[int, np.ndarray]] = []

    def flush():
        rows = np.array([r for r, _ in pending])
        verts = _mesh_vertices(head, track, rows)
        yaw = frame_yaw(torch.as_tensor(np.asarray(track.rotvec)[rows], dtype=torch.float64))
        pts = corr.surface_at_yaw(torch.as_tensor(verts), head.faces.cpu(), yaw).numpy()       # [B, L, 3]
        for (r, crop), v, pts3 in zip(pending, verts, pts):
            if track.valid[r]:
                mp, _ = project_points(pts3, track.viewmat, track.K)
                yield overlay(crop, v, faces, keep, track.landmarks[r, corr.mp_ids], mp, track.viewmat, track.K)
            else:
                img = (crop * 0.4).astype(np.uint8)
                cv2.putText(img, "no face", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 80, 80), 2)
                yield img
        pending.clear()

    for idx, frame in iter_frames(video, frames=rows_of.keys()):
        r = rows_of[idx]
        pending.append((r, crop_frame(frame, track.crop_boxes[r], track.size)))
        if len(pending) == batch:
            yield from flush()
    if pending:
        yield from flush()


def write_preview(path: str | os.PathLike, video: str | os.PathLike, track, head) -> None:
    """Encode the preview of ``track`` (atomically) to ``path`` at the track's fps, with the video's audio."""
    s = track.size + (track.size % 2)
    frames = preview_frames(video, track, head)
    if s != track.size:
        frames = (np.pad(f, ((0, 1), (0, 1), (0, 0))) for f in frames)
    write_video(path, frames, track.fps, (s, s), audio_from=video if track.frames.shape[0] and
                int(track.frames[-1]) == track.T - 1 else None)
