"""FLAME from a generated FLAME-format pickle (no FLAME here): setup, LBS properties, gradients, CLI."""

import pickle

import numpy as np
import pytest
import torch
from test_safe_pickle import fake_modules

from dejavu_cli.head.base import REGION_NAMES, HeadParams
from dejavu_cli.head.testhead import build_test_head


def write_fake_flame(path, monkeypatch, vt=False, swap_eyes=False):
    """A FLAME-layout pickle (chumpy Ch + scipy csc, protocol 2) built on the test head's geometry."""
    for name, mod in fake_modules().items():
        monkeypatch.setitem(sys_modules(), name, mod)
    Ch = sys_modules()["chumpy.ch"].Ch
    csc = sys_modules()["scipy.sparse.csc"].csc_matrix
    a = build_test_head()
    V = len(a["template"])
    rng = np.random.default_rng(0)
    sd = rng.normal(0, 1e-4, (V, 3, 400))
    sd[:, :, :8] = a["shape_basis"].reshape(8, V, 3).transpose(1, 2, 0)
    sd[:, :, 300:312] = a["expr_basis"].reshape(12, V, 3).transpose(1, 2, 0)
    J, W = a["J_regressor"].astype(np.float64), a["weights"].astype(np.float64)
    if swap_eyes:
        J, W = J[[0, 1, 2, 4, 3]], W[:, [0, 1, 2, 4, 3]]
    d = {"v_template": Ch(a["template"]), "f": a["faces"].astype(np.uint32), "shapedirs": Ch(sd),
         "posedirs": Ch(rng.normal(0, 1e-4, (V, 3, 36))), "J_regressor": csc(J), "weights": Ch(W),
         "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], np.int64),
         "J": Ch(J @ a["template"]), "bs_style": "lbs", "bs_type": "lrotmin"}
    if vt:
        d["vt"], d["ft"] = a["uv"].astype(np.float64), a["uv_faces"].astype(np.uint32)
    path.write_bytes(pickle.dumps(d, protocol=2))
    return path


def sys_modules():
    import sys
    return sys.modules


@pytest.fixture
def flame(tmp_path, monkeypatch):
    from dejavu_cli.head.flame import setup_flame
    from dejavu_cli.head.registry import load_head

    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path / "home"))
    pkl = write_fake_flame(tmp_path / "generic_model.pkl", monkeypatch)
    setup_flame(pkl)
    return load_head("flame")


def test_counts_regions_uv(flame):
    h = flame
    assert (h.n_identity, h.n_expression) == (100, 50) and h.has_jaw and h.has_eyes and h.has_neck
    assert h.landmarks68.shape == (68,) and h.blend_drivers == list(range(10))
    assert 0 <= h.uv.min() and h.uv.max() <= 1 and h.uv_faces.max() < len(h.uv)
    for name in ("face", "scalp", "neck", "eyeballs"):
        assert (h.face_region == REGION_NAMES.index(name)).any(), name
    lm = h.template[h.landmarks68]
    assert lm[0, 0] < 0 < lm[16, 0] and lm[8, 1] < lm[27, 1]


def test_zero_pose_is_template_plus_blendshapes(flame):
    h = flame
    g = torch.Generator().manual_seed(0)
    ident, expr = torch.randn(2, 100, generator=g), torch.randn(2, 50, generator=g)
    v = h(HeadParams(identity=ident, expression=expr))
    ref = h.template + (ident @ h.shape_basis + expr @ h.expr_basis).reshape(2, -1, 3)
    assert torch.allclose(v, ref, atol=1e-6)


def test_jaw_moves_only_jaw_weighted_vertices(flame):
    h = flame
    jaw = torch.tensor([[0.25, 0.0, 0.0]])
    moved = (h.vertices(jaw=jaw)[0] - h.template).norm(dim=-1) > 1e-5
    # pose correctives move everything a little; subtract them to isolate skinning
    h2_pd = h.posedirs.clone()
    h.posedirs.zero_()
    try:
        moved = (h.vertices(jaw=jaw)[0] - h.template).norm(dim=-1) > 1e-7
    finally:
        h.posedirs.copy_(h2_pd)
    assert moved.any() and torch.equal(moved, h.weights[:, 2] > 0)


def test_gradcheck_tiny(flame):
    h = flame.double()
    idx = h.landmarks68[:6]
    x = (torch.randn(1, 3, dtype=torch.float64) * 0.1).requires_grad_()
    e = (torch.randn(1, 50, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda j, ex: h(HeadParams(expression=ex, jaw=j, neck=j, eyes=torch.cat([j, j], 1)))[:, idx],
                                    (x, e), fast_mode=True)


def test_eye_order_and_uvs_from_pickle(tmp_path, monkeypatch):
    from dejavu_cli.head.flame import convert_flame

    a = convert_flame(write_fake_flame(tmp_path / "f.pkl", monkeypatch, vt=True, swap_eyes=True))
    joints = a["J_regressor"] @ a["template"]
    assert joints[3, 0] > 0 > joints[4, 0]  # joint 3 = subject's left eye after conversion
    assert str(a["uv_source"]) == "pickle" and np.allclose(a["uv"], build_test_head()["uv"])


def test_cli_setup_flame_and_errors(tmp_path, monkeypatch, capsys):
    from dejavu_cli.cli import main

    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path / "home"))
    pkl = write_fake_flame(tmp_path / "flame2023.pkl", monkeypatch)
    assert main(["setup", "flame", str(pkl)]) == 0
    assert "100 identity, 50 expression" in capsys.readouterr().out
    assert (tmp_path / "home" / "heads" / "flame.npz").exists()
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps({"v_template": np.zeros((3, 3))}, protocol=2))
    assert main(["setup", "flame", str(bad)]) == 1
    assert "missing" in capsys.readouterr().err
    obj = tmp_path / "t.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n")
    assert main(["setup", "flame", str(pkl), "--uv-template", str(obj)]) == 1
    assert "does not match" in capsys.readouterr().err
