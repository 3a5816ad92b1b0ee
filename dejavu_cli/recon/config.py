"""Training configuration of the reconstruction network (torch-free, so the CLI help stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from dejavu_cli.config import DEVICE_HELP, knob


@dataclass
class TrainConfig:
    steps: int = knob(1000, "Training steps (each: one multi-view and one single-view batch when available).", min=1)
    batch: int = knob(16, "Images per batch and process (paper: 16).", min=1, max=1024)
    views: int = knob(4, "Views per identity in a multi-view batch (batch // views identities).", min=1, max=64)
    resolution: int = knob(512, "Final render resolution in pixels (paper: 512).", min=16, max=2048)
    start_resolution: int = knob(128, "First render resolution of the curriculum (paper: 128).", min=16, max=2048)
    resolution_every: int = knob(100_000, "Steps between resolution doublings (paper: 100,000).", min=1)
    lr: float = knob(1e-4, "Adam learning rate on multi-view data (paper: 1e-4).", min=0.0)
    lr_real: float = knob(0.1, "Learning-rate factor on single-view images (paper: 1/10).", min=0.0, max=1.0)
    lr_decay: float = knob(0.95, "Learning-rate factor applied every --lr-every steps (paper: 0.95).", min=0.0, max=1.0)
    lr_every: int = knob(10_000, "Steps between learning-rate decays (paper: 10,000).", min=1)
    uv_size: int = knob(0, "UV map size S (0: the head model's default).", min=0, max=1024)
    img_size: int = knob(320, "Network input size (multiple of 16; paper: 320).", min=32, max=2048)
    width: int = knob(64, "Width of the first encoder block; the others follow the paper's 1:1:2:4:8.", min=1, max=1024)
    w_rgb: float = knob(1.0, "Weight of the RGB L1 loss.")
    w_ssim: float = knob(0.05, "Weight of the SSIM loss.")
    w_pos: float = knob(0.5, "Weight of the position regularizer (eq. 5).")
    w_scale: float = knob(5e-5, "Weight of the scale regularizer (eq. 6).")
    w_view: float = knob(0.1, "Weight of the view-consistency loss (eq. 7).")
    save_every: int = knob(1000, "Steps between checkpoints (also written at the end).", min=1)
    log_every: int = knob(50, "Steps between log lines.", min=1)
    seed: int = knob(0, "Random seed (each process adds its rank).", min=0)
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    threads: int = knob(0, "CPU threads for torch (0: torch default).", min=0, max=1024)
