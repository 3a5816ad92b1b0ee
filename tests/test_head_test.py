"""The procedural test head (head/testhead.py) and the skinned model it shares with FLAME."""

import numpy as np
import pytest
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import REGION_NAMES, HeadParams
from dejavu_cli.head.registry import load_head


def test_shapes_and_neutral(test_head):
    h = test_head
    assert h.name == "test" and 300 <= h.n_vertices <= 1500
    assert h.faces.shape[1] == 3 and h.uv_faces.shape == h.faces.shape
    assert h.landmarks68.shape == (68,) and len(set(h.landmarks68.tolist())) == 68
    assert len(h.expression_names) == h.n_expression and len(h.blend_drivers) == 10
    v = h(h.zeros(3))
    assert v.shape == (3, h.n_vertices, 3)
    assert torch.allclose(v, h.template.expand(3, -1, -1), atol=1e-7)
    assert torch.equal(h.vertices(batch_size=2), h.template.expand(2, -1, -1))


def test_batched_matches_single(test_head):
    h = test_head
    g = torch.Generator().manual_seed(1)
    p = HeadParams(torch.randn(2, h.n_identity, generator=g), torch.rand(2, h.n_expression, generator=g),
                   torch.randn(2, 3, generator=g) * 0.1, torch.randn(2, 3, generator=g) * 0.1,
                   torch.randn(2, 6, generator=g) * 0.1)
    both = h(p)
    one = h(HeadParams(*(x[1:] for x in (p.identity, p.expression, p.jaw, p.neck, p.eyes))))
    assert torch.allclose(both[1:], one, atol=1e-6)


def test_regions_uv_and_orientation(test_head):
    h = test_head
    counts = torch.bincount(h.face_region, minlength=len(REGION_NAMES))
    for name in ("face", "scalp", "neck", "ears", "eyeballs", "mouth"):
        assert counts[REGION_NAMES.index(name)] > 0, name
    uv = h.uv.numpy()
    assert uv.min() >= 0 and uv.max() <= 1
    tri = uv[h.uv_faces.numpy()]
    area = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert (area > 0).all()  # one orientation: no folded triangles
    # no overlaps: every texel centre lies inside at most one UV triangle
    s = 64
    px = (np.stack(np.meshgrid(np.arange(s), np.arange(s)), -1).reshape(-1, 2) + 0.5) / s
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    def edge(p, q):
        return (q[None, :, 0] - p[None, :, 0]) * (px[:, None, 1] - p[None, :, 1]) - \
               (q[None, :, 1] - p[None, :, 1]) * (px[:, None, 0] - p[None, :, 0])
    inside = (edge(a, b) > 1e-9) & (edge(b, c) > 1e-9) & (edge(c, a) > 1e-9)
    assert inside.sum(1).max() == 1
    # triangles are counter-clockwise seen from outside the head (normals point away from the centre)
    v = h.template[h.faces]
    n = torch.linalg.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    head = h.face_region != REGION_NAMES.index("eyeballs")
    assert ((n * (v.mean(1) - torch.tensor([0, -0.01, 0])[None])).sum(1)[head] > 0).float().mean() > 0.97


def test_landmarks_layout(test_head):
    p = test_head.template[test_head.landmarks68]
    assert p[0, 0] < 0 < p[16, 0]          # point 0 on the subject's right (-x)
    assert p[36, 0] < p[39, 0] < p[42, 0] < p[45, 0]
    assert p[8, 1] < p[57, 1] < p[33, 1] < p[27, 1]  # chin < lower lip < nose < bridge
    assert (p[:, 2] > 0).all()             # all on the face side


def test_jaw_moves_only_jaw_vertices(test_head):
    h = test_head
    jaw = torch.zeros(1, 3)
    jaw[0, 0] = 0.2
    moved = (h.vertices(jaw=jaw)[0] - h.template).norm(dim=-1) > 1e-6
    weighted = h.weights[:, 2] > 0
    assert moved.any() and torch.equal(moved, weighted)
    assert h.template[moved, 1].max() < 0.0  # lower face only


def test_eyes_rotate_eyeballs_about_their_centre(test_head):
    h = test_head
    eyes = torch.tensor([[0.0, 0.3, 0.0, 0.0, 0.0, 0.0]])
    v = h.vertices(eyes=eyes)[0]
    moved = (v - h.template).norm(dim=-1) > 1e-6
    left = h.weights[:, 3] > 0
    assert torch.equal(moved, left)
    assert h.template[left, 0].mean() > 0  # the left eye is at +x
    assert torch.allclose(v[left].mean(0), h.template[left].mean(0), atol=2e-3)


def test_gradcheck_forward(test_head):
    h = load_head("test").double()
    g = torch.Generator().manual_seed(0)
    expr = (torch.rand(1, h.n_expression, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    jaw = (torch.randn(1, 3, generator=g, dtype=torch.float64) * 0.1).requires_grad_()
    ident = (torch.randn(1, h.n_identity, generator=g, dtype=torch.float64)).requires_grad_()
    idx = h.landmarks68[:8]  # check a few outputs to keep it fast
    assert torch.autograd.gradcheck(
        lambda e, j, i: h(HeadParams(identity=i, expression=e, jaw=j))[:, idx], (expr, jaw, ident),
        fast_mode=True)


def test_device_param_and_errors(tmp_path, monkeypatch):
    h = load_head("test", device="cpu")
    assert h.template.device.type == "cpu"
    if torch.cuda.is_available():  # pragma: no cover - no GPU on CI
        assert load_head("test", device="cuda").template.is_cuda
    with pytest.raises(DejavuError, match="unknown head model"):
        load_head("bfm")
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    with pytest.raises(DejavuError, match=r"ICT-FaceKit is not set up: run `dejavu setup ict`"):
        load_head("ict")
    with pytest.raises(DejavuError, match="FLAME is not set up"):
        load_head("flame")
