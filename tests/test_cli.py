import subprocess
import sys
import time

from dejavu_cli.cli import main

COMMANDS = ["track", "create", "reenact", "export", "render", "reconstruct", "setup", "info", "template",
            "weights", "train-recon", "demo"]


def test_help_lists_subcommands_fast():
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dejavu_cli", "--help"], capture_output=True, text=True,
                         timeout=60)
    elapsed = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr
    for name in COMMANDS:
        assert name in out.stdout
    assert elapsed < 10  # generous for a loaded CI box; measured ~0.25 s on 2 cores
    # heavy modules must not be imported by --help
    probe = subprocess.run([sys.executable, "-c",
                            "import sys; from dejavu_cli import cli; "
                            "print(sorted(m for m in ('torch','cv2','mediapipe') if m in sys.modules))"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "[]", probe.stdout + probe.stderr


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "dejavu" in capsys.readouterr().out


def test_unknown_option_is_one_line_error(capsys):
    code = main(["info", "--no-such-option"])
    assert code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_exit_codes_propagate(monkeypatch):
    import typer

    from dejavu_cli import cli

    def boom():
        raise KeyboardInterrupt

    def exit3():
        raise typer.Exit(3)

    app = typer.Typer()
    app.command("boom")(boom)
    app.command("exit3")(exit3)
    monkeypatch.setattr(cli, "app", app)
    assert cli.main(["boom"]) == 130
    assert cli.main(["exit3"]) == 3


def test_ctrl_c_inside_click_is_exit_130_with_a_line(monkeypatch, capsys):
    """click turns a KeyboardInterrupt raised while it parses or runs into Abort; it must still be 130."""
    import typer

    from dejavu_cli import cli

    def abort_from_ctrl_c():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise typer.Abort() from exc

    app = typer.Typer()
    app.command("x")(abort_from_ctrl_c)
    app.command("y")(lambda: None)
    monkeypatch.setattr(cli, "app", app)
    assert cli.main(["x"]) == 130
    assert "interrupted" in capsys.readouterr().err
