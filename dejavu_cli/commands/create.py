"""`dejavu create`: personalize an avatar from a video (paper section 3.4)."""

from __future__ import annotations

from typing import Optional

import typer

from dejavu_cli.config import help_of
from dejavu_cli.create.config import CreateConfig

_C = CreateConfig


def create(
    video: str = typer.Argument(..., help="Input video of one person (any format ffmpeg reads)."),
    out: str = typer.Option(..., "-o", "--out", help="Output avatar file (.npz); written atomically."),
    track: Optional[str] = typer.Option(None, "--track",
                                        help="Tracking file from 'dejavu track' (default: track the video, "
                                             "reusing a cached result for the same video)."),
    head: str = typer.Option("ict", "--head", help=help_of(_C, "head")),
    preset: str = typer.Option("fast", "--preset", help=help_of(_C, "preset")),
    steps: Optional[int] = typer.Option(None, "--steps", help=help_of(_C, "steps") + " Default: the preset's."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help=help_of(_C, "resolution")
                                             + " Default: the preset's."),
    uv_size: Optional[int] = typer.Option(None, "--uv-size", help=help_of(_C, "uv_size") + " Default: the preset's."),
    batch: Optional[int] = typer.Option(None, "--batch", help=help_of(_C, "batch") + " Default: the preset's."),
    device: str = typer.Option("auto", "--device", help=help_of(_C, "device")),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT's checkpoint (.ckpt.npz) written when "
                                                        "a previous run was interrupted with Ctrl-C."),
    seed: int = typer.Option(0, "--seed", help=help_of(_C, "seed")),
    checkpoint: str = typer.Option("", "--checkpoint", help=help_of(_C, "checkpoint")),
    colour_init: bool = typer.Option(True, "--colour-init/--no-colour-init", help=help_of(_C, "colour_init")),
    scale_init: str = typer.Option("auto", "--scale-init", help=help_of(_C, "scale_init")),
    outside_weight: float = typer.Option(0.1, "--outside-weight", help=help_of(_C, "outside_weight")),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Personalize an avatar from a video: track (or reuse --track), then optimize the UV Gaussian map in two
    stages (global rectification, expression-aware blendmaps) against the tracked frames.

    Writes OUT, OUT.report.json (held-out PSNR/SSIM, timings) and OUT.report.png (loss curves, held-out
    frames). Ctrl-C writes a checkpoint next to OUT; run the same command with --resume to continue.
    """
    from dejavu_cli.create.config import preset_config
    from dejavu_cli.usecases.create_video import create_from_video

    cfg = preset_config(preset, head=head, steps=steps, resolution=resolution, uv_size=uv_size, batch=batch,
                        device=device, seed=seed, checkpoint=checkpoint, colour_init=colour_init,
                        scale_init=scale_init, outside_weight=outside_weight)
    try:
        _, rep, paths = create_from_video(video, out, cfg, track_file=track, resume=resume, progress=not quiet,
                                          log=typer.echo)
    except KeyboardInterrupt as exc:  # the library wrote a checkpoint: say where, exit 130
        # (click turns a KeyboardInterrupt into Abort/exit 0 under standalone_mode=False, so raise ours)
        from dejavu_cli.errors import DejavuError

        raise DejavuError(str(exc) or "interrupted", exit_code=130) from None
    lp = "n/a" if rep["lpips"] is None else f"{rep['lpips']:.3f}"
    typer.echo(f"held-out ({rep['heldout_frames']} frames): PSNR {rep['psnr']:.2f} dB, SSIM {rep['ssim']:.3f}, "
               f"LPIPS {lp}; {rep['gaussians']} Gaussians; {rep['seconds_total']:.0f} s on {rep['device']}")
    typer.echo(f"wrote {paths[0]}, {paths[1]}, {paths[2]}")
