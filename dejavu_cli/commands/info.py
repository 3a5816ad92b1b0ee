"""`dejavu info`: Summarize an avatar or tracking file."""

from __future__ import annotations

import typer


def info(
    file: str = typer.Argument(..., metavar="FILE", help="An avatar (.npz) or tracking file (.track.npz)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Summarize an avatar or tracking file.

    Example: dejavu info me.npz --json
    """
    import json

    from dejavu_cli.usecases.info import summarize_file

    facts = summarize_file(file)
    if as_json:
        typer.echo(json.dumps(facts, sort_keys=False, default=str))
        return
    if isinstance(facts.get("frames"), list):  # the per-frame list is for --json; text shows its size
        facts = dict(facts, frames=f"{len(facts['frames'])} rows (yaw/pitch/roll of each with --json)")
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        typer.echo(f"{key:<{width}}  {value}")
