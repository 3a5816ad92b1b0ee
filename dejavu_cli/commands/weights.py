"""`dejavu weights`: List, download and verify network checkpoints."""

from __future__ import annotations

import typer

from dejavu_cli.errors import NotImplementedYet

app = typer.Typer(help="List, download and verify network checkpoints.", invoke_without_command=True, no_args_is_help=False)


@app.callback()
def _main(ctx: typer.Context) -> None:
    """List, download and verify network checkpoints."""
    if ctx.invoked_subcommand is None:
        raise NotImplementedYet("'dejavu weights' is not implemented yet")
