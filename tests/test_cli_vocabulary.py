"""One CLI vocabulary: -o/--output, --device auto, examples, the suffix rule, early output checks."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from dejavu_cli.cli import app, main
from dejavu_cli.config import check_config, check_device_name, knob, option
from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import atomic_path
from dejavu_cli.io.outputs import check_writable, prepare_output, with_suffix_rule

#: commands that write files (export writes through --ply/--splat/--npz, one flag per format)
WRITERS = {"track", "create", "reenact", "render", "reconstruct", "template", "train-recon", "demo"}


def _leaves():
    """(name, command) of every command and subcommand (typer ships its own click, so no isinstance)."""
    root = typer.main.get_command(app)
    for name, cmd in root.commands.items():
        for sub, leaf in getattr(cmd, "commands", {}).items():
            yield f"{name} {sub}", leaf
        yield name, cmd


def _option(cmd, flag):
    return next((p for p in cmd.params if p.param_type_name == "option" and flag in p.opts), None)


def test_every_writer_has_dash_o_output():
    for name, cmd in _leaves():
        if name in WRITERS:
            opt = _option(cmd, "--output")
            assert opt is not None and "-o" in opt.opts, name


def test_every_device_option_defaults_to_auto():
    seen = 0
    for name, cmd in _leaves():
        opt = _option(cmd, "--device")
        if opt is not None:
            seen += 1
            assert opt.default == "auto", name
    assert seen >= 7


def test_every_command_help_has_an_example_and_no_test_head(capsys):
    for name, _ in _leaves():
        assert main([*name.split(), "--help"]) == 0
        text = capsys.readouterr().out
        assert "Example:" in text, name
        assert "<str>" not in text.split("Options:")[-1], name   # options name their values
        assert "test head" not in text and "test:" not in text, name


def test_suffix_rule(tmp_path):
    assert with_suffix_rule(tmp_path / "me", ".npz") == tmp_path / "me.npz"
    assert with_suffix_rule(tmp_path / "me.NPZ", ".npz") == tmp_path / "me.NPZ"
    assert with_suffix_rule(tmp_path / "clip.npz", ".track.npz", accept=(".npz",)) == tmp_path / "clip.npz"
    for wrong in ("x.avi", "v1.2"):      # another suffix (".2" too) is refused, never replaced or doubled
        with pytest.raises(DejavuError, match="must end in .mp4"):
            with_suffix_rule(tmp_path / wrong, ".mp4")


def test_check_writable_cases(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DejavuError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "a.npz")
    with pytest.raises(DejavuError, match="does not exist"):
        check_writable(tmp_path / "none" / "a.npz")
    with pytest.raises(DejavuError, match="is a folder"):
        check_writable(tmp_path)
    with pytest.raises(DejavuError, match="too long"):
        check_writable(tmp_path / ("n" * 245 + ".npz"))
    with pytest.raises(DejavuError, match="cannot write"):
        check_writable(Path("/proc/x.npz"))
    check_writable(tmp_path / "ok.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]     # the probe left nothing behind
    (tmp_path / "in.npz").write_bytes(b"")
    with pytest.raises(DejavuError, match="overwrite the input"):
        prepare_output(tmp_path / "in", ".npz", inputs=(tmp_path / "in.npz",))


def test_replaced_file_keeps_its_permissions(tmp_path):
    dest = tmp_path / "secret.npz"
    dest.write_bytes(b"old")
    os.chmod(dest, 0o600)
    with atomic_path(dest) as tmp:
        tmp.write_bytes(b"new")
    assert dest.read_bytes() == b"new" and stat.S_IMODE(dest.stat().st_mode) == 0o600


@dataclasses.dataclass
class _Cfg:
    size: int = knob(64, "Size.", min=16, max=128)
    mode: str = knob("a", "Mode.", choices=("a", "b"))


def test_knob_limits_reach_help_and_library():
    opt = option(_Cfg, "size")
    assert opt.default == 64 and "Range: 16-128." in opt.help and opt.metavar == "N"
    assert option(_Cfg, "mode").metavar == "[a|b]"
    check_config(_Cfg())
    with pytest.raises(DejavuError, match="--size must be 16-128"):
        check_config(_Cfg(size=8))
    with pytest.raises(DejavuError, match="--mode must be one of a, b"):
        check_config(_Cfg(mode="c"))
    assert check_device_name("CUDA:1") == "cuda:1"
    with pytest.raises(DejavuError, match="--device"):
        check_device_name("tpu")


def test_usage_errors_are_one_line(capsys):
    assert main(["create", "-o", "x.npz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "dejavu create --help" in err


def test_bad_output_fails_in_seconds_before_any_work(tmp_path):
    """The issue's must-show: `dejavu track clip.mp4 -o /proc/x.npz` stops at once with one line."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 100)
    env = dict(os.environ, DEJAVU_HOME=str(tmp_path / "home"))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dejavu_cli", "track", str(clip), "-o", "/proc/x.npz"],
                         capture_output=True, text=True, timeout=60, env=env)
    elapsed = time.perf_counter() - t0
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "cannot write" in out.stderr, out.stderr
    assert elapsed < 5, elapsed
    assert not (tmp_path / "home" / "tracks").exists()      # nothing was tracked or cached


def test_create_refuses_a_photo_before_tracking(cli, tmp_path, capsys, session_home):
    photo = tmp_path / "me.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    before = set((session_home / "tracks").iterdir()) if (session_home / "tracks").exists() else set()
    assert cli("create", photo, "-o", tmp_path / "me") == 1
    err = capsys.readouterr().err
    assert "dejavu reconstruct" in err and err.count("\n") == 1
    after = set((session_home / "tracks").iterdir()) if (session_home / "tracks").exists() else set()
    assert after == before


def test_non_avatar_files_are_named(cli, tmp_path, capsys):
    ply = tmp_path / "x.ply"
    ply.write_bytes(b"ply\nformat binary_little_endian 1.0\n")
    assert cli("info", ply) == 1
    assert "not a dejavu avatar (.npz)" in capsys.readouterr().err
    assert cli("export", ply, "--ply", tmp_path / "y.ply") == 1
    assert "not a dejavu avatar (.npz)" in capsys.readouterr().err


def test_oserror_is_one_line(monkeypatch, capsys):
    from dejavu_cli import cli

    def full():
        raise OSError(28, "No space left on device", "/data/out.npz")

    app2 = typer.Typer()
    app2.command("full")(full)
    app2.command("other")(lambda: None)
    monkeypatch.setattr(cli, "app", app2)
    assert cli.main(["full"]) == 1
    assert capsys.readouterr().err == "error: No space left on device: /data/out.npz\n"
