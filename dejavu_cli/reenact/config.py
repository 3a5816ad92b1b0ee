"""Configuration of ``dejavu reenact``."""

from __future__ import annotations

from dataclasses import dataclass

from dejavu_cli.config import knob
from dejavu_cli.errors import DejavuError


@dataclass
class ReenactConfig:
    absolute: bool = knob(False, "Copy the driver's coefficients instead of transferring its change from its "
                                 "own neutral (relative transfer, the default, suits a different person).")
    side_by_side: bool = knob(False, "Put the driver's face crop to the left of the render.")
    size: int = knob(512, "Render size in pixels (square).")
    fps: float = knob(0.0, "Output frame rate (0: the driver's).")
    device: str = knob("auto", "Device: auto (cuda when available), cpu or cuda.")
    smooth: float = knob(1.0, "Temporal smoothing of the driving parameters: Gaussian sigma in frames (0: off).")
    start: float = knob(0.0, "Start this many seconds into the driver video.")
    duration: float = knob(0.0, "Use at most this many seconds of the driver (0: to the end).")
    batch: int = knob(4, "Frames rendered per batch.")
    background: str = knob("white", "Background of the render: white or black.")


def validate(cfg: ReenactConfig) -> None:
    """Raise :class:`DejavuError` for option values no run can use."""
    if not 16 <= cfg.size <= 4096:
        raise DejavuError(f"--size must be between 16 and 4096 (got {cfg.size})")
    if cfg.fps < 0 or cfg.fps > 240:
        raise DejavuError(f"--fps must be between 0 (driver's) and 240 (got {cfg.fps})")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise DejavuError(f"--device must be auto, cpu or cuda (got {cfg.device!r})")
    if cfg.smooth < 0:
        raise DejavuError(f"--smooth must be >= 0 (got {cfg.smooth})")
    if cfg.start < 0 or cfg.duration < 0:
        raise DejavuError("--start and --duration must be >= 0")
    if cfg.batch < 1:
        raise DejavuError(f"--batch must be at least 1 (got {cfg.batch})")
    if cfg.background not in ("white", "black"):
        raise DejavuError(f"--background must be white or black (got {cfg.background!r})")
