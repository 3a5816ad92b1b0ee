"""The single-image reconstruction network (paper §3.3, supplementary §4, Fig. 10).

An encoder-decoder without skip connections. The encoder turns a head image into a feature map at 1/16
of the input size; every decoder block first concatenates the initial UV position map (resized to the
block's resolution) so the decoder knows the UV layout of the head model. The head is a 1x1 convolution
to 13 raw offset channels (no output activation) resized to the UV size ``S``.

Architecture facts (authors' ``EDNet``, /work/shared/research/official-code-and-tracker.md §1.2):
``DoubleConv`` = 2 x [3x3 conv, reflect padding, no bias, InstanceNorm (no affine), ReLU]; encoder
3 -> 64 -> 64 -> 128 -> 256 -> 512 with 2x max-pooling; decoder block = concat UV map, 2x transposed
conv, [1 2 1] binomial blur, ``DoubleConv``. The paper configuration (320 px input, channels
64/64/128/256/512) has 8,584,809 parameters.

Units: channels 0:3 of the output are position offsets in metres. The raw position outputs are
multiplied by ``position_scale`` (0.01: the network predicts centimetres, as the authors'
``loc_discount``) so a freshly initialised network starts near the head-model surface.

    net = ReconNet(ReconNetConfig(uv_size=layout.uv_size))
    offsets = net(images [B, 3, H, W] in [-1, 1], uv_pos [B, 3, S, S]) -> [B, 13, S, S]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dejavu_cli.config import knob

#: Number of channels of a UV Gaussian map (docs/conventions.md#gaussians).
MAP_CHANNELS = 13


@dataclass
class ReconNetConfig:
    """Shape of the reconstruction network; stored in every checkpoint."""

    img_size: int = knob(320, "Input image size in pixels (images are resized to it; divisible by 16).")
    uv_size: int = knob(320, "UV map size S of the head model's layout the network predicts for.")
    channels: tuple = knob((64, 64, 128, 256, 512), "Encoder widths, input block then 4 downsampling blocks.")
    position_scale: float = knob(0.01, "Factor applied to the raw position outputs (network units -> metres).")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ReconNetConfig":
        d = dict(d)
        d["channels"] = tuple(int(c) for c in d.get("channels", cls.channels))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def binomial_blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise 3x3 blur with reflect padding. x [B, C, H, W], kernel [3, 3] (sums to 1) -> [B, C, H, W]."""
    c = x.shape[1]
    weight = kernel.to(x.dtype).expand(c, 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), weight, groups=c)


def images_to_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 or [0, 1] float images [B, H, W, 3] -> network input [B, 3, size, size] in [-1, 1]."""
    x = images.permute(0, 3, 1, 2)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x * 2.0 - 1.0


class DoubleConv(nn.Sequential):
    """2 x [3x3 conv (reflect padding, no bias), InstanceNorm (no affine), ReLU]: [B, cin, H, W] -> [B, cout, H, W]."""

    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect", bias=False),
            nn.InstanceNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, padding_mode="reflect", bias=False),
            nn.InstanceNorm2d(cout), nn.ReLU(inplace=True))


class Down(nn.Sequential):
    """2x max-pool then :class:`DoubleConv`: [B, cin, H, W] -> [B, cout, H/2, W/2]."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.MaxPool2d(2), DoubleConv(cin, cout))


class Up(nn.Module):
    """Decoder block: concat the UV position map, 2x transposed conv, blur, :class:`DoubleConv`.

    x [B, cin, h, w], uv_pos [B, 3, S, S] -> [B, cout, 2h, 2w]
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        c = cin + 3
        self.up = nn.ConvTranspose2d(c, c, kernel_size=2, stride=2)
        self.conv = DoubleConv(c, cout)
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", torch.outer(k, k) / 16.0, persistent=False)

    def forward(self, x: torch.Tensor, uv_pos: torch.Tensor) -> torch.Tensor:
        uv = F.interpolate(uv_pos, size=x.shape[-2:], mode="bilinear", align_corners=False)
        x = self.up(torch.cat([x, uv.to(x.dtype)], dim=1))
        return self.conv(binomial_blur(x, self.kernel))


class ReconNet(nn.Module):
    """Image + initial UV position map -> UV Gaussian map offsets ``[B, 13, S, S]`` (pre-activation units)."""

    def __init__(self, cfg: ReconNetConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or ReconNetConfig()
        if cfg.img_size % 16 or cfg.img_size < 32:
            raise ValueError(f"img_size must be a multiple of 16 and at least 32, got {cfg.img_size}")
        c = list(cfg.channels)
        if len(c) != 5:
            raise ValueError(f"channels needs 5 widths, got {c}")
        self.inc = DoubleConv(3, c[0])
        self.downs = nn.ModuleList(Down(c[i], c[i + 1]) for i in range(4))
        dec = [c[3], c[2], c[1], c[1]]  # 512 -> 256 -> 128 -> 64 -> 64 in the paper config
        self.ups = nn.ModuleList(Up(cin, cout) for cin, cout in zip([c[4]] + dec[:3], dec))
        self.outc = nn.Conv2d(dec[-1], MAP_CHANNELS, kernel_size=1)
        scale = torch.ones(MAP_CHANNELS)
        scale[:3] = cfg.position_scale
        self.register_buffer("out_scale", scale.view(1, MAP_CHANNELS, 1, 1), persistent=False)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] -> features [B, C4, img/16, img/16]."""
        x = images
        if x.shape[-2:] != (self.cfg.img_size, self.cfg.img_size):
            x = F.interpolate(x, size=(self.cfg.img_size,) * 2, mode="bilinear", align_corners=False,
                              antialias=True)
        x = self.inc(x)
        for down in self.downs:
            x = down(x)
        return x

    def forward(self, images: torch.Tensor, uv_pos: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1], uv_pos [B, 3, S, S] (metres) -> offsets [B, 13, S, S]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be [B, 3, H, W], got {tuple(images.shape)}")
        if uv_pos.ndim != 4 or uv_pos.shape[1] != 3 or uv_pos.shape[0] != images.shape[0]:
            raise ValueError(f"uv_pos must be [B, 3, S, S] with B={images.shape[0]}, got {tuple(uv_pos.shape)}")
        x = self.encode(images)
        for up in self.ups:
            x = up(x, uv_pos)
        out = self.outc(x) * self.out_scale.to(x.dtype)
        s = uv_pos.shape[-1]
        if out.shape[-1] != s:
            out = F.interpolate(out, size=(s, s), mode="bilinear", align_corners=False)
        return out


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
