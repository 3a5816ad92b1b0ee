"""ICT-FaceKit: setup from the real archive (shared data), counts, geometry, tamper refusal, CLI."""

import shutil
import zipfile

import pytest
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import REGION_NAMES, HeadParams

pytestmark = pytest.mark.slow  # the session fixture converts 155 OBJs once (~10-20 s on 2 cores)


def test_counts_and_names(ict_head):
    h = ict_head
    assert (h.n_vertices, h.n_identity, h.n_expression) == (26719, 100, 53)
    assert h.faces.shape == (52220, 3) and h.uv_faces.shape == h.faces.shape
    assert "jawOpen" in h.expression_names and not any("Pupil" in n for n in h.expression_names)
    assert [h.expression_names[i] for i in h.blend_drivers][:3] == ["jawOpen", "mouthSmile_L", "mouthSmile_R"]
    assert not h.has_jaw and not h.has_eyes
    for name in REGION_NAMES:
        assert (h.face_region == REGION_NAMES.index(name)).any(), name


def test_metric_size_and_axes(ict_head):
    v = ict_head.template
    lm = v[ict_head.landmarks68]
    width = (lm[16] - lm[0]).norm()           # jaw width at the temples
    assert 0.11 < width < 0.17                 # metres (adult head ~0.14)
    assert 0.05 < (lm[27, 1] - lm[8, 1]) < 0.14  # bridge above chin, face height
    assert lm[30, 2] > lm[0, 2]                 # nose tip in front (+z)
    assert lm[0, 0] < 0 < lm[16, 0]             # point 0 on the subject's right (-x)


def test_landmarks_on_face_region(ict_head):
    h = ict_head
    touching = torch.isin(h.faces, h.landmarks68).any(1)
    assert (h.face_region[touching] == REGION_NAMES.index("face")).all()


def test_uv_tiles(ict_head):
    h = ict_head
    tile = torch.floor(h.uv[h.uv_faces].mean(1)[:, 0]).long()
    region = h.face_region
    assert (tile[region == REGION_NAMES.index("face")] == 0).all()
    assert (tile[region == REGION_NAMES.index("scalp")] == 1).all()
    assert (tile[region == REGION_NAMES.index("teeth")] == 3).all()
    assert 0 <= h.uv.min() and h.uv.max() < 7


def test_forward_batched_and_grad(ict_head):
    h = ict_head
    g = torch.Generator().manual_seed(0)
    p = HeadParams(torch.randn(2, 100, generator=g), torch.rand(2, 53, generator=g))
    v = h(p)
    assert v.shape == (2, 26719, 3)
    one = h(HeadParams(p.identity[1:], p.expression[1:]))
    assert torch.allclose(v[1:], one, atol=1e-6)
    jaw = torch.zeros(1, 53)
    jaw[0, h.expression_names.index("jawOpen")] = 1
    opened = h(HeadParams(expression=jaw))[0]
    chin = h.landmarks68[8]
    assert opened[chin, 1] < h.template[chin, 1] - 0.005  # jawOpen lowers the chin by > 5 mm
    e = torch.zeros(1, 53, dtype=torch.float64, requires_grad=True)
    hd = h.double()
    assert torch.autograd.gradcheck(lambda x: hd(HeadParams(expression=x))[:, h.landmarks68[:4]], (e,))
    h.float()


def test_tampered_obj_is_refused(ict_archive, tmp_path, session_home):
    from dejavu_cli.head.ict import NEUTRAL, setup_ict

    bad = tmp_path / "ict.zip"
    shutil.copyfile(ict_archive, bad)
    with zipfile.ZipFile(ict_archive) as zf:
        name = next(n for n in zf.namelist() if n.endswith(NEUTRAL))
        data = bytearray(zf.read(name))
    data[-10] = ord("7") if data[-10] != ord("7") else ord("8")
    with zipfile.ZipFile(bad, "a") as zf:  # a later entry of the same name shadows the original
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr(name, bytes(data))
    with pytest.raises(DejavuError, match=r"generic_neutral_mesh.obj does not match its pinned sha256") as err:
        setup_ict(archive=bad, progress=False, force=True)
    assert "\n" not in str(err.value)


def test_not_an_archive(tmp_path):
    from dejavu_cli.head.ict import setup_ict

    junk = tmp_path / "x.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DejavuError, match="not a zip"):
        setup_ict(archive=junk, progress=False, force=True)
    with pytest.raises(DejavuError, match="not found"):
        setup_ict(archive=tmp_path / "missing.zip", progress=False, force=True)


def test_cli_setup_ict_and_listing(ict_head, ict_archive, capsys, monkeypatch, tmp_path):
    from dejavu_cli.cli import main
    from dejavu_cli.head.paths import head_path

    before = head_path("ict").stat().st_mtime_ns
    assert main(["setup", "ict", "--archive", str(ict_archive)]) == 0  # up to date: kept as is
    out = capsys.readouterr().out
    assert "26,719 vertices, 100 identity, 53 expression" in out
    assert head_path("ict").stat().st_mtime_ns == before
    assert main(["setup"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert any(line.startswith("ict") and "ready" in line and "26,719" in line for line in listing)
    assert any(line.startswith("flame") and "not set up" in line for line in listing)
    assert not any(line.startswith("test") for line in listing)   # hidden from users
