"""Configuration of ``dejavu reenact``."""

from __future__ import annotations

from dataclasses import dataclass

from dejavu_cli.config import DEVICE_HELP, check_config, check_device_name, knob


@dataclass
class ReenactConfig:
    absolute: bool = knob(False, "Copy the driver's coefficients instead of transferring its change from its "
                                 "own neutral (relative transfer, the default, suits a different person).")
    side_by_side: bool = knob(False, "Put the driver's face crop to the left of the render.")
    size: int = knob(512, "Render size in pixels (square).", min=16, max=4096)
    fps: float = knob(0.0, "Output frame rate (0: the driver's).", min=0.0, max=240.0)
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    smooth: float = knob(1.0, "Temporal smoothing of the driving parameters: Gaussian sigma in frames (0: off).",
                         min=0.0, max=100.0)
    start: float = knob(0.0, "Start this many seconds into the driver video.", min=0.0)
    duration: float = knob(0.0, "Use at most this many seconds of the driver (0: to the end).", min=0.0)
    batch: int = knob(4, "Frames rendered per batch.", min=1, max=64)
    background: str = knob("white", "Background of the render.", choices=("white", "black"))
    frames_out: str = knob("", "Also write one splat file per output frame into this folder (frame_00000.ply, ...; "
                               "the same Gaussians in the same order in every file): the driven avatar in model "
                               "space, metres, y up, its head turned as the driver's relative to the rest pose. "
                               "A folder that already holds frame files is refused.", metavar="DIR")
    frames_format: str = knob("ply", "Format of the --frames-out files: ply (3DGS, SH degree 0) or spz.",
                              choices=("ply", "spz"))


def validate(cfg: ReenactConfig) -> None:
    """Raise :class:`DejavuError` for option values no run can use."""
    check_config(cfg)  # the limits declared on the fields
    check_device_name(cfg.device)
