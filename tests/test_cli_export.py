"""`dejavu export`: the must-show ICT round trip (template -> PLY/.splat/NPZ) and error cases."""

import re

import numpy as np
import pytest
from plyfile import PlyData

from dejavu_cli.export.ply import ply_property_names


def _template(cli, capsys, path, *args):
    capsys.readouterr()
    assert cli("template", *args, "-o", path) == 0
    return int(re.match(r"(\d+) Gaussians", capsys.readouterr().out).group(1))


def _check_ply(path, n, degree):
    v = PlyData.read(str(path))["vertex"]
    assert [p.name for p in v.properties] == ply_property_names(degree)
    assert v.count == n
    data = np.stack([v[p.name] for p in v.properties], 1)
    assert np.isfinite(data).all()
    return v


def test_export_test_head(cli, tmp_path, capsys):
    t = tmp_path / "t.npz"
    n = _template(cli, capsys, t, "--head", "test", "--uv-size", "32")
    assert cli("export", t, "--ply", tmp_path / "a.ply", "--sh-degree", "0", "--splat", tmp_path / "a.splat",
               "--npz", tmp_path / "uv.npz") == 0
    v = _check_ply(tmp_path / "a.ply", n, 0)
    assert (tmp_path / "a.splat").stat().st_size == 32 * n
    with np.load(tmp_path / "uv.npz", allow_pickle=False) as d:
        assert d["init"].shape == (32, 32, 13) and int(d["valid"].sum()) == n
    # --expression: a driver moves the geometry; an unknown one is a one-line error
    assert cli("export", t, "--ply", tmp_path / "b.ply", "--sh-degree", "0", "--expression", "jawOpen") == 0
    w = PlyData.read(str(tmp_path / "b.ply"))["vertex"]
    assert not np.allclose(v["y"], w["y"])
    # --convention inria: the same splats turned half a turn about z (SuperSplat's y-down assumption)
    assert cli("export", t, "--ply", tmp_path / "i.ply", "--sh-degree", "0", "--convention", "inria") == 0
    i = PlyData.read(str(tmp_path / "i.ply"))["vertex"]
    np.testing.assert_allclose(i["x"], -v["x"], atol=1e-7)
    np.testing.assert_allclose(i["y"], -v["y"], atol=1e-7)
    np.testing.assert_allclose(i["z"], v["z"], atol=1e-7)
    capsys.readouterr()
    assert cli("export", t, "--ply", tmp_path / "j.ply", "--convention", "z-up") == 1   # one-line error
    capsys.readouterr()
    assert cli("export", t, "--ply", tmp_path / "c.ply", "--expression", "frown") == 1
    assert cli("export", t) == 1                                                  # nothing to export
    assert cli("export", t, "--ply", t) == 1                                      # never overwrite the input
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "Traceback" not in err and not (tmp_path / "c.ply").exists()


def test_export_bad_inputs_one_line(cli, tmp_path, capsys):
    foreign = tmp_path / "f.npz"
    np.savez(foreign, y=np.ones(3))
    trunc = tmp_path / "t.npz"
    trunc.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    capsys.readouterr()
    for bad in (foreign, trunc):
        assert cli("export", bad, "--ply", tmp_path / "o.ply") == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "o.ply").exists()


@pytest.mark.parametrize("option,wrong", [("--sog", "a.ply"), ("--glb", "a.gltf")])
def test_export_sog_glb_refuse_another_suffix_before_work(cli, tmp_path, capsys, option, wrong):
    t = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "16", "-o", t) == 0
    capsys.readouterr()
    assert cli("export", t, option, tmp_path / wrong) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]


@pytest.mark.slow
def test_ict_template_export(cli, ict_head, tmp_path, capsys):
    t = tmp_path / "t.npz"
    n = _template(cli, capsys, t, "--head", "ict")
    assert 70_000 < n < 80_000
    assert cli("export", t, "--ply", tmp_path / "t.ply", "--splat", tmp_path / "t.splat") == 0
    _check_ply(tmp_path / "t.ply", n, 3)                                          # default: SH 3, f_rest_0..44
    assert cli("export", t, "--ply", tmp_path / "t0.ply", "--sh-degree", "0") == 0
    _check_ply(tmp_path / "t0.ply", n, 0)
    assert (tmp_path / "t.splat").stat().st_size == 32 * n
