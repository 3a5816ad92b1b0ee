"""`dejavu evaluate`: score an avatar against a video's frames (PSNR, SSIM, LPIPS when it loads)."""

from __future__ import annotations

from typing import Optional

import typer

from dejavu_cli.commands import options


def evaluate(
    avatar: str = typer.Argument(..., metavar="AVATAR", help="Avatar file (.npz)."),
    video: str = typer.Argument(..., metavar="VIDEO", help="Video of the same person (the training clip or another)."),
    track: Optional[str] = typer.Option(None, "--track", metavar="PATH",
                                        help="Tracking file of VIDEO (default: track it, reusing the cache)."),
    frames: Optional[str] = typer.Option(None, "--frames", metavar="SPEC",
                                         help="Tracking rows to score: ranges and indices such as 0:40,52,60:90 "
                                              "(end exclusive) or @FILE; default: every row with a face."),
    size: int = typer.Option(512, "--size", metavar="N", min=16, max=4096,
                             help="Render and score at N x N pixels (the paper scores at 512). Range: 16-4096."),
    device: str = options.device(),
    as_json: bool = typer.Option(False, "--json", help='Print one JSON object: {"psnr", "ssim", "lpips", "size", '
                                                       '"frames": [{"index", "psnr", "ssim"}, ...]}.'),
) -> None:
    """Score an avatar against a video's tracked frames: the same targets, masks and filmed-pixel rule as
    `create` (PSNR over filmed pixels, SSIM; LPIPS only where the lpips package works, else null).

    Example: dejavu evaluate me.npz me.mp4 --frames 400: --size 512 --json
    """
    import json

    from dejavu_cli.usecases.evaluate import evaluate_avatar

    res = evaluate_avatar(avatar, video, track_file=track, frames=frames, size=size, device=device,
                          progress=not as_json, log=(lambda s: None) if as_json else (lambda s: typer.echo(s, err=True)))
    if as_json:
        typer.echo(json.dumps(res))
        return
    lp = "n/a (lpips unavailable)" if res["lpips"] is None else f"{res['lpips']:.3f}"
    typer.echo(f"{len(res['frames'])} frames at {res['size']}x{res['size']}: PSNR {res['psnr']:.2f} dB, "
               f"SSIM {res['ssim']:.3f}, LPIPS {lp}")
    worst = sorted(res["frames"], key=lambda f: f["psnr"])[:5]
    typer.echo("lowest PSNR: " + ", ".join(f"row {f['index']} {f['psnr']:.1f} dB" for f in worst))
