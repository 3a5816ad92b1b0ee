"""`dejavu export`: Export an avatar: 3DGS PLY, .splat, UV-map NPZ."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    avatar: str = typer.Argument(..., help="Avatar file (.npz)."),
    ply: str = typer.Option(None, "--ply", help="Write a standard 3DGS PLY (SuperSplat, Spark, Unity, ...)."),
    splat: str = typer.Option(None, "--splat", help="Write an antimatter15 .splat (32 bytes per Gaussian)."),
    npz: str = typer.Option(None, "--npz", help="Write the UV maps as S x S x C images (NPZ)."),
    sh_degree: int = typer.Option(3, "--sh-degree", help="PLY SH degree: 3 (zero-padded f_rest, widest "
                                                         "viewer support) or 0 (compact)."),
    expression: str = typer.Option("neutral", "--expression",
                                   help="neutral, or an expression name of the head model set to 1."),
) -> None:
    """Export an avatar: 3DGS PLY, .splat, UV-map NPZ (static, head pose identity, model space)."""
    from dejavu_cli.errors import DejavuError

    outputs = [p for p in (ply, splat, npz) if p]
    if not outputs:
        raise DejavuError("nothing to export: give --ply, --splat and/or --npz")
    if sh_degree not in (0, 3):
        raise DejavuError(f"--sh-degree must be 0 or 3, got {sh_degree}")
    src = Path(avatar).resolve()
    if any(Path(p).resolve() == src for p in outputs):
        raise DejavuError(f"refusing to overwrite the input {avatar}")
    from dejavu_cli.avatar.file import load_avatar
    from dejavu_cli.export.gaussians import export_gaussians

    av = load_avatar(avatar)
    g = export_gaussians(av, expression) if (ply or splat) else None
    if ply:
        from dejavu_cli.export.ply import write_ply

        write_ply(g, ply, sh_degree=sh_degree)
        typer.echo(f"{len(g['means'])} Gaussians (SH degree {sh_degree}) -> {ply}")
    if splat:
        from dejavu_cli.export.splat import write_splat

        write_splat(g, splat)
        typer.echo(f"{len(g['means'])} Gaussians -> {splat}")
    if npz:
        from dejavu_cli.export.uvmaps import write_uv_npz

        write_uv_npz(av, npz)
        typer.echo(f"UV maps {av.uv_size}x{av.uv_size}x13 -> {npz}")
