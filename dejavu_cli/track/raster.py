"""A tiny painter's-algorithm mesh rasterizer (OpenCV polygons) for correspondences and previews.

Not differentiable and not used for training: it draws a Lambert-shaded head (skin, white sclera with a
dark iris and pupil, dark mouth) so MediaPipe can find the face on it, plus a triangle-index buffer.
"""

from __future__ import annotations

import cv2
import numpy as np

from dejavu_cli.head.base import REGION_NAMES

SKIN = np.array([214, 170, 140], np.float64)
_SHIFT = 4  # cv2 fixed-point bits


def project_points(verts: np.ndarray, viewmat: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``[..., V, 2]`` (continuous coordinates) and camera depth ``[..., V]`` of world points."""
    cam = verts @ viewmat[:3, :3].T + viewmat[:3, 3]
    z = cam[..., 2]
    uv = cam @ K.T
    return uv[..., :2] / np.maximum(uv[..., 2:3], 1e-8), z


def _region_colours(verts, faces, face_region, normals_cam):
    """Per-face RGB [F, 3]: Lambert skin, eyes with iris/pupil, dark mouth, light teeth."""
    light = np.clip(-normals_cam[:, 2], 0, 1)  # light from the camera
    col = SKIN[None] * (0.35 + 0.65 * light[:, None])
    reg = np.asarray(face_region)
    eye = reg == REGION_NAMES.index("eyeballs")
    if eye.any():
        cent = verts[faces].mean(1)
        eye_v = np.unique(faces[eye])
        for side in (verts[eye_v, 0] > 0, verts[eye_v, 0] <= 0):
            ids = eye_v[side]
            if ids.size == 0:
                continue
            c = verts[ids].mean(0)
            r = np.linalg.norm(verts[ids] - c, axis=1).mean()
            sel = eye & ((verts[faces[:, 0], 0] > 0) == (c[0] > 0))
            d = (cent[sel] - c) / max(r, 1e-9)
            cosz = d[:, 2] / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
            ecol = np.where(cosz[:, None] > 0.96, 15.0, np.where(cosz[:, None] > 0.86,
                                                                  np.array([[70.0, 45.0, 30.0]]), 235.0))
            col[sel] = ecol * (0.5 + 0.5 * light[sel, None])
    col[reg == REGION_NAMES.index("mouth")] = (60, 20, 20)
    col[reg == REGION_NAMES.index("teeth")] = (220, 220, 210)
    return col


def render_shaded(verts: np.ndarray, faces: np.ndarray, face_region: np.ndarray, viewmat: np.ndarray,
                  K: np.ndarray, size: int, background=(255, 255, 255)):
    """Render a mesh (verts [V, 3] world, faces [F, 3]) -> (uint8 [S, S, 3], int32 face ids [S, S] (-1 empty),
    projected vertices [V, 2])."""

    pix, z = project_points(verts, viewmat, K)
    faces = np.asarray(faces)
    reg = np.asarray(face_region)
    drawn = reg != REGION_NAMES.index("other")
    tri_cam = (verts @ viewmat[:3, :3].T + viewmat[:3, 3])[faces]
    n = np.cross(tri_cam[:, 1] - tri_cam[:, 0], tri_cam[:, 2] - tri_cam[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    front = n[:, 2] < 0  # counter-clockwise from outside -> normal towards the camera (camera looks along +z)
    cols = _region_colours(verts, faces, reg, n)
    depth = z[faces].mean(1)
    order = np.argsort(-depth)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = background
    face_id = np.full((size, size), -1, np.int32)
    fixed = np.round((pix - 0.5) * (1 << _SHIFT)).astype(np.int32)
    for f in order:
        if not (front[f] and drawn[f]) or depth[f] <= 0.01:
            continue
        poly = fixed[faces[f]]
        cv2.fillConvexPoly(image, poly, tuple(float(c) for c in cols[f]), lineType=cv2.LINE_8, shift=_SHIFT)
        cv2.fillConvexPoly(face_id, poly, int(f), lineType=cv2.LINE_8, shift=_SHIFT)
    return image, face_id, pix
