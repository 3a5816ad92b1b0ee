"""Configuration of ``dejavu create`` (personalization, paper section 3.4) and its two presets.

``paper`` follows the paper (section 4.2); ``fast`` is sized so a 15 s clip finishes on two CPU cores in
under 20 minutes including tracking. Where the paper and the official code differ (research notes
section 1.6) the ``paper`` preset follows the paper; docs/create.md lists each difference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dejavu_cli.config import knob
from dejavu_cli.errors import DejavuError
from dejavu_cli.head.registry import DEFAULT_HEAD, default_uv_size, head_help

PRESETS = ("fast", "paper")


@dataclass
class CreateConfig:
    preset: str = knob("fast", "Preset: 'paper' (512^2 renders, paper UV size, batch 8) or 'fast' (small, CPU).")
    head: str = knob(DEFAULT_HEAD, head_help())
    steps: int = knob(300, "Total optimization steps (stage 1 + stage 2, split 3:7 as the paper).")
    stage1_fraction: float = knob(0.3, "Fraction of the steps spent in stage 1 (global UV rectification).")
    resolution: int = knob(128, "Training render resolution (square, pixels).")
    uv_size: int = knob(128, "UV Gaussian map size S (the map is S x S; valid texels become Gaussians).")
    batch: int = knob(4, "Frames per optimization step (one renderer call per step).")
    n_blend: int = knob(10, "Number D of expression-aware blendmaps (paper: 10).")
    lr: float = knob(0.05, "Adam learning rate (paper: 0.05).")
    lr_decay: float = knob(0.9, "Learning-rate factor applied every lr_every steps (paper: 0.9).")
    lr_every: int = knob(100, "Steps between learning-rate decays (paper: 100).")
    w_l1: float = knob(1.0, "Weight of the L1 photometric loss.")
    w_ssim: float = knob(0.05, "Weight of the SSIM loss (1 - SSIM).")
    w_lpips: float = knob(0.5, "Weight of LPIPS (used only when the lpips package works; it does not offline).")
    w_pos: float = knob(0.5, "Weight of the position regularizer ||delta_pos * M_mu||.")
    w_scale: float = knob(5e-5, "Weight of the scale regularizer ||delta_s||.")
    outside_weight: float = knob(0.1, "Loss weight of crop pixels outside the filmed video frame (the tracker pads "
                                      "them white): 0 ignores them, 1 treats them as background. A little keeps "
                                      "unfilmed Gaussians from stretching freely; metrics never count them.")
    heldout_fraction: float = knob(0.1, "Last fraction of frames held out for evaluation (paper: 10%).")
    colour_init: bool = knob(True, "Start colours from the video (project frames onto texels) instead of grey.")
    scale_init: str = knob("auto", "Initial Gaussian size: 'spacing' (0.6 x the texel spacing on the tracked "
                                   "mesh), 'paper' (log-scale -8.3533, sized for the network's offsets) or "
                                   "'auto' (spacing without --checkpoint, paper with one).")
    colour_frames: int = knob(8, "Frames projected for the colour initialization.")
    checkpoint: str = knob("", "Reconstruction-network checkpoint for the mean offsets (empty: zeros).")
    device: str = knob("auto", "Device: auto (cuda when available), cpu or cuda.")
    seed: int = knob(0, "Random seed (same seed on CPU -> identical maps).")
    eval_every: int = knob(0, "Evaluate held-out PSNR every N steps for the loss curve (0: only at the end).")
    max_eval_frames: int = knob(100, "At most this many held-out frames (evenly spaced) are rendered for the metrics.")
    threads: int = knob(0, "torch CPU threads (0: leave torch's default).")


def preset_config(name: str, **overrides) -> CreateConfig:
    """The :class:`CreateConfig` of preset ``name`` with ``overrides`` (``None`` values ignored)."""
    if name not in PRESETS:
        raise DejavuError(f"unknown preset {name!r} (choose one of: {', '.join(PRESETS)})")
    if name == "paper":

        uv = default_uv_size(overrides.get("head") or DEFAULT_HEAD)
        base = CreateConfig(preset="paper", steps=800, resolution=512, uv_size=uv, batch=8)
    else:
        base = CreateConfig(preset="fast")
    fields = {f.name for f in dataclasses.fields(CreateConfig)}
    clean = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(clean) - fields
    if unknown:
        raise TypeError(f"unknown CreateConfig fields: {sorted(unknown)}")
    cfg = dataclasses.replace(base, **clean)
    validate(cfg)
    return cfg


def validate(cfg: CreateConfig) -> None:
    """Raise :class:`DejavuError` for option values no run can use."""
    if cfg.steps < 1:
        raise DejavuError(f"--steps must be at least 1 (got {cfg.steps})")
    if not 16 <= cfg.resolution <= 2048:
        raise DejavuError(f"--resolution must be between 16 and 2048 (got {cfg.resolution})")
    if not 8 <= cfg.uv_size <= 1024:
        raise DejavuError(f"--uv-size must be between 8 and 1024 (got {cfg.uv_size})")
    if cfg.batch < 1:
        raise DejavuError(f"--batch must be at least 1 (got {cfg.batch})")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise DejavuError(f"--device must be auto, cpu or cuda (got {cfg.device!r})")
    if cfg.scale_init not in ("auto", "spacing", "paper"):
        raise DejavuError(f"scale_init must be auto, spacing or paper (got {cfg.scale_init!r})")
    if not 0.0 <= cfg.stage1_fraction <= 1.0:
        raise DejavuError("stage1_fraction must be in [0, 1]")
    if not 0.0 <= cfg.outside_weight <= 1.0:
        raise DejavuError(f"outside_weight must be in [0, 1] (got {cfg.outside_weight})")
    if not 0.0 < cfg.heldout_fraction < 1.0:
        raise DejavuError("heldout_fraction must be in (0, 1)")


def stage_steps(cfg: CreateConfig) -> tuple[int, int]:
    """(stage-1 steps, stage-2 steps), split 3:7 by default; both stages get at least one step when
    ``steps >= 2`` and the fraction is strictly between 0 and 1."""
    s1 = int(round(cfg.steps * cfg.stage1_fraction))
    if 0 < cfg.stage1_fraction < 1 and cfg.steps >= 2:
        s1 = min(max(s1, 1), cfg.steps - 1)
    return s1, cfg.steps - s1
