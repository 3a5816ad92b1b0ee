"""`dejavu reconstruct`: Single-photo avatar (reconstruction network + short optimization)."""

from __future__ import annotations

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import option
from dejavu_cli.create.config import CreateConfig
from dejavu_cli.usecases.config import ReconstructConfig

_C = CreateConfig


def reconstruct(
    photo: str = typer.Argument(..., metavar="PHOTO", help="A photo with one face (any image format OpenCV reads)."),
    output: str = options.output("Avatar file to write", ".npz"),
    checkpoint: str = option(_C, "checkpoint", metavar="PATH|NAME",
                             help="Reconstruction-network checkpoint (path or `dejavu weights` name) for the "
                                  "initial offsets; none: start from the head model."),
    steps: int = option(ReconstructConfig, "steps"),
    head: str = option(_C, "head"),
    uv_size: int = option(_C, "uv_size"),
    resolution: int = option(_C, "resolution"),
    device: str = option(_C, "device"),
    seed: int = option(_C, "seed"),
) -> None:
    """Single-photo avatar: track the photo, apply the network's offsets (with --checkpoint), then a short
    single-view optimization with the paper's position/scale regularizers. `render`/`reenact` take the result.

    Example: dejavu reconstruct me.jpg -o me.npz
    """
    from dejavu_cli.io.outputs import prepare_output  # first and light: a bad location fails at once

    output = str(prepare_output(output, ".npz", "avatar", inputs=(photo,)))

    import dataclasses

    from dejavu_cli.config import check_config
    from dejavu_cli.create.config import preset_config
    from dejavu_cli.usecases.reconstruct_photo import reconstruct_photo

    check_config(ReconstructConfig(steps=steps))
    cfg = preset_config("fast", head=head, uv_size=uv_size, resolution=resolution,
                        device=device, seed=seed, checkpoint=checkpoint, steps=max(steps, 1), batch=1)
    if steps == 0:
        cfg = dataclasses.replace(cfg, lr=0.0)  # one evaluation step, no change: network offsets only
    report = reconstruct_photo(photo, output, cfg, log=lambda s: typer.echo(s, err=True))[1]
    typer.echo(f"wrote {report['output']} ({report['gaussians']} Gaussians, PSNR on the photo {report['psnr']:.2f} "
               f"dB, {report['seconds_total']:.1f} s)")
