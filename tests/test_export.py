"""3DGS PLY and .splat writers against the inria / antimatter15 layouts (peers-and-formats.md §3.2-3.3)."""

import numpy as np
import pytest
from plyfile import PlyData

from dejavu_cli.export.ply import ply_property_names, write_ply
from dejavu_cli.export.splat import SH_C0, splat_records, write_splat

INRIA_SH0 = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
             "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]


def _gaussians(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"means": rng.normal(size=(n, 3)).astype(np.float32),
            "log_scales": rng.normal(-6, 1, size=(n, 3)).astype(np.float32),
            "quats": np.c_[np.ones(n), rng.normal(size=(n, 3)) * 0.2].astype(np.float32),
            "opacity_logits": rng.normal(size=n).astype(np.float32),
            "sh_dc": rng.normal(size=(n, 3)).astype(np.float32)}


def test_property_names():
    assert ply_property_names(0) == INRIA_SH0
    names3 = ply_property_names(3)
    assert len(names3) == 62 and names3[9:54] == [f"f_rest_{i}" for i in range(45)]
    with pytest.raises(ValueError):
        ply_property_names(2)


@pytest.mark.parametrize("degree", [0, 3])
def test_ply_round_trip(tmp_path, degree):
    g = _gaussians()
    path = write_ply(g, tmp_path / "a.ply", sh_degree=degree)
    ply = PlyData.read(str(path))
    v = ply["vertex"]
    assert ply.byte_order == "<" and not ply.text
    assert [p.name for p in v.properties] == ply_property_names(degree)
    assert all(p.val_dtype in ("f4", "float32", "float") for p in v.properties)
    np.testing.assert_array_equal(np.stack([v["x"], v["y"], v["z"]], 1), g["means"])
    np.testing.assert_array_equal(np.stack([v[f"rot_{i}"] for i in range(4)], 1), g["quats"])  # w, x, y, z
    np.testing.assert_array_equal(v["opacity"], g["opacity_logits"])
    np.testing.assert_array_equal(np.stack([v[f"scale_{i}"] for i in range(3)], 1), g["log_scales"])
    if degree == 3:
        assert all((v[f"f_rest_{i}"] == 0).all() for i in range(45))
    assert path.stat().st_size == len(g["means"]) * 4 * len(ply_property_names(degree)) + len(
        path.read_bytes().split(b"end_header\n")[0]) + len(b"end_header\n")


def test_splat_layout_and_order(tmp_path):
    g = _gaussians(7)
    path = write_splat(g, tmp_path / "a.splat")
    raw = path.read_bytes()
    assert len(raw) == 32 * 7
    rec = splat_records(g)
    opacity = 1 / (1 + np.exp(-g["opacity_logits"]))
    key = np.exp(g["log_scales"].sum(1)) * opacity
    order = np.argsort(-key)
    np.testing.assert_array_equal(np.frombuffer(raw[:12], "<f4"), g["means"][order[0]])
    np.testing.assert_allclose(rec["scale"], np.exp(g["log_scales"][order]), rtol=1e-6)
    np.testing.assert_array_equal(rec["rgba"][:, 3], np.round(opacity[order] * 255))
    rgb = np.clip(0.5 + SH_C0 * g["sh_dc"][order], 0, 1)
    np.testing.assert_array_equal(rec["rgba"][:, :3], np.round(rgb * 255))
    q = g["quats"][order] / np.linalg.norm(g["quats"][order], axis=1, keepdims=True)
    np.testing.assert_array_equal(rec["rot"], np.clip(np.round(q * 128 + 128), 0, 255))


def test_inria_convention_is_a_half_turn_about_z():
    import torch

    from dejavu_cli.export.gaussians import to_convention
    from dejavu_cli.render.project import quat_to_rotmat

    g = _gaussians(7, seed=3)
    assert to_convention(g, "y-up") is g
    out = to_convention(g, "inria")
    Rz = np.diag([-1.0, -1.0, 1.0])
    np.testing.assert_allclose(out["means"], g["means"] @ Rz.T, rtol=0, atol=1e-7)
    R_in = quat_to_rotmat(torch.as_tensor(g["quats"], dtype=torch.float64)).numpy()
    R_out = quat_to_rotmat(torch.as_tensor(out["quats"], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(R_out, Rz @ R_in, atol=1e-6)       # every splat turned with the positions
    for k in ("log_scales", "opacity_logits", "sh_dc"):
        assert out[k] is g[k]
    twice = to_convention(out, "inria")
    np.testing.assert_allclose(twice["means"], g["means"], atol=1e-7)
    with pytest.raises(ValueError, match="convention"):
        to_convention(g, "z-up")
