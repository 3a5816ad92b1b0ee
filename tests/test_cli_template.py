"""`dejavu template` (test head fast; ICT in test_cli_export)."""

import re

import numpy as np


def test_template_test_head(cli, tmp_path, capsys):
    out = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "32", "-o", out) == 0
    printed = capsys.readouterr().out
    n = int(re.match(r"(\d+) Gaussians", printed).group(1))
    with np.load(out, allow_pickle=False) as d:
        assert str(d["schema"]) == "dejavu.avatar/1" and d["init"].shape == (n, 13)
        assert int(d["uv_size"]) == 32 and d["blendmaps"].shape == (0, n, 13)


def test_template_bad_options(cli, tmp_path, capsys):
    assert cli("template", "--head", "nope", "-o", tmp_path / "x.npz") != 0
    assert cli("template", "--head", "test", "--uv-size", "8", "-o", tmp_path / "x.npz") != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 2
    assert not (tmp_path / "x.npz").exists()
