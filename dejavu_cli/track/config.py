"""Options of ``dejavu track`` / :func:`dejavu_cli.track.pipeline.track_video`."""

from __future__ import annotations

from dataclasses import dataclass

from dejavu_cli.config import DEVICE_HELP, knob
from dejavu_cli.head.registry import DEFAULT_HEAD, head_help


@dataclass
class TrackConfig:
    head: str = knob(DEFAULT_HEAD, head_help(), metavar="HEAD")
    size: int = knob(512, "Crop resolution in pixels (square).", min=32, max=2048)
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    every: int = knob(1, "Track every N-th frame only (the tracking file then has fps / N).", min=1, max=1000)
    crop_scale: float = knob(1.8, "Crop side as a multiple of the face landmarks' extent.", min=1.0, max=4.0)
    iterations: int = knob(300, "Adam iterations of the landmark fit (all frames at once).", min=1, max=100_000)
    smooth_crop_s: float = knob(0.15, "Temporal smoothing (Gaussian sigma, seconds) of the crop centre.")
    smooth_expression: float = knob(100.0, "Weight of the temporal expression smoothness term.")
    feature_weight: float = knob(3.0, "Fit weight of the eyelid, brow and inner-lip landmarks relative to the "
                                      "others (they drive blinks, brow raises and lip shapes; 1: uniform).",
                                 min=0.0, max=100.0)
    smooth_pose: float = knob(3.0, "Weight of the temporal pose smoothness term (second differences).")
