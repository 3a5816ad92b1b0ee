"""`dejavu template`: Write the initial (not personalized) avatar of a head model."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from dejavu_cli.commands import options
from dejavu_cli.config import knob, option
from dejavu_cli.head.registry import DEFAULT_HEAD, head_help, uv_size_help


@dataclass
class TemplateConfig:
    head: str = knob(DEFAULT_HEAD, head_help(), metavar="HEAD")
    uv_size: int = knob(0, uv_size_help(), min=0, max=1024)
    opacity: str = knob("official", "Initial opacity logits: official (face 1, scalp 0, ramps) or paper (0.1).",
                        choices=("official", "paper"))


_C = TemplateConfig


def template(
    head: str = option(_C, "head"),
    uv_size: int = option(_C, "uv_size"),
    opacity: str = option(_C, "opacity"),
    output: str = options.output("Avatar file to write", ".npz"),
) -> None:
    """Write the initial (not personalized) avatar of a head model.

    Example: dejavu template -o template.npz && dejavu export template.npz --ply template.ply
    """
    from dejavu_cli.io.outputs import prepare_output  # first and light: a bad location fails at once

    out = prepare_output(output, ".npz", "avatar")

    from dejavu_cli.avatar.file import save_avatar, template_avatar
    from dejavu_cli.config import check_config
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    check_config(TemplateConfig(head=head, uv_size=uv_size, opacity=opacity))
    if 0 < uv_size < 16:
        raise DejavuError(f"--uv-size must be 0 (the head's default) or 16-1024 (got {uv_size})")
    model = load_head(head)
    layout = build_layout(model, uv_size or None)
    path = save_avatar(out, template_avatar(model, layout, opacity=opacity))
    typer.echo(f"{layout.n_texels} Gaussians ({model.name}, UV {layout.uv_size}x{layout.uv_size}, "
               f"layout {layout.check}) -> {path}")
