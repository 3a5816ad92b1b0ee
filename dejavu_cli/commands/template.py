"""`dejavu template`: Write the initial (not personalized) avatar of a head model."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from dejavu_cli.config import help_of, knob


@dataclass
class TemplateConfig:
    head: str = knob("ict", "Head model: ict, flame or test.")
    uv_size: int = knob(0, "UV map size S (0 = the head's default: ict 384, flame 320, test 96).")
    opacity: str = knob("official", "Initial opacity logits: official (face 1, scalp 0, ramps) or paper (0.1).")


def template(
    head: str = typer.Option("ict", "--head", help=help_of(TemplateConfig, "head")),
    uv_size: int = typer.Option(0, "--uv-size", help=help_of(TemplateConfig, "uv_size")),
    opacity: str = typer.Option("official", "--opacity", help=help_of(TemplateConfig, "opacity")),
    output: str = typer.Option(..., "-o", "--output", help="Avatar file to write (.npz)."),
) -> None:
    """Write the initial (not personalized) avatar of a head model."""
    from dejavu_cli.avatar.file import save_avatar, template_avatar
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    if opacity not in ("official", "paper"):
        raise DejavuError(f"--opacity must be official or paper, got {opacity!r}")
    model = load_head(head)
    layout = build_layout(model, uv_size or None)
    path = save_avatar(output, template_avatar(model, layout, opacity=opacity))
    typer.echo(f"{layout.n_texels} Gaussians ({model.name}, UV {layout.uv_size}x{layout.uv_size}, "
               f"layout {layout.check}) -> {path}")
