"""`dejavu evaluate`: score an avatar against a video's frames (PSNR, SSIM, LPIPS when it loads)."""

from __future__ import annotations

from typing import Optional

import typer

from dejavu_cli.config import option
from dejavu_cli.usecases.config import EvaluateConfig

_C = EvaluateConfig


def evaluate(
    avatar: str = typer.Argument(..., metavar="AVATAR", help="Avatar file (.npz)."),
    video: str = typer.Argument(..., metavar="VIDEO", help="Video of the same person (the training clip or another)."),
    track: Optional[str] = typer.Option(None, "--track", metavar="PATH",
                                        help="Tracking file of VIDEO (default: track it, reusing the cache)."),
    frames: str = option(_C, "frames"),
    size: int = option(_C, "size"),
    device: str = option(_C, "device"),
    batch: int = option(_C, "batch"),
    as_json: bool = typer.Option(False, "--json", help='Print one JSON object: {"psnr", "ssim", "lpips", "size", '
                                                       '"frames": [{"index", "psnr", "ssim"}, ...]}.'),
) -> None:
    """Score an avatar against a video's tracked frames: the same targets, masks and filmed-pixel rule as
    `create` (PSNR over filmed pixels, SSIM; LPIPS only where the lpips package works, else null).

    Example: dejavu evaluate me.npz me.mp4 --frames 400: --size 512 --json
    """
    import json

    from dejavu_cli.config import check_config
    from dejavu_cli.usecases.evaluate import evaluate_avatar

    check_config(EvaluateConfig(frames=frames, size=size, device=device, batch=batch))
    res = evaluate_avatar(avatar, video, track_file=track, frames=frames or None, size=size, device=device,
                          batch=batch,
                          progress=not as_json, log=(lambda s: None) if as_json else (lambda s: typer.echo(s, err=True)))
    if as_json:
        typer.echo(json.dumps(res))
        return
    lp = "n/a (lpips unavailable)" if res["lpips"] is None else f"{res['lpips']:.3f}"
    typer.echo(f"{len(res['frames'])} frames at {res['size']}x{res['size']}: PSNR {res['psnr']:.2f} dB, "
               f"SSIM {res['ssim']:.3f}, LPIPS {lp}")
    worst = sorted(res["frames"], key=lambda f: f["psnr"])[:5]
    typer.echo("lowest PSNR: " + ", ".join(f"row {f['index']} {f['psnr']:.1f} dB" for f in worst))
