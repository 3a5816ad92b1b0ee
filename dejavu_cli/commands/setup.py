"""`dejavu setup`: set up head models (ICT-FaceKit, FLAME) and the GPU renderer; list which are ready."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(invoke_without_command=True, no_args_is_help=False, rich_markup_mode=None)


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Set up head models (ICT-FaceKit, FLAME) and the GPU renderer; without a subcommand list the models.

    Example: dejavu setup   (then: dejavu setup ict)
    """
    if ctx.invoked_subcommand is None:
        from dejavu_cli.head.registry import status_lines

        for line in status_lines():
            typer.echo(line)


@app.command("ict")
def ict(
    archive: Optional[Path] = typer.Option(
        None, "--archive", metavar="ZIP", help="Local zip of ICT-FaceKit commit da5f95a (GitHub 'Download ZIP'); "
                                               "default: $DEJAVU_ICT_ARCHIVE, else download it (~120 MB)."),
    force: bool = typer.Option(False, "--force", help="Convert again even if an up-to-date ict.npz exists."),
) -> None:
    """Verify (per-file sha256) and convert ICT-FaceKit (MIT licence) into $DEJAVU_HOME/heads/ict.npz.

    Example: dejavu setup ict --archive ICT-FaceKit-da5f95a607f5e6b37755b38d3385d7f2853732e5.zip
    """
    from dejavu_cli.head.ict import setup_ict
    from dejavu_cli.head.registry import describe

    path = setup_ict(archive=archive, force=force)
    typer.echo(f"ICT-FaceKit ready: {describe('ict')} -> {path}")


@app.command("flame")
def flame(
    pkl: Path = typer.Argument(..., metavar="PKL", help="FLAME 2020, 2023 or 2023 Open model pickle (e.g. "
                                                        "generic_model.pkl), downloaded by you from flame.is.tue.mpg.de."),
    uv_template: Optional[Path] = typer.Option(
        None, "--uv-template", metavar="OBJ", help="OBJ with FLAME's 5,023 vertices and a UV layout (e.g. "
                                                   "head_template.obj); default: the UVs in the pickle, else a "
                                                   "derived cylindrical layout."),
) -> None:
    """Convert a FLAME pickle (read without chumpy and without running code from it) into flame.npz.

    Example: dejavu setup flame generic_model.pkl --uv-template head_template.obj
    """
    from dejavu_cli.head.flame import setup_flame
    from dejavu_cli.head.registry import describe

    path = setup_flame(pkl, uv_template=uv_template)
    typer.echo(f"FLAME ready: {describe('flame')} -> {path}")


@app.command("gpu")
def gpu() -> None:
    """Build gsplat's CUDA kernels now (minutes, once) and say which renderer commands will use.

    Example: dejavu setup gpu
    """
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.render.gsplat_backend import GSPLAT_VERSION, NO_GPU, gsplat_status

    for line in gpu_lines(*gsplat_status(), GSPLAT_VERSION):
        typer.echo(line)
    ok, reason = gsplat_status()
    if not ok and reason != NO_GPU:
        raise DejavuError(f"gsplat's CUDA kernels are unavailable: {reason}")


def gpu_lines(ok: bool, reason: str, version: str) -> list[str]:
    """What `dejavu setup gpu` prints for a capability result."""
    import torch

    from dejavu_cli.render.gsplat_backend import NO_GPU

    if reason == NO_GPU or not torch.cuda.is_available():
        return ["no CUDA GPU: every command renders on the CPU with the compiled rasterizer kernel "
                "(numba; compiled on first use and cached; `dejavu --renderer torch` picks the PyTorch twin)"]
    name = torch.cuda.get_device_name()
    if ok:
        return [f"gsplat {version} CUDA kernels ready on {name}: commands on --device auto/cuda render with gsplat; "
                "--device cpu renders with the compiled CPU kernel"]
    return [f"{name}: commands on --device auto/cuda render with the PyTorch rasterizer on the GPU (slower) "
            "until gsplat's kernels build"]
