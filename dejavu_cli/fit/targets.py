"""Training targets of the video stage: tracked crops with background, neck and clothes set to white.

The paper (and the official code) whiten BiSeNet's background/neck/cloth classes. We have no face parser, so
the target keeps a pixel when it is

* on the person (the tracking mask, a person/background matte at half crop resolution), and
* inside the head's *hair shell*: the fitted head model *without its neck region* (face, scalp, ears, eyes,
  mouth) is rasterized into the crop at the person mask's resolution, together with its scalp pushed out
  along the normals by up to :data:`HAIR_SHELL` (2 cm). Hair within 2 cm of the scalp stays;
  shoulders, clothes, long hair below the ears and the backdrop go. The shell is a 3D volume that turns
  with the head, so every frame cuts the same part of the person (the older rule cut each image column
  below the silhouette's lowest pixel and kept hair beside the face above the nearest column's line: the
  kept side hair changed from frame to frame with the head's roll and yaw). ``shell=0`` keeps that rule.

Documented in docs/create.md.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from dejavu_cli.head.base import HeadModel, HeadParams
from dejavu_cli.head.geometry import vertex_normals
from dejavu_cli.head.pose import apply_rigid
from dejavu_cli.render.camera import project
from dejavu_cli.track import api as track_api

#: Regions whose silhouette defines the head (everything but the neck and helper geometry).
HEAD_REGIONS = ("face", "scalp", "ears", "eyeballs", "mouth", "teeth")
#: Regions pushed out along their normals to make the hair shell, and how far (metres).
SHELL_REGIONS = ("scalp",)
HAIR_SHELL = 0.02
#: Fractions of the shell's thickness at which the pushed-out surface is rasterized (the union fills the band
#: between the head and the shell's outside without stretched triangles).
SHELL_STEPS = (0.25, 0.5, 0.75, 1.0)


def scale_intrinsics(K: torch.Tensor, src: int, dst: int) -> torch.Tensor:
    """Intrinsics of a square ``src``-pixel image resampled to ``dst`` pixels (pixel centres at k + 0.5).
    K [..., 3, 3] -> [..., 3, 3]."""
    s = dst / src
    out = K.clone()
    out[..., :2, :] = K[..., :2, :] * s
    return out


def mesh_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(used vertex indices [U], unique undirected edges [E, 2]) of triangles ``faces [F, 3]``."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(faces), np.unique(np.sort(e, 1), axis=0)


def silhouette(pix: np.ndarray, faces: np.ndarray, size: int, close: int | None = None,
               topology: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Bool [B, size, size]: pixels covered by the triangles ``faces [F, 3]`` of projected vertices
    ``pix [B, V, 2]`` (pixel units at ``size``).

    Splats the triangles' vertices, centroids and edge midpoints, then closes the gaps with an elliptic
    kernel of ``close`` pixels (default: about half the 99th-percentile edge length, 3..9). Unlike a polygon
    fill of all triangles at once this is a union (overlapping front/back faces cannot cancel) and it is
    vectorized over frames. ``topology`` = :func:`mesh_edges` of ``faces`` (computed when None).
    """

    P = pix.astype(np.float32)
    used, e = topology if topology is not None else mesh_edges(faces)
    pts = np.concatenate([P[:, used], P[:, faces].mean(2), (P[:, e[:, 0]] + P[:, e[:, 1]]) * 0.5], 1)  # [B, K, 2]
    B = pix.shape[0]
    x, y = pts[..., 0], pts[..., 1]
    ok = (x >= 0) & (y >= 0) & (x < size) & (y < size)
    out = np.zeros((B, size, size), np.uint8)
    out[np.nonzero(ok)[0], y[ok].astype(np.int32), x[ok].astype(np.int32)] = 1  # truncation = floor (>= 0)
    if close is None:  # from the first frame: the mesh density does not change between frames
        edge = np.sqrt(((P[0, e[:, 0]] - P[0, e[:, 1]]) ** 2).sum(-1))
        close = int(np.clip(np.ceil(np.percentile(edge, 99) / 2) * 2 + 1, 3, 9))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close, close))
    for i in range(B):  # zero padding: the image border must not hold the closing open
        padded = cv2.copyMakeBorder(out[i], close, close, close, close, cv2.BORDER_CONSTANT, value=0)
        out[i] = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[close:-close, close:-close]
    return out.astype(bool)


def jaw_keep_mask(head: np.ndarray) -> np.ndarray:
    """Bool [S, S]: pixels on or above the lowest silhouette pixel of their column (see module docstring).

    head [S, S] bool silhouette. All True when the silhouette is empty (nothing to cut against).
    """
    S = head.shape[0]
    cols = np.where(head.any(0))[0]
    if len(cols) == 0:
        return np.ones_like(head)
    lowest = S - 1 - np.argmax(head[::-1], axis=0)            # [S] last True row per column
    line = np.interp(np.arange(S), cols, lowest[cols])        # constant beyond the silhouette's extent
    return np.arange(S)[:, None] <= line[None, :]


def head_vertices(head: HeadModel, identity: torch.Tensor, expression: torch.Tensor, jaw: torch.Tensor | None,
                  eyes: torch.Tensor | None) -> torch.Tensor:
    """Model-space vertices [B, V, 3] of tracked frames (identity [n_id] shared, the rest per frame [B, .])."""
    B = expression.shape[0]
    params = HeadParams(identity=identity[None].expand(B, -1), expression=expression,
                        jaw=jaw if head.has_jaw else None, eyes=eyes if head.has_eyes else None)
    return head(params)


def shell_directions(world: torch.Tensor, faces: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
    """[B, V, 3]: the vertex normals of ``faces`` [F, 3] on ``world`` [B, V, 3] for the ``moved`` [V] bool
    vertices, zero for the others (the direction each vertex of the hair shell is pushed)."""
    return vertex_normals(world, faces) * moved[None, :, None].to(world.dtype)


def shell_vertices(world: torch.Tensor, faces: torch.Tensor, moved: torch.Tensor, depth: float) -> torch.Tensor:
    """Vertices [B, V, 3] of ``world`` [B, V, 3] with the ``moved`` [V] bool ones pushed ``depth`` metres out
    along the vertex normals of ``faces`` [F, 3] (the mesh the normals are averaged over)."""
    return world + depth * shell_directions(world, faces, moved)


def head_keep_masks(head: HeadModel, identity, expression, jaw, eyes, rotvec, transl, viewmat: torch.Tensor,
                    K: torch.Tensor, size: int, mask_size: int | None = None, chunk: int = 16,
                    dilate: int = 1, progress: bool = False, shell: float = HAIR_SHELL) -> np.ndarray:
    """Bool [T, m, m]: the head-region keep mask per frame (the hair shell's silhouette, or with ``shell`` 0
    the silhouette or above the jaw line), computed at ``mask_size`` m (default ``size``) for crops of
    ``size`` pixels.

    expression [T, n_exp], jaw [T, 3], eyes [T, 6], rotvec/transl [T, 3], viewmat [4, 4], K [3, 3] (crop px).
    """

    m = int(mask_size or size)
    Km = scale_intrinsics(K, size, m)
    sel = head.region_faces(*HEAD_REGIONS)
    faces_t = head.faces[sel]
    faces = faces_t.cpu().numpy()
    topo = mesh_edges(faces)
    shell_t = head.faces[head.region_faces(*SHELL_REGIONS)]
    moved = torch.zeros(head.template.shape[0], dtype=torch.bool, device=shell_t.device)
    moved[shell_t.reshape(-1)] = True
    shell_np = shell_t.cpu().numpy()
    shell_topo = mesh_edges(shell_np)
    kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
    out = np.zeros((expression.shape[0], m, m), bool)
    bar = tqdm(total=expression.shape[0], desc="head masks", unit="frame", disable=not progress, leave=False)
    with torch.no_grad(), bar:
        for s in range(0, expression.shape[0], chunk):
            sl = slice(s, s + chunk)
            v = head_vertices(head, identity, expression[sl], None if jaw is None else jaw[sl],
                              None if eyes is None else eyes[sl])
            world = apply_rigid(v, rotvec[sl], transl[sl])
            B = world.shape[0]
            cam = viewmat.expand(B, 4, 4), Km.expand(B, 3, 3)
            sil = silhouette(project(world, *cam).cpu().numpy(), faces, m, topology=topo)
            if shell > 0:  # the normals once per chunk, then one projection per step
                push = shell_directions(world, faces_t, moved)
                for k in SHELL_STEPS:
                    sil |= silhouette(project(world + shell * k * push, *cam).cpu().numpy(), shell_np, m,
                                      topology=shell_topo)
            for i in range(B):
                one = cv2.dilate(sil[i].astype(np.uint8), kernel).astype(bool)
                out[s + i] = one if shell > 0 else jaw_keep_mask(one) | one
            bar.update(B)
    return out


def compose_targets(crops: np.ndarray, keep: np.ndarray, resolution: int, device="cpu", chunk: int = 16,
                    out: np.ndarray | None = None, alpha_out: np.ndarray | None = None) -> np.ndarray:
    """Uint8 targets [T, R, R, 3]: ``crops`` uint8 [T, S, S, 3] over white where ``keep`` [T, S', S'] (bool)
    is off, written into ``out`` when given; ``alpha_out`` uint8 [T, R, R], when given, gets the soft mask
    at ``resolution`` (255 = kept), so the target over any background b is ``t - (1 - alpha)(1 - b)``.

    The mask is upsampled to the crop bilinearly (half-pixel centres, as ``cv2.INTER_LINEAR``: a soft edge
    instead of S'-pixel stairs) and the composite area-averaged to ``resolution`` (``cv2.INTER_AREA`` for
    integer factors), then rounded. Batched torch on ``device`` in chunks of frames (multi-threaded on the
    CPU; a 448-frame 512^2 clip takes about a second instead of 12 s of per-frame numpy).
    """

    T, S = crops.shape[:2]
    R = int(resolution)
    if out is None:
        out = np.empty((T, R, R, 3), np.uint8)
    with torch.no_grad():
        for lo in range(0, T, chunk):
            hi = min(T, lo + chunk)
            img = torch.from_numpy(np.ascontiguousarray(crops[lo:hi])).to(device).permute(0, 3, 1, 2).float()
            a = torch.from_numpy(np.ascontiguousarray(keep[lo:hi])).to(device)[:, None].float()
            if a.shape[-1] != S:
                a = F.interpolate(a, size=(S, S), mode="bilinear", align_corners=False)
            img = img * a + 255.0 * (1.0 - a)                                  # [B, 3, S, S]
            if S != R:
                img = F.interpolate(img, size=(R, R), mode="area")
            if alpha_out is not None:
                a = F.interpolate(a, size=(R, R), mode="area") if a.shape[-1] != R else a
                alpha_out[lo:hi] = (a[:, 0] * 255.0 + 0.5).clamp_(0, 255).to(torch.uint8).cpu().numpy()
            out[lo:hi] = (img + 0.5).clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return out


def video_targets(track, crops: np.ndarray, rows: np.ndarray, head: HeadModel, resolution: int,
                  progress: bool = False, out: np.ndarray | None = None,
                  alpha_out: np.ndarray | None = None) -> np.ndarray:
    """The training/scoring targets uint8 ``[n, R, R, 3]`` of track ``rows``: ``crops`` uint8 [n, S, S, 3]
    over white outside the person mask and the head's hair shell (create and evaluate share it);
    ``alpha_out`` uint8 [n, R, R] gets the mask (:func:`compose_targets`)."""
    S, R = int(track.size), int(resolution)
    M = int(track.mask_size)
    m = min(M, R)  # masks at the person mask's or the target resolution, whichever is lower
    rows = np.asarray(rows, dtype=np.int64)
    dev = head.template.device
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32, device=dev)  # noqa: E731
    r = lambda x: t(np.asarray(x)[rows])  # noqa: E731
    keep = head_keep_masks(head, t(track.identity), r(track.expression), r(track.jaw), r(track.eyes),
                           r(track.rotvec), r(track.translation), t(track.viewmat), t(track.K), S,
                           mask_size=m, progress=progress)
    if m != M:  # the head cut at the lower resolution, the person mask at its own
        keep = keep[:, (np.arange(M) * m) // M][:, :, (np.arange(M) * m) // M]
    person = track_api.person_masks(track, rows)
    return compose_targets(crops, keep & person, R, out=out, alpha_out=alpha_out)
