"""`dejavu info` on avatars, foreign and truncated files."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def avatar_file(tmp_path_factory):
    from dejavu_cli.cli import main

    path = tmp_path_factory.mktemp("info") / "t.npz"
    assert main(["template", "--head", "test", "--uv-size", "32", "-o", str(path)]) == 0
    return path


def test_info_json(cli, avatar_file, capsys):
    capsys.readouterr()
    assert cli("info", avatar_file, "--json") == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["head"] == "test" and facts["uv_size"] == 32 and facts["blendmaps"] == 0
    assert facts["gaussians"] > 0 and facts["version"]
    assert cli("info", avatar_file) == 0
    assert "gaussians" in capsys.readouterr().out


def test_info_bad_files_one_line(cli, avatar_file, tmp_path, capsys):
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(avatar_file.read_bytes()[:300])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(2))
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    capsys.readouterr()
    for bad in (trunc, foreign, text, tmp_path / "missing.npz"):
        assert cli("info", bad) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_info_dispatches_tracking_files(cli, tmp_path, monkeypatch, capsys):
    import dejavu_cli.track.api as track_file

    path = tmp_path / "x.track.npz"
    np.savez(path, schema=np.array("dejavu.track/1"))
    monkeypatch.setattr(track_file, "summarize", lambda p: {"schema": "dejavu.track/1", "frames": 3})
    capsys.readouterr()
    assert cli("info", path, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"schema": "dejavu.track/1", "frames": 3}
