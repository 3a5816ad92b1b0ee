"""Exports read back by independent readers that are not our code (npm packages .ci/run installs into
.ci/node): PlayCanvas splat-transform reads PLY, SPZ and SOG, and its CSV output lists every Gaussian's raw columns
in file order; @gltf-transform/core decodes the GLB and the Khronos glTF-Validator checks it
(tests/readers/read_glb.mjs). We compare with what we wrote, within each format's quantization. Skipped without
node and the packages, except in CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from dejavu_cli.export.gaussians import to_convention
from dejavu_cli.export.glb import write_glb
from dejavu_cli.export.ply import write_ply
from dejavu_cli.export.sog import write_sog
from dejavu_cli.export.spz import write_spz
from dejavu_cli.render.project import quat_to_rotmat

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def splat_transform() -> str:
    for cand in (os.environ.get("SPLAT_TRANSFORM"), ROOT / ".ci/node/node_modules/.bin/splat-transform",
                 shutil.which("splat-transform")):
        if cand and Path(cand).exists():
            return str(cand)
    missing("splat-transform is not installed (npm install --prefix .ci/node @playcanvas/splat-transform)")


def missing(reason: str):
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


def read_glb(path: Path) -> dict:
    """tests/readers/read_glb.mjs PATH -> {validation, mode, json, attributes} (see that script)."""
    node = shutil.which("node")
    if node is None or not (ROOT / ".ci/node/node_modules/@gltf-transform/core").exists() \
            or not (ROOT / ".ci/node/node_modules/gltf-validator").exists():
        missing("node, @gltf-transform/core or gltf-validator is not installed "
                "(npm install --prefix .ci/node @gltf-transform/core gltf-validator)")
    out = subprocess.run([node, str(ROOT / "tests/readers/read_glb.mjs"), str(path)], check=True,
                         capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


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


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, np.float64)))


def rgb(sh):
    return 0.5 + 0.28209479177387814 * np.asarray(sh, np.float64)


@pytest.mark.parametrize("convention", ["y-up", "inria"])
def test_sog_read_back_by_splat_transform(tmp_path, convention):
    """SOG: positions 16 bits over the log-transformed range (sub-micrometre on a head), log-scales and SH DC
    through 256-entry codebooks, opacity 8 bits, rotations smallest-three 8 bits; same order as written."""
    g = to_convention(head_like(2000, seed=1), convention)
    write_sog(g, tmp_path / "a.sog")
    r = read_back(tmp_path / "a.sog", tmp_path)
    assert len(r["x"]) == 2000
    np.testing.assert_allclose(columns(r, "x", "y", "z"), g["means"], atol=1e-5)
    span = g["log_scales"].max() - g["log_scales"].min()
    assert np.abs(columns(r, "scale_0", "scale_1", "scale_2") - g["log_scales"]).max() < span / 256
    np.testing.assert_allclose(rgb(columns(r, "f_dc_0", "f_dc_1", "f_dc_2")), rgb(g["sh_dc"]), atol=2 / 255)
    np.testing.assert_allclose(sigmoid(r["opacity"]), sigmoid(g["opacity_logits"]), atol=0.5 / 255 + 1e-4)
    R = quat_to_rotmat(torch.as_tensor(g["quats"], dtype=torch.float64)).numpy()
    assert np.abs(rotations(r) - R).max() < 0.03


def test_glb_read_back_by_gltf_transform_and_validated(tmp_path):
    """GLB: the validator finds nothing wrong but the extension's own attribute names (this validator release
    predates KHR_gaussian_splatting); @gltf-transform/core decodes exactly what the ratified extension says:
    POSITION, ROTATION (x, y, z, w), linear SCALE, post-sigmoid OPACITY, SH DC, a POINTS primitive."""
    g = head_like(500, seed=2)
    write_glb(g, tmp_path / "a.glb")
    r = read_glb(tmp_path / "a.glb")
    ext = "KHR_gaussian_splatting"
    errors = [m for m in r["validation"]["messages"] if m.startswith("0 ")]
    assert all("MESH_PRIMITIVE_INVALID_ATTRIBUTE" in m and f"attributes/{ext}:" in m for m in errors), errors
    assert r["validation"]["numWarnings"] == 0, r["validation"]["messages"]
    assert r["mode"] == 0 and r["json"]["extensionsUsed"] == [ext]
    prim = r["json"]["meshes"][0]["primitives"][0]
    assert prim["extensions"][ext]["kernel"] == "ellipse"
    assert prim["extensions"][ext]["colorSpace"] == "srgb_rec709_display"
    a = {k: np.asarray(v["array"], np.float64).reshape(v["count"], -1) for k, v in r["attributes"].items()}
    np.testing.assert_allclose(a["POSITION"], g["means"], atol=1e-7)
    np.testing.assert_allclose(a[f"{ext}:SCALE"], np.exp(g["log_scales"]), rtol=1e-6)
    np.testing.assert_allclose(a[f"{ext}:OPACITY"][:, 0], sigmoid(g["opacity_logits"]), atol=1e-6)
    np.testing.assert_allclose(a[f"{ext}:SH_DEGREE_0_COEF_0"], g["sh_dc"], atol=1e-6)
    xyzw = a[f"{ext}:ROTATION"]
    np.testing.assert_allclose(np.linalg.norm(xyzw, axis=1), 1, atol=1e-6)
    R = quat_to_rotmat(torch.as_tensor(g["quats"], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(quat_to_rotmat(torch.as_tensor(xyzw[:, [3, 0, 1, 2]])).numpy(), R, atol=1e-6)
    assert r["attributes"]["COLOR_0"]["normalized"] and r["attributes"]["COLOR_0"]["componentType"] == 5121
    np.testing.assert_allclose(a["COLOR_0"][:, 3] / 255, sigmoid(g["opacity_logits"]), atol=0.5 / 255 + 1e-6)


def test_cli_sog_and_glb_exports_open_in_the_readers(cli, tmp_path, capsys):
    t = tmp_path / "t.npz"
    assert cli("template", "--head", "test", "--uv-size", "32", "-o", t) == 0
    assert cli("export", t, "--sog", tmp_path / "a", "--glb", tmp_path / "a.glb", "--ply", tmp_path / "a.ply",
               "--sh-degree", "0", "--convention", "inria") == 0
    out = capsys.readouterr().out
    assert "SOG v2, inria" in out and "KHR_gaussian_splatting" in out
    sog, ply = read_back(tmp_path / "a.sog", tmp_path), read_back(tmp_path / "a.ply", tmp_path)
    glb = read_glb(tmp_path / "a.glb")["attributes"]["POSITION"]
    pos = np.asarray(glb["array"]).reshape(-1, 3)
    assert len(sog["x"]) == len(ply["x"]) == len(pos) > 100
    np.testing.assert_allclose(columns(sog, "x", "y", "z"), columns(ply, "x", "y", "z"), atol=1e-5)  # inria both
    np.testing.assert_allclose(pos, columns(ply, "x", "y", "z") * [-1, -1, 1], atol=1e-6)   # GLB stays y-up
