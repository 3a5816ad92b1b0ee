"""Options every command spells the same way that no config dataclass holds: ``-o/--output``, ``--quiet``
(``--device`` and the rest come from the configs through ``config.option``).

Light on purpose (the CLI builds its help from it): typer only.
"""

from __future__ import annotations

import typer


def output(what: str, suffix: str, required: bool = True, default=None, more: str = ""):
    """``-o/--output PATH`` of a command that writes ``what``; states the suffix rule."""
    rule = (f"A name without a suffix gets {suffix}; another suffix is refused. Checked before any work, "
            f"written atomically (an existing file is replaced only by a complete one).")
    return typer.Option(... if required else default, "-o", "--output", metavar="PATH",
                        help=f"{what} ({suffix}). {more + ' ' if more else ''}{rule}")


def quiet():
    return typer.Option(False, "--quiet", "-q", help="No progress bars or status lines.")
