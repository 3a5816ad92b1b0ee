"""`dejavu weights`: List, download and verify network checkpoints (registry: weights.toml)."""

from __future__ import annotations

import typer

app = typer.Typer(invoke_without_command=True,
                  no_args_is_help=False, rich_markup_mode=None)


@app.callback()
def _main(ctx: typer.Context) -> None:
    """List, download and verify network checkpoints (registry: weights.toml or $DEJAVU_WEIGHTS_TOML).

    Example: dejavu weights list
    """
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@app.command("list")
def list_() -> None:
    """List registered checkpoints and whether a verified copy is cached.

    Example: dejavu weights list
    """
    from dejavu_cli.recon import registry_ckpt as reg

    entries = reg.list_checkpoints()
    typer.echo(f"registry: {reg.registry_path()}")
    if not entries:
        typer.echo(reg.NO_PUBLIC_CHECKPOINT)
        return
    for e in entries:
        cached = "cached" if reg.cached_path(e) is not None else "not downloaded"
        typer.echo(f"{e.name}  head={e.head} uv={e.uv_size} layout={e.layout}  license={e.license}  "
                   f"[{cached}]\n    {e.source}" + (f"\n    {e.description}" if e.description else ""))


@app.command("download")
def download(name: str = typer.Argument(..., metavar="NAME", help="Checkpoint name from `dejavu weights list`.")) -> None:
    """Download a checkpoint into the cache (sha256-checked) and print its path.

    Example: dejavu weights download NAME
    """
    from dejavu_cli.recon import registry_ckpt as reg

    typer.echo(str(reg.fetch_checkpoint(reg.get_checkpoint(name))))


@app.command("verify")
def verify(name: str = typer.Argument(None, metavar="[NAME]", help="Checkpoint name (default: every registered one).")) -> None:
    """Re-hash cached checkpoints; a corrupt copy is removed. Exit code 1 if any is corrupt.

    Example: dejavu weights verify
    """
    from dejavu_cli.errors import DejavuError
    from dejavu_cli.recon import registry_ckpt as reg

    entries = [reg.get_checkpoint(name)] if name else reg.list_checkpoints()
    if not entries:
        typer.echo(reg.NO_PUBLIC_CHECKPOINT)
        return
    bad = []
    for e in entries:
        status = reg.verify_checkpoint(e)
        typer.echo(f"{e.name}: {status}" + (" (removed; download it again)" if status == "corrupt" else ""))
        if status == "corrupt" or (name and status == "missing"):
            bad.append(e.name)
    if bad:
        raise DejavuError(f"verification failed: {', '.join(bad)}")
