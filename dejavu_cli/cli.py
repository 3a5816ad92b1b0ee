"""The ``dejavu`` command line: a thin shell over the library.

Each subcommand lives in ``dejavu_cli/commands/<name>.py`` and imports heavy modules (torch, cv2,
mediapipe) inside the function body, so ``dejavu --help`` stays fast. User errors are
:class:`~dejavu_cli.errors.DejavuError` and print as one line with a non-zero exit code.
"""

from __future__ import annotations

import sys

import typer

from dejavu_cli import __version__
from dejavu_cli.commands import (
    create,
    demo,
    evaluate,
    export,
    info,
    reconstruct,
    reenact,
    render,
    setup,
    template,
    track,
    train_recon,
    view,
    weights,
)
from dejavu_cli.errors import DejavuError

app = typer.Typer(
    name="dejavu",
    help="Turn a short monocular video of a person into a controllable 3D Gaussian-splatting head avatar "
         "(Gaussian Deja-vu).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dejavu {__version__}")
        raise typer.Exit()


RENDERERS = ("auto", "kernel", "torch", "gsplat")


def _renderer(value: str | None) -> str | None:
    """Check ``--renderer`` and hand it to every render in this process (and its workers) through
    ``DEJAVU_RENDERER``, which ``render.api.choose_backend`` reads; light: no torch import here."""
    import os

    if value is None:
        return value
    key = value.strip().lower()
    if key not in RENDERERS:
        raise typer.BadParameter(f"must be one of {', '.join(RENDERERS)} (got {value!r})")
    os.environ["DEJAVU_RENDERER"] = key
    return key


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    renderer: str = typer.Option(None, "--renderer", callback=_renderer, envvar="DEJAVU_RENDERER",
                                 metavar="NAME",
                                 help="Rasterizer for every command: auto (gsplat on a CUDA GPU, the compiled "
                                      "CPU kernel on the CPU), kernel, torch (the plain-PyTorch twin, any "
                                      "device) or gsplat. Goes before the command: dejavu --renderer torch "
                                      "create ..."),
) -> None:
    """Gaussian Deja-vu head avatars from video."""


app.add_typer(setup.app, name="setup")
app.command("track")(track.track)
app.command("create")(create.create)
app.command("reenact")(reenact.reenact)
app.command("evaluate")(evaluate.evaluate)
app.command("export")(export.export)
app.command("render")(render.render)
app.command("view")(view.view)
app.command("reconstruct")(reconstruct.reconstruct)
app.command("info")(info.info)
app.command("template")(template.template)
app.add_typer(weights.app, name="weights")
app.command("train-recon")(train_recon.train_recon)
app.command("demo")(demo.demo)


def _quiet_third_party() -> None:
    """Keep the terminal to our own lines: MediaPipe's C++ log (glog) and numpy's warning about flushed
    denormals (we set torch.set_flush_denormal(True) on CPU on purpose) carry nothing for a user."""
    import os
    import warnings

    os.environ.setdefault("GLOG_minloglevel", "2")

    def one_line(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        typer.echo(f"warning: {' '.join(str(message).split())}", err=True)

    warnings.showwarning = one_line  # e.g. a damaged video that still decodes: one line, like errors
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")


def os_error_line(exc: OSError) -> str:
    """``"No space left on device: /data/out.npz"``: the reason and the path, one line."""
    reason = exc.strerror or str(exc)
    names = [str(n) for n in (exc.filename, exc.filename2) if n]
    return reason + (f": {' -> '.join(names)}" if names else "")


def usage_error_line(exc, argv) -> str:
    """A click usage error as one line, with the command's help hint."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "dejavu"
    return " ".join(exc.format_message().split()) + f" (see `{where} --help`)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    _quiet_third_party()
    command = typer.main.get_command(app)
    try:
        rc = command.main(args=argv, prog_name="dejavu", standalone_mode=False)
    except DejavuError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted (Ctrl-C)", err=True)
        return 130
    except MemoryError:
        typer.echo("error: out of memory (try a smaller --size, --resolution or --batch)", err=True)
        return 1
    except OSError as exc:  # a disk, permission or path problem the command did not foresee
        typer.echo(f"error: {os_error_line(exc)}", err=True)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort as exc:  # click turns Ctrl-C into Abort: report it as the interrupt it was
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            typer.echo("interrupted (Ctrl-C)", err=True)
            return 130
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:  # usage errors of typer's (vendored) click
        if type(exc).__name__.endswith(("UsageError", "BadParameter", "NoSuchOption", "MissingParameter",
                                        "BadOptionUsage", "BadArgumentUsage", "ClickException",
                                        "FileError")) and hasattr(exc, "format_message"):
            typer.echo(f"error: {usage_error_line(exc, argv)}", err=True)
            return int(getattr(exc, "exit_code", 2))
        raise
    return rc if isinstance(rc, int) else 0


def run() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
