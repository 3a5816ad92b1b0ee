"""Artifact figures of an avatar, measured the way a user sees it (``dejavu info``, the create report,
``benchmarks/fidelity.py``).

- **spikes**: the share of visible Gaussians (opacity >= :data:`VISIBLE_OPACITY`) whose longest axis is
  longer than :data:`SPIKE_LENGTH_M` (1 cm) or more than :data:`SPIKE_RATIO` x their middle axis: the needles
  a turntable shows where the video never constrained the Gaussians.
- **see-through**: the normalized cross-correlation between the render from behind and the mirrored
  frontal render, over the pixels inside the back render's silhouette. A back of the head that shows the
  face through the scalp looks like a mirrored face and scores high (1 = the same picture); a real back of
  the head (hair) scores near 0.
Both are taken at the neutral expression in model space (head pose identity), as exports are.
"""

from __future__ import annotations

import math

import torch

from dejavu_cli.render.camera import orbit_viewmats

VISIBLE_OPACITY = 0.05
SPIKE_LENGTH_M = 0.01
SPIKE_RATIO = 10.0
#: Pixels of the see-through renders (square); the figure is stable above ~128.
SEE_THROUGH_SIZE = 192
#: Grey-level standard deviation (0-1 scale, ~5/255) below which an image counts as flat in the NCC.
NCC_FLOOR = 0.02
#: Share of the silhouette's width left out on every side (ears and cheeks both views see).
INNER_MARGIN = 0.15


def spike_share(scales: torch.Tensor, opacities: torch.Tensor) -> dict:
    """scales [N, 3] (metres, activated), opacities [N] in [0, 1] -> {"spikes", "long_axis_over_1cm",
    "elongated_over_10x", "visible"} (shares of the visible Gaussians, and their count)."""
    vis = opacities >= VISIBLE_OPACITY
    s = torch.sort(scales[vis], dim=-1).values                        # ascending: [min, middle, max]
    n = int(vis.sum())
    if n == 0:
        return {"spikes": 0.0, "long_axis_over_1cm": 0.0, "elongated_over_10x": 0.0, "visible": 0}
    long_ = s[:, 2] > SPIKE_LENGTH_M
    thin = s[:, 2] > SPIKE_RATIO * s[:, 1]
    share = lambda m: round(float(m.float().mean()), 5)  # noqa: E731
    return {"spikes": share(long_ | thin), "long_axis_over_1cm": share(long_), "elongated_over_10x": share(thin),
            "visible": n}


def normalized_correlation(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor, floor: float = NCC_FLOOR) -> float:
    """NCC of two grey images [H, W] (values in [0, 1]) over ``mask`` [H, W] bool.

    Each image's standard deviation gets ``floor`` added in quadrature, so an image that is flat to the eye
    (a uniform back of the head: rounding noise only) correlates with nothing instead of with noise;
    for images with visible structure (std >> floor) it is the plain NCC."""
    x, y = a[mask].double(), b[mask].double()
    if x.numel() < 16:
        return 0.0
    x, y = x - x.mean(), y - y.mean()
    n = x.numel()
    den = math.sqrt((float((x * x).sum()) + n * floor ** 2) * (float((y * y).sum()) + n * floor ** 2))
    return float((x * y).sum()) / den


def see_through(animator, size: int = SEE_THROUGH_SIZE) -> float:
    """The see-through figure (module docstring) of an :class:`~dejavu_cli.avatar.animate.Animator`."""
    with torch.no_grad():
        params = animator.neutral(1)
        g = animator.gaussians(params)
        lo, hi = g["means"][0].min(0).values, g["means"][0].max(0).values
        centre = tuple(((lo + hi) / 2).tolist())
        views = orbit_viewmats(2, animator.avatar.distance, 360.0, 0.0, centre, device=animator.device)  # 0, 180
        K = torch.as_tensor(animator.avatar.intrinsics(size), device=animator.device).expand(2, 3, 3)
        out = animator.render(animator.neutral(2), viewmats=views, Ks=K, size=size,
                              background=torch.zeros(3, device=animator.device))
    grey = out.rgb.mean(-1).cpu()                                    # [2, H, W]
    front, back = grey[0].flip(-1), grey[1]                           # mirrored front vs back
    mask = inner_silhouette(out.alpha[1, ..., 0].cpu() > 0.5)
    return round(normalized_correlation(front, back, mask), 4)


def inner_silhouette(mask: torch.Tensor, margin: float = INNER_MARGIN) -> torch.Tensor:
    """``mask`` [H, W] bool shrunk by ``margin`` x its width on every side: the back of the head proper, not
    the ears and cheeks that both views see at the silhouette's edge."""
    cols = torch.nonzero(mask.any(0)).flatten()
    if len(cols) == 0:
        return mask
    k = max(1, int(round(margin * float(cols[-1] - cols[0] + 1))))
    inv = (~mask).float()[None, None]
    grown = torch.nn.functional.max_pool2d(inv, 2 * k + 1, stride=1, padding=k)[0, 0] > 0
    return mask & ~grown


def artifact_figures(animator) -> dict:
    """{"spikes": ..., "see_through": ...} of an avatar (neutral, model space)."""
    with torch.no_grad():
        raw = animator.gaussians(animator.neutral(1))
    figures = spike_share(raw["scales"][0], raw["opacities"][0].reshape(-1))
    figures["see_through"] = see_through(animator)
    return figures
