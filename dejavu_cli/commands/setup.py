"""`dejavu setup`: Set up head models (ICT-FaceKit, FLAME)."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet

app = typer.Typer(help="Set up head models (ICT-FaceKit, FLAME).", invoke_without_command=True, no_args_is_help=False)


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Set up head models (ICT-FaceKit, FLAME)."""
    if ctx.invoked_subcommand is None:
        raise NotImplementedYet("'dejavu setup' is not implemented yet")
