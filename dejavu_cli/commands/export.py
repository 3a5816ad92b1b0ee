"""`dejavu export`: Export an avatar: 3DGS PLY, .splat, SPZ, SOG, glTF (KHR_gaussian_splatting), UV-map NPZ."""

from __future__ import annotations

from typing import Optional

import typer

from dejavu_cli.config import option
from dejavu_cli.usecases.config import ExportConfig

_C = ExportConfig
_RULE = "A name without the suffix gets it; another suffix is refused."


def export(
    avatar: str = typer.Argument(..., metavar="AVATAR", help="Avatar file (.npz)."),
    ply: Optional[str] = typer.Option(None, "--ply", metavar="PATH",
                                      help=f"Write a standard 3DGS PLY (.ply; Spark, gsplat.js, SuperSplat). {_RULE}"),
    splat: Optional[str] = typer.Option(None, "--splat", metavar="PATH",
                                        help=f"Write an antimatter15 .splat (32 bytes per Gaussian). {_RULE}"),
    spz: Optional[str] = typer.Option(None, "--spz", metavar="PATH",
                                      help=f"Write a Niantic SPZ (.spz, compressed, about 10x smaller than the PLY; "
                                           f"Spark, SuperSplat, splat-transform; always in SPZ's own y-up frame). "
                                           f"{_RULE}"),
    sog: Optional[str] = typer.Option(None, "--sog", metavar="PATH",
                                      help=f"Write a PlayCanvas SOG (.sog, lossless WebP in a ZIP, about 15x smaller "
                                           f"than the PLY; PlayCanvas, SuperSplat, Spark; PLY frame, so "
                                           f"--convention applies). {_RULE}"),
    glb: Optional[str] = typer.Option(None, "--glb", metavar="PATH",
                                      help=f"Write glTF 2.0 binary with KHR_gaussian_splatting (.glb; engines, "
                                           f"Babylon.js, PlayCanvas, Cesium; always glTF's own y-up frame). {_RULE}"),
    npz: Optional[str] = typer.Option(None, "--npz", metavar="PATH",
                                      help=f"Write the UV maps as S x S x C images (.npz). {_RULE}"),
    sh_degree: int = option(_C, "sh_degree"),
    expression: str = option(_C, "expression"),
    convention: str = option(_C, "convention"),
) -> None:
    """Export an avatar: 3DGS PLY, .splat, SPZ, SOG, GLB, UV-map NPZ (static, head pose identity, model space, metres).

    Example: dejavu export me.npz --ply me.ply --splat me.splat   (--convention inria for SuperSplat)
    """
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.io.outputs import prepare_output  # first and light: a bad location fails at once

    if not (ply or splat or spz or sog or glb or npz):
        raise DejavuError("nothing to export: give --ply, --splat, --spz, --sog, --glb and/or --npz")
    from dejavu_cli.config import check_config

    check_config(ExportConfig(sh_degree=sh_degree, expression=expression, convention=convention))
    ply, splat, spz, sog, glb, npz = (
        prepare_output(p, sfx, what, inputs=(avatar,)) if p else None
        for p, sfx, what in ((ply, ".ply", "PLY"), (splat, ".splat", "splat file"), (spz, ".spz", "SPZ file"),
                             (sog, ".sog", "SOG file"), (glb, ".glb", "glTF file"), (npz, ".npz", "UV-map file")))

    from dejavu_cli.avatar.file import load_avatar
    from dejavu_cli.export.gaussians import export_gaussians, to_convention
    from dejavu_cli.export.glb import write_glb
    from dejavu_cli.export.ply import write_ply
    from dejavu_cli.export.sog import write_sog
    from dejavu_cli.export.splat import write_splat
    from dejavu_cli.export.spz import write_spz
    from dejavu_cli.export.uvmaps import write_uv_npz
    av = load_avatar(avatar)
    raw = export_gaussians(av, expression) if (ply or splat or spz or sog or glb) else None
    g = to_convention(raw, convention) if (ply or splat or sog) else None
    # (destination, writer, Gaussians it takes, what the line says): the PLY frame ones take the convention
    splat_files = ((ply, lambda d, p: write_ply(d, p, sh_degree=sh_degree), g, f"SH degree {sh_degree}, {convention}"),
                   (splat, write_splat, g, convention), (spz, write_spz, raw, "SPZ v3"),
                   (sog, write_sog, g, f"SOG v2, {convention}"), (glb, write_glb, raw, "glTF KHR_gaussian_splatting"))
    for path, write, data, what in splat_files:
        if path:
            write(data, path)
            typer.echo(f"{len(data['means'])} Gaussians ({what}) -> {path}")
    if npz:
        write_uv_npz(av, npz)
        typer.echo(f"UV maps {av.uv_size}x{av.uv_size}x13 -> {npz}")
