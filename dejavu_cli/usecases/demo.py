"""``dejavu demo``: the whole pipeline on one clip with default settings.

sample clip (or ``--video``) -> head model ready? -> track (cached) -> create (``fast`` preset on CPU,
``paper`` on a GPU) on all but the last seconds -> save avatar + report -> export PLY -> reenact the avatar
with the clip's last seconds (side by side) -> print the paths and the report's figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dejavu_cli.create.config import preset_config
from dejavu_cli.device import resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.export.ply import write_ply
from dejavu_cli.head import registry
from dejavu_cli.io.outputs import prepare_folder
from dejavu_cli.io.sample import ensure_sample
from dejavu_cli.io.video_reader import probe
from dejavu_cli.reenact.config import ReenactConfig
from dejavu_cli.usecases.config import DemoConfig
from dejavu_cli.usecases.create_video import create_from_video
from dejavu_cli.usecases.reenact_video import reenact

#: CreateConfig overrides of ``--quick`` (seconds on a CPU, the result is not a usable avatar).
QUICK_CREATE = {"steps": 4, "resolution": 64, "uv_size": 32, "batch": 2, "colour_frames": 2,
                "max_eval_frames": 2, "n_blend": 2}


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
    """Make sure head model ``name`` is set up; one that can be fetched (ICT) is downloaded when it is not."""
    spec = registry.spec(name)
    if registry.is_ready(name):
        return
    if spec.fetch is None:
        raise DejavuError(f"{spec.title} is not set up: {spec.how_to}; or use --head {registry.DEFAULT_HEAD}")
    log(f"{spec.title} is not set up yet: running 'dejavu setup {name}'")
    try:
        spec.fetch()
    except DejavuError as exc:
        raise DejavuError(f"{spec.title} is not set up and the download failed ({exc}); {spec.how_to}") from None


def run_demo(cfg: DemoConfig, log=print) -> DemoResult:
    """Run the demo; every output goes to ``cfg.out``."""
    t_start = time.perf_counter()
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise DejavuError(f"output folder {out} is a file, not a folder")
    device = resolve_device(cfg.device)
    video = Path(cfg.video) if cfg.video else ensure_sample(log=log)
    info = probe(video)
    out = prepare_folder(out)
    _ensure_head(cfg.head, log)

    preset = "paper" if device.type == "cuda" else "fast"
    overrides = dict(QUICK_CREATE if cfg.quick else {}, **cfg.create_overrides)
    create_cfg = preset_config(preset, head=cfg.head, device=device.type, **overrides)
    log(f"[1/3] track + create: {video.name} ({info.n_frames} frames, {info.duration:.1f} s), {cfg.head} head, "
        f"preset {preset}{' (quick)' if cfg.quick else ''}: {create_cfg.steps} steps at "
        f"{create_cfg.resolution}px on {device.type}")
    avatar, report, (avatar_path, report_json, report_png) = create_from_video(
        video, out / "avatar.npz", create_cfg, progress=not cfg.quick, log=log)
    log(f"avatar: {report['gaussians']} Gaussians, held-out PSNR {report['psnr']:.2f} dB")

    log("[2/3] exporting the 3DGS PLY")
    ply = write_ply(avatar, out / "avatar.ply")

    length = info.n_frames / info.fps
    seconds = min(cfg.reenact_seconds, length)
    size = 64 if cfg.quick else (512 if device.type == "cuda" else 256)
    log(f"[3/3] reenacting the avatar with the last {seconds:.1f} s of the clip ({size}px, side by side)")
    rcfg = ReenactConfig(side_by_side=True, device=device.type, start=max(0.0, length - seconds),
                         size=size)
    t0 = time.perf_counter()
    res = reenact(avatar_path, video, out / "reenact.mp4", rcfg, log=log, progress=not cfg.quick)
    t_reenact = time.perf_counter() - t0

    figures = {k: report.get(k) for k in ("psnr", "ssim", "lpips", "heldout_frames", "gaussians", "preset",
                                          "device", "seconds_tracking", "seconds_total")}
    figures.update({"reenact_frames": res.n_frames, "reenact_seconds": round(t_reenact, 1),
                    "reenact_render_fps": round(res.render_fps, 2),
                    "demo_seconds": round(time.perf_counter() - t_start, 1)})
    return DemoResult(video, Path(avatar_path), Path(report_json),
                      Path(report_png) if Path(report_png).exists() else None, Path(ply), res.out, figures)


def summary_lines(res: DemoResult) -> list[str]:
    """What ``dejavu demo`` prints at the end: the files and the figures, in words."""
    f = res.figures
    lp = "" if f.get("lpips") is None else f", LPIPS {f['lpips']:.3f}"
    lines = [f"done in {f['demo_seconds']:.0f} s ({f['device']}, {f['preset']} preset)",
             f"  avatar       {res.avatar}  ({f['gaussians']:,} Gaussians; held-out PSNR {f['psnr']:.2f} dB, "
             f"SSIM {f['ssim']:.3f}{lp} on {f['heldout_frames']} frames)",
             f"  report       {res.report}" + (f" and {res.report_png}" if res.report_png else ""),
             f"  PLY          {res.ply}  (open it in any 3DGS viewer)",
             f"  reenactment  {res.reenactment}  ({f['reenact_frames']} frames, rendered at "
             f"{f['reenact_render_fps']:.1f} frames/s)"]
    return lines
