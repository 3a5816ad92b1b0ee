"""Exports read back by an independent reader that is not our code: PlayCanvas splat-transform (npm; .ci/run
installs it into .ci/node). Its CSV output lists every Gaussian's raw columns in file order, which we compare
with what we wrote, within each format's quantization. Skipped without node/splat-transform, except in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from dejavu_cli.export.gaussians import to_convention
from dejavu_cli.export.ply import write_ply
from dejavu_cli.export.spz import write_spz
from dejavu_cli.render.project import quat_to_rotmat

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def splat_transform() -> str:
    for cand in (os.environ.get("SPLAT_TRANSFORM"), ROOT / ".ci/node/node_modules/.bin/splat-transform",
                 shutil.which("splat-transform")):
        if cand and Path(cand).exists():
            return str(cand)
    reason = "splat-transform is not installed (npm install --prefix .ci/node @playcanvas/splat-transform)"
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


def read_back(path: Path, tmp_path: Path) -> dict[str, np.ndarray]:
    """splat-transform PATH out.csv -> {column: [N] float64}."""
    out = tmp_path / (path.name + ".csv")
    subprocess.run([splat_transform(), "-q", "-w", str(path), str(out)], check=True, capture_output=True, timeout=120)
    data = np.genfromtxt(out, delimiter=",", names=True)
    return {k: np.asarray(data[k], np.float64) for k in data.dtype.names}


def head_like(n=300, seed=0) -> dict[str, np.ndarray]:
    """Random Gaussians of head size (a 10 cm shell), varied scales, rotations, opacities and colours."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    q = rng.normal(size=(n, 4))
    return {"means": (0.1 * d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32),
            "log_scales": rng.uniform(np.log(5e-4), np.log(8e-3), size=(n, 3)).astype(np.float32),
            "quats": (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32),
            "opacity_logits": rng.uniform(-3, 4, size=n).astype(np.float32),
            "sh_dc": rng.uniform(-1.5, 1.5, size=(n, 3)).astype(np.float32)}


def rotations(r: dict[str, np.ndarray]) -> np.ndarray:
    q = np.stack([r["rot_0"], r["rot_1"], r["rot_2"], r["rot_3"]], -1)
    return quat_to_rotmat(torch.as_tensor(q)).numpy()


def columns(r, *names):
    return np.stack([r[n] for n in names], -1)


@pytest.mark.parametrize("convention", ["y-up", "inria"])
def test_ply_read_back_by_splat_transform(tmp_path, convention):
    g = to_convention(head_like(), convention)
    write_ply(g, tmp_path / "a.ply", sh_degree=0)
    r = read_back(tmp_path / "a.ply", tmp_path)
    np.testing.assert_allclose(columns(r, "x", "y", "z"), g["means"], atol=1e-7)
    np.testing.assert_allclose(columns(r, "scale_0", "scale_1", "scale_2"), g["log_scales"], atol=1e-6)
    np.testing.assert_allclose(columns(r, "f_dc_0", "f_dc_1", "f_dc_2"), g["sh_dc"], atol=1e-6)
    np.testing.assert_allclose(r["opacity"], g["opacity_logits"], atol=1e-6)
    R = quat_to_rotmat(torch.as_tensor(g["quats"], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(rotations(r), R, atol=1e-5)
    if convention == "inria":
        y_up = head_like()
        np.testing.assert_allclose(r["x"], -y_up["means"][:, 0], atol=1e-7)   # turned half a turn about z
        np.testing.assert_allclose(r["y"], -y_up["means"][:, 1], atol=1e-7)


def test_spz_read_back_by_splat_transform(tmp_path):
    """SPZ keeps y up (its own RUB frame); splat-transform reports it in the PLY frame (RDF: y and z negated),
    so (x, -y, -z) must come back, within SPZ's quantization: positions 2^-12 m, log-scales 1/16, colours and
    opacity 8 bits, rotations smallest-three 8 bits."""
    g = head_like()
    write_spz(g, tmp_path / "a.spz")
    r = read_back(tmp_path / "a.spz", tmp_path)
    F = np.diag([1.0, -1.0, -1.0])
    np.testing.assert_allclose(columns(r, "x", "y", "z"), g["means"] @ F, atol=2 ** -12)
    np.testing.assert_allclose(columns(r, "scale_0", "scale_1", "scale_2"), g["log_scales"], atol=1 / 32 + 1e-6)
    rgb = lambda sh: 0.5 + 0.28209479177387814 * sh  # noqa: E731
    np.testing.assert_allclose(np.clip(rgb(columns(r, "f_dc_0", "f_dc_1", "f_dc_2")), 0, 1),
                               np.clip(rgb(g["sh_dc"]), 0, 1), atol=1 / 255 + 1e-3)
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    np.testing.assert_allclose(sig(r["opacity"]), sig(g["opacity_logits"]), atol=1 / 255 + 1e-4)
    R = quat_to_rotmat(torch.as_tensor(g["quats"], dtype=torch.float64)).numpy()
    assert np.abs(rotations(r) - F @ R @ F).max() < 0.05


def test_cli_spz_export_is_an_spz_the_reader_opens(cli, tmp_path, capsys):
    t = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "32", "-o", t) == 0
    assert cli("export", t, "--spz", tmp_path / "a", "--ply", tmp_path / "a.ply", "--sh-degree", "0") == 0
    assert "SPZ v3" in capsys.readouterr().out
    spz, ply = read_back(tmp_path / "a.spz", tmp_path), read_back(tmp_path / "a.ply", tmp_path)
    assert len(spz["x"]) == len(ply["x"]) > 100
    np.testing.assert_allclose(spz["x"], ply["x"], atol=2 ** -12)            # same Gaussians, same order
    np.testing.assert_allclose(spz["y"], -ply["y"], atol=2 ** -12)
