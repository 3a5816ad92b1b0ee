"""Losses of the video stage (paper eq. 4-6, section 4.2), pure functions on batched tensors.

Images are ``[B, H, W, 3]`` in [0, 1] (docs/conventions.md#images). Maps are texel lists: a delta is
``[N, 13]`` or per-frame ``[B, N, 13]`` and the position weight map ``M_mu`` is ``[N]`` (from the UV layout).
"""

from __future__ import annotations

import torch
from pytorch_msssim import ssim as _ssim

#: Channels of a UV Gaussian map (docs/architecture.md#maps).
POS = slice(0, 3)
SCALE = slice(3, 6)
_EPS = 1e-12  # keeps the gradient of ||x|| finite at x = 0 (every delta starts there)


def l1_loss(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over all pixels and channels.  render, target [B, H, W, 3] -> scalar."""
    return (render - target).abs().mean()


def ssim(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004; Gaussian window 11, sigma 1.5, as pytorch-msssim).

    render, target [B, H, W, 3] in [0, 1] -> scalar. Images smaller than the window use a smaller odd window.
    """
    x = render.permute(0, 3, 1, 2)
    y = target.permute(0, 3, 1, 2)
    win = min(11, (min(x.shape[-2:]) - 1) | 1)
    return _ssim(x, y, data_range=1.0, size_average=True, win_size=win)


def ssim_loss(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM`` (the differentiable SSIM loss of paper eq. 4)."""
    return 1.0 - ssim(render, target)


def observed(render: torch.Tensor, target: torch.Tensor, coverage: torch.Tensor | None,
             outside_weight: float = 0.0) -> torch.Tensor:
    """``render`` [B, H, W, 3] with the pixels outside the filmed frame replaced by ``target``'s, so losses and
    metrics see (and differentiate) only filmed pixels. ``coverage`` [B, H, W, 1] in [0, 1] is each pixel's
    filmed share (None: all filmed); ``outside_weight`` in [0, 1] keeps that share of the render outside
    instead (a weak pull towards the crop's white padding; 0: none)."""
    if coverage is None:
        return render
    w = coverage if not outside_weight else coverage + (1.0 - coverage) * float(outside_weight)
    return w * render + (1.0 - w) * target


def psnr(render: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB over the whole batch (peak 1).  [B, H, W, 3] -> scalar.

    ``weight`` [B, H, W, 1] in [0, 1] (e.g. the share of a pixel inside the video frame) makes the mean
    squared error a weighted mean over pixels; None weighs all pixels equally."""
    err = (render - target) ** 2
    if weight is None:
        mse = err.mean()
    else:
        mse = (err * weight).sum() / (weight.sum() * err.shape[-1]).clamp_min(1e-12)
    return -10.0 * torch.log10(mse.clamp_min(1e-10))


def make_lpips(device):
    """An LPIPS-VGG callable ``f(render, target) -> scalar``, or ``None`` when the ``lpips`` package (which
    needs torchvision and downloads ImageNet backbones) cannot be used. On this project's reference machine
    torchvision is broken, so this returns ``None`` and the loss is skipped (docs/create.md)."""
    try:
        import lpips  # noqa: F401  (imports torchvision)
        net = lpips.LPIPS(net="vgg", verbose=False).to(device).eval()
    except Exception:  # ImportError, RuntimeError from a broken torchvision, download failures offline
        return None
    for p in net.parameters():
        p.requires_grad_(False)

    def f(render, target):
        return net(render.permute(0, 3, 1, 2) * 2 - 1, target.permute(0, 3, 1, 2) * 2 - 1).mean()
    return f


def _norm(x: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis, smooth at 0.  [..., C] -> [...]."""
    return torch.sqrt((x * x).sum(-1) + _EPS)


def position_reg(delta: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Paper eq. 5, ``||delta_mu o M_mu||``: the mean over texels (and frames) of ``M_mu * ||delta_pos||``.

    delta [..., N, 13] (only channels 0:3 are read), weights [N] -> scalar. Averaging per texel as the
    official code does keeps the weight meaningful across UV sizes.
    """
    return (_norm(delta[..., POS]) * weights).mean()


def scale_reg(delta: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Paper eq. 6, ``||delta_s||``: the mean over texels (and frames) of the log-scale offset norm, each
    texel's norm times ``weights`` [N] when given (the visibility factor; None: the paper's plain mean).
    delta [..., N, 13] -> scalar."""
    n = _norm(delta[..., SCALE])
    return (n if weights is None else n * weights).mean()


def view_consistency(delta: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Eq. 7: mean over samples and texels of ``||delta_b - mean_{b' in group(b)} delta_b'||_2``.

    delta [B, N, C], groups [B] long (identity index per sample) -> scalar.
    """
    n_g = int(groups.max()) + 1
    sums = torch.zeros(n_g, *delta.shape[1:], dtype=delta.dtype, device=delta.device).index_add(0, groups, delta)
    counts = torch.bincount(groups, minlength=n_g).to(delta.dtype).view(n_g, *([1] * (delta.dim() - 1)))
    dev = delta - (sums / counts)[groups]
    return torch.sqrt((dev * dev).sum(-1) + 1e-12).mean()
