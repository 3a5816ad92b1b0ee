"""`dejavu train-recon`: Train the single-image reconstruction network (docs/recon-training.md)."""

from __future__ import annotations

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import option
from dejavu_cli.recon.config import TrainConfig


def _opt(name: str):
    return option(TrainConfig, name)


def train_recon(
    data: str = typer.Argument(..., metavar="DATA", help="Training folder: multiview/<identity>/*.png and/or single/*.png, "
                                         "each image with its .track.npz (docs/recon-training.md)."),
    output: str = options.output("Checkpoint file to write", ".pt"),
    steps: int = _opt("steps"), batch: int = _opt("batch"), views: int = _opt("views"),
    resolution: int = _opt("resolution"), start_resolution: int = _opt("start_resolution"),
    resolution_every: int = _opt("resolution_every"), lr: float = _opt("lr"), lr_every: int = _opt("lr_every"),
    uv_size: int = _opt("uv_size"), img_size: int = _opt("img_size"), width: int = _opt("width"),
    w_view: float = _opt("w_view"), save_every: int = _opt("save_every"), log_every: int = _opt("log_every"),
    seed: int = _opt("seed"), device: str = _opt("device"), threads: int = _opt("threads"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint at --output."),
) -> None:
    """Train the single-image reconstruction network (paper §3.3): multi-view pairs with view consistency,
    single images at a tenth of the rate, resolution curriculum. Multi-GPU: run under torchrun.

    Example: dejavu train-recon data/ -o recon.pt --steps 20000
    """
    import os

    from dejavu_cli.config import check_config
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.io.outputs import prepare_output
    from dejavu_cli.recon.train import train

    cfg = TrainConfig(steps=steps, batch=batch, views=views, resolution=resolution,
                      start_resolution=start_resolution, resolution_every=resolution_every, lr=lr,
                      lr_every=lr_every, uv_size=uv_size, img_size=img_size, width=width, w_view=w_view,
                      save_every=save_every, log_every=log_every, seed=seed, device=device, threads=threads)
    check_config(cfg)
    output = str(prepare_output(output, ".pt", "checkpoint"))
    if cfg.img_size % 16 or cfg.img_size < 32:
        raise DejavuError("--img-size must be a multiple of 16 and at least 32")
    if os.path.exists(output) and not resume:
        raise DejavuError(f"{output} exists; pass --resume to continue it or choose another --output")
    hist = train(data, output, cfg, resume=resume, log=lambda s: typer.echo(s, err=True))
    if int(os.environ.get("RANK", 0)) == 0 and hist.get("total"):
        typer.echo(f"wrote {output} (step {cfg.steps}, final loss {hist['total'][-1]:.4f}, "
                   f"{hist['seconds']:.1f} s)")
