"""Reconstruction-network inference: per-frame UV offsets and their mean (paper §3.4, eq. 9).

Contract for callers (``dejavu create --checkpoint``, ``dejavu reconstruct``)::

    from dejavu_cli.recon.checkpoint import load_checkpoint
    from dejavu_cli.recon.infer import mean_offsets, uv_position_maps

    net, meta = load_checkpoint(name_or_path, layout, device)   # refuses another head/UV layout
    uv_pos = uv_position_maps(layout, verts)                     # verts [T, V, 3] model space, no rigid pose
    offsets = mean_offsets(net, crops, uv_pos, layout)           # [N, 13] float32 on net's device

* ``crops``: uint8 ``[T, H, W, 3]`` RGB head crops, the tracking crops (``track.pipeline.read_crops``),
  background as in the video (the network was trained on white-background targets but sees the raw crop);
  resized to the network's input size inside.
* ``uv_position_maps``: ``[T, 3, S, S]`` float, the initial UV position map of each frame (paper's U_mu):
  the tracked head mesh of that frame (identity + expression, **without** the rigid head pose) gathered on
  the layout's texels, zeros on invalid texels. S must equal ``layout.uv_size``.
* Track form (what ``create`` calls): ``mean_offsets(checkpoint, layout, track, crops, frames)`` with a
  checkpoint name or path, a ``TrackResult``, ``crops`` uint8 ``[len(frames), S, S, 3]`` and ``frames`` the
  track rows of those crops; loads the network (refusing another layout), rebuilds the meshes from the
  track and averages over at most ``max_frames`` evenly spaced valid frames (the official code: 50).
* Result: the mean over frames of the predicted offsets as a texel list ``[N, 13]`` in pre-activation
  units (add to ``U_init``: docs/architecture.md#maps). Position offsets are zeroed on ``layout.locked``
  texels (the FLAME mouth funnel), as the official code. Runs in eval mode under ``torch.no_grad``, in
  batches of ``batch_size`` frames.
"""

from __future__ import annotations

import numpy as np
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import HeadParams
from dejavu_cli.head.registry import load_head
from dejavu_cli.recon.checkpoint import load_checkpoint
from dejavu_cli.recon.network import ReconNet, images_to_input
from dejavu_cli.uv.maps import position_map


def uv_position_maps(layout, verts: torch.Tensor) -> torch.Tensor:
    """Initial UV position maps [T, 3, S, S] of meshes ``verts`` [T, V, 3] (model space, metres)."""
    return position_map(layout, verts).permute(0, 3, 1, 2).contiguous()


def offsets_to_texels(layout, offsets: torch.Tensor) -> torch.Tensor:
    """Network output [B, 13, S, S] -> texel list [B, N, 13], position offsets zeroed on locked texels."""
    texels = layout.from_image(offsets.permute(0, 2, 3, 1))
    locked = getattr(layout, "locked", None)
    if locked is not None and bool(locked.any()):
        pos_keep = (~locked.to(texels.device))[:, None].to(texels.dtype)            # [N, 1]
        texels = torch.cat([texels[..., :3] * pos_keep, texels[..., 3:]], -1)
    return texels


@torch.no_grad()
def predict_offsets(net: ReconNet, crops: torch.Tensor, uv_position_maps: torch.Tensor, layout,
                    batch_size: int = 8) -> torch.Tensor:
    """Per-frame offsets [T, N, 13] (see the module docstring for the inputs)."""
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be [T, H, W, 3], got {tuple(crops.shape)}")
    S = layout.uv_size
    if uv_position_maps.shape != (crops.shape[0], 3, S, S):
        raise ValueError(f"uv_position_maps must be [T, 3, {S}, {S}] with T={crops.shape[0]}, "
                         f"got {tuple(uv_position_maps.shape)}")
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    out = []
    for i in range(0, crops.shape[0], batch_size):
        x = images_to_input(torch.as_tensor(crops[i:i + batch_size]).to(device), net.cfg.img_size)
        pred = net(x, uv_position_maps[i:i + batch_size].to(device, torch.float32))
        out.append(offsets_to_texels(layout, pred.float()))
    net.train(was_training)
    return torch.cat(out)


def mean_offsets(net, crops, uv_position_maps, layout, batch_size: int = 8, **kwargs) -> torch.Tensor:
    """Mean UV offsets [N, 13] over ``T`` frames (paper's Delta U bar).

    ``net`` may instead be a checkpoint name/path: then the arguments are ``(checkpoint, layout, track, crops,
    frames)`` (see the module docstring) and :func:`mean_offsets_from_track` runs.
    """
    if not isinstance(net, torch.nn.Module):
        return mean_offsets_from_track(net, crops, uv_position_maps, layout, batch_size, **kwargs)
    if crops.shape[0] == 0:
        raise ValueError("mean_offsets needs at least one frame")
    return predict_offsets(net, crops, uv_position_maps, layout, batch_size).mean(0)


def mean_offsets_from_track(checkpoint, layout, track, crops, frames, max_frames: int = 50,
                            device: str | torch.device | None = None, batch_size: int = 8) -> torch.Tensor:
    """Mean offsets [N, 13] (CPU float32) for tracked frames; see the module docstring (track form)."""
    device = torch.device(device) if device is not None else layout.texel.device
    net, _ = load_checkpoint(checkpoint, layout, device=device)
    frames = np.asarray(frames)
    crops = np.asarray(crops)
    if len(crops) != len(frames):
        raise ValueError(f"crops ({len(crops)}) and frames ({len(frames)}) differ in length")
    usable = np.where(np.asarray(track.valid)[frames])[0]
    if len(usable) == 0:
        raise DejavuError("no tracked frame with a face to run the reconstruction network on")
    pick = usable[np.unique(np.linspace(0, len(usable) - 1, min(max_frames, len(usable))).round().astype(int))]
    rows = frames[pick]
    head = load_head(track.head, device="cpu")
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    B = len(rows)
    params = HeadParams(identity=t(track.identity)[None].expand(B, -1), expression=t(track.expression)[rows],
                        jaw=t(track.jaw)[rows] if head.has_jaw else None,
                        eyes=t(track.eyes)[rows] if head.has_eyes else None)
    with torch.no_grad():
        verts = head(params).to(device)
    uv = uv_position_maps(layout, verts)
    return mean_offsets(net, torch.from_numpy(crops[pick]), uv, layout, batch_size).float().cpu()
