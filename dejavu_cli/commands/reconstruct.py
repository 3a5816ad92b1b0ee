"""`dejavu reconstruct`: Single-photo avatar (reconstruction network + short optimization)."""

from __future__ import annotations

import typer

from dejavu_cli.config import default_of, help_of
from dejavu_cli.create.config import CreateConfig


def reconstruct(
    photo: str = typer.Argument(..., help="A photo with one face (any image format OpenCV/ffmpeg read)."),
    output: str = typer.Option(..., "-o", "--output", help="Avatar file to write (.npz)."),
    checkpoint: str = typer.Option("", "--checkpoint",
                                   help="Reconstruction-network checkpoint (path or `dejavu weights` name) for "
                                        "the initial offsets; none: start from the head model."),
    steps: int = typer.Option(100, "--steps", help="Optimization steps on the photo (0: network offsets only)."),
    head: str = typer.Option(default_of(CreateConfig, "head"), "--head", help=help_of(CreateConfig, "head")),
    uv_size: int = typer.Option(default_of(CreateConfig, "uv_size"), "--uv-size", help=help_of(CreateConfig, "uv_size")),
    resolution: int = typer.Option(default_of(CreateConfig, "resolution"), "--resolution",
                                   help=help_of(CreateConfig, "resolution")),
    device: str = typer.Option(default_of(CreateConfig, "device"), "--device", help=help_of(CreateConfig, "device")),
    seed: int = typer.Option(default_of(CreateConfig, "seed"), "--seed", help=help_of(CreateConfig, "seed")),
) -> None:
    """Single-photo avatar: track the photo, apply the network's offsets (with --checkpoint), then a short
    single-view optimization with the paper's position/scale regularizers. `render`/`reenact` take the result."""
    import dataclasses
    from pathlib import Path

    import torch

    from dejavu_cli.create.config import preset_config
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.usecases.reconstruct_photo import reconstruct_photo

    torch.set_flush_denormal(True)
    if steps < 0:
        raise DejavuError("--steps must be 0 or more")
    if Path(output).suffix.lower() != ".npz":
        raise DejavuError(f"--output must be an .npz avatar file, got {output}")
    cfg = preset_config("fast", head=head, uv_size=uv_size, resolution=resolution, device=device, seed=seed,
                        checkpoint=checkpoint, steps=max(steps, 1), batch=1)
    if steps == 0:
        cfg = dataclasses.replace(cfg, lr=0.0)  # one evaluation step, no change: network offsets only
    _, report = reconstruct_photo(photo, output, cfg, log=lambda s: typer.echo(s, err=True))
    typer.echo(f"wrote {output} ({report['gaussians']} Gaussians, PSNR on the photo {report['psnr']:.2f} dB, "
               f"{report['seconds_total']:.1f} s)")
