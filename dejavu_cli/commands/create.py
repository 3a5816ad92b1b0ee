"""`dejavu create`: personalize an avatar from a video (paper section 3.4)."""

from __future__ import annotations

from typing import Optional

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import option
from dejavu_cli.create.config import CreateConfig, preset_note

_C = CreateConfig


def create(
    video: str = typer.Argument(..., metavar="VIDEO", help="Input video of one person (any format ffmpeg reads)."),
    output: str = options.output("Avatar file to write", ".npz",
                                 more="Its report goes beside it: NAME.report.json and NAME.report.png."),
    track: Optional[str] = typer.Option(None, "--track", metavar="PATH",
                                        help="Tracking file from 'dejavu track' (default: track the video, "
                                             "reusing a cached result for the same video)."),
    head: str = option(_C, "head"),
    preset: str = option(_C, "preset"),
    steps: Optional[int] = option(_C, "steps", default=None, extra_help=preset_note("steps")),
    resolution: Optional[int] = option(_C, "resolution", default=None, extra_help=preset_note("resolution")),
    uv_size: Optional[int] = option(_C, "uv_size", default=None, extra_help=preset_note("uv_size")),
    batch: Optional[int] = option(_C, "batch", default=None, extra_help=preset_note("batch")),
    device: str = option(_C, "device"),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUTPUT's checkpoint (NAME.ckpt.npz) written "
                                                        "when a previous run was interrupted."),
    seed: int = option(_C, "seed"),
    checkpoint: str = option(_C, "checkpoint", metavar="PATH|NAME"),
    train_frames: str = option(_C, "train_frames"),
    holdout_frames: str = option(_C, "holdout_frames"),
    colour_init: bool = option(_C, "colour_init"),
    scale_init: str = option(_C, "scale_init"),
    outside_weight: float = option(_C, "outside_weight"),
    checkpoint_every: int = option(_C, "checkpoint_every"),
    quiet: bool = options.quiet(),
) -> None:
    """Personalize an avatar from a video: track (or reuse --track), then optimize the UV Gaussian map in two
    stages (global rectification, expression-aware blendmaps) against the tracked frames.

    Writes OUTPUT, OUTPUT.report.json (held-out PSNR/SSIM, timings) and OUTPUT.report.png (loss curves,
    held-out frames, scored at 512x512). A checkpoint NAME.ckpt.npz is written every --checkpoint-every
    steps and on Ctrl-C; run the same command with --resume to continue. A still photo is refused: use
    `dejavu reconstruct` for one.

    Example: dejavu create me.mp4 -o me.npz   (standard preset, under 10 min on a CPU; --preset fast for a
    2-minute look; on a GPU: --preset paper)
    """
    from dejavu_cli.io.outputs import prepare_output  # first and light: a bad location fails at once

    output = str(prepare_output(output, ".npz", "avatar", inputs=(video, track)))

    from dejavu_cli.create.config import preset_config
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.usecases.create_video import create_from_video

    cfg = preset_config(preset, head=head, steps=steps, resolution=resolution, uv_size=uv_size, batch=batch,
                        device=device, seed=seed, checkpoint=checkpoint, colour_init=colour_init,
                        train_frames=train_frames, holdout_frames=holdout_frames, checkpoint_every=checkpoint_every,
                        scale_init=scale_init, outside_weight=outside_weight)
    log = (lambda s: None) if quiet else (lambda s: typer.echo(s, err=True))
    try:
        _, rep, paths = create_from_video(video, output, cfg, track_file=track, resume=resume, progress=not quiet,
                                          log=log)
    except KeyboardInterrupt as exc:  # the library wrote a checkpoint: say where, exit 130
        # (click turns a KeyboardInterrupt into Abort/exit 0 under standalone_mode=False, so raise ours)
        raise DejavuError(str(exc) or "interrupted", exit_code=130) from None
    lp = "n/a" if rep["lpips"] is None else f"{rep['lpips']:.3f}"
    n = rep["eval_size"]
    typer.echo(f"held-out ({rep['eval_frames']} frames at {n}x{n}): PSNR {rep['psnr']:.2f} dB, SSIM {rep['ssim']:.3f}, "
               f"LPIPS {lp} (at the {rep['train_resolution']}px training resolution: {rep['psnr_train_res']:.2f} dB); "
               f"{rep['gaussians']} Gaussians; {rep['seconds_total']:.0f} s on {rep['device']}")
    art, cov = rep["artifacts"], rep["coverage"]
    typer.echo(f"artifacts: spikes {art['spikes']:.2%} of visible Gaussians, see-through {art['see_through']:.2f}; "
               f"head surface seen in training: {cov['head_seen']['total']:.0%}")
    if cov.get("capture_hint"):
        typer.echo(f"note: {cov['capture_hint']}")
    typer.echo(f"wrote {paths[0]}, {paths[1]}, {paths[2]}")
