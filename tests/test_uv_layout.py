"""UVLayout: binding, gathers, masks, weights; the FLAME rule on a synthetic template; ICT atlas."""

import numpy as np
import pytest
import torch

from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.uv.layout import POS_WEIGHT_HIGH, POS_WEIGHT_LOW, build_layout
from dejavu_cli.uv.maps import INIT_LOG_SCALE, init_maps
from dejavu_cli.uv.raster import rasterize


@pytest.fixture(scope="module")
def layout(test_head):
    return build_layout(test_head, 48)


def test_surface_is_barycentric_gather(layout, test_head):
    v = test_head.vertices(batch_size=2) + torch.randn(2, test_head.n_vertices, 3) * 0.01
    s = layout.surface(v)
    assert s.shape == (2, layout.n_texels, 3)
    f = test_head.faces[layout.face]                                          # [N, 3]
    manual = (v[:, f] * layout.bary[None, :, :, None]).sum(-2)
    torch.testing.assert_close(s, manual, atol=1e-6, rtol=0)


def test_normals_are_the_interpolated_vertex_normals(layout, test_head):
    """Unit, the barycentric mix of the vertex normals (no position offset), facing out of the head."""
    from dejavu_cli.head.geometry import vertex_normals

    v = test_head.vertices(batch_size=2) + torch.randn(2, test_head.n_vertices, 3) * 0.001
    n = layout.normals(v, test_head.faces)
    assert n.shape == (2, layout.n_texels, 3)
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(2, layout.n_texels))
    f = test_head.faces[layout.face]
    manual = torch.nn.functional.normalize((vertex_normals(v, test_head.faces)[:, f]
                                            * layout.bary[None, :, :, None]).sum(-2), dim=-1)
    torch.testing.assert_close(n, manual, atol=1e-5, rtol=0)
    scalp = layout.region == REGION_NAMES.index("scalp")
    out = ((layout.surface(v)[0, scalp] - v[0].mean(0)) * n[0, scalp]).sum(-1) > 0
    assert out.float().mean() > 0.95


def test_surface_gradcheck(layout, test_head):
    small = build_layout(test_head, 16).double()
    v = test_head.template.double()[None].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: small.surface(x)[:, :20], (v,))


def test_image_roundtrip_and_order(layout):
    x = torch.randn(3, layout.n_texels, 5)
    img = layout.to_image(x)
    assert img.shape == (3, 48, 48, 5)
    torch.testing.assert_close(layout.from_image(img), x)
    assert bool((layout.texel[1:] > layout.texel[:-1]).all())                  # row-major texel list
    assert int(layout.valid_mask.sum()) == layout.n_texels


def test_regions_weights_and_init(layout):
    assert not bool(layout.mask("face").logical_and(layout.mask("scalp")).any())
    assert int((layout.region == REGION_NAMES.index("neck")).sum()) == 0     # neck removed
    assert layout.mask("eyes").any() and layout.mask("features").any()
    w = layout.pos_weight
    assert float(w.min()) == pytest.approx(POS_WEIGHT_LOW) and float(w.max()) == pytest.approx(POS_WEIGHT_HIGH)
    assert bool((w[layout.mask("face")] == POS_WEIGHT_HIGH).all())
    ramp = (w > POS_WEIGHT_LOW + 1e-3) & (w < POS_WEIGHT_HIGH - 1e-3)
    assert bool(ramp[layout.mask("scalp")].any())                               # a ramp, not a step
    m = init_maps(layout)
    assert m.shape == (layout.n_texels, 13)
    assert bool((m[:, 3:6] == INIT_LOG_SCALE).all()) and bool((m[:, :3] == 0).all())
    torch.testing.assert_close(m[:, 9], layout.opacity_init)
    assert bool((init_maps(layout, opacity="paper")[:, 9] == 0.1).all())


def test_check_value_depends_on_size(layout, test_head):
    assert build_layout(test_head, 48).check == layout.check
    assert build_layout(test_head, 40).check != layout.check


class _FakeFlame:
    """A FLAME-sized (5,023 vertices) grid mesh whose UVs fill the unit square."""

    name = "flame"

    def __init__(self, n=70):
        ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        uv = np.stack([jj.ravel() / (n - 1), ii.ravel() / (n - 1)], 1)
        V = 5023
        rng = np.random.default_rng(0)
        verts = np.concatenate([np.c_[uv, np.zeros(len(uv))] * 0.2, rng.normal(size=(V - n * n, 3)) * 0.01])
        quads = (ii[:-1, :-1] * n + jj[:-1, :-1]).ravel()
        faces = np.concatenate([np.stack([quads, quads + 1, quads + n + 1], 1),
                                np.stack([quads, quads + n + 1, quads + n], 1)])
        self.template = torch.tensor(verts, dtype=torch.float32)
        self.faces = torch.tensor(faces)
        self.uv = torch.tensor(uv, dtype=torch.float32)
        self.uv_faces = torch.tensor(faces)
        self.face_region = torch.zeros(len(faces), dtype=torch.long)
        self.landmarks68 = torch.arange(68)


def test_flame_rule_on_synthetic_template():
    from dejavu_cli.uv.flame_rule import END_DEPTH, LOWER_LIP, UPPER_LIP

    head = _FakeFlame()
    S = 320
    lay = build_layout(head, S)
    covered = rasterize(head.uv.double().numpy(), head.faces.numpy(), S).valid.reshape(S, S)
    assert covered.all()
    neck_row, K = 250, 30                                                       # int(200/256*320), (70-10)//2
    assert lay.n_texels == neck_row * S + 2 * K * 50
    rows, cols = np.divmod(lay.texel.numpy(), S)
    mouth = lay.locked.numpy()
    assert rows[mouth].min() == 255 and rows[mouth].max() == 314
    assert cols[mouth].min() == 135 and cols[mouth].max() == 184
    assert bool((lay.region[lay.locked] == REGION_NAMES.index("mouth")).all())
    v = torch.randn(1, 5023, 3, dtype=torch.float64)
    s = lay.double().surface(v)[0]
    first = np.where(mouth)[0][0]                                               # row 255, col 135
    torch.testing.assert_close(s[first], v[0, UPPER_LIP[0]])                    # upper-lip start, t = 0
    last = np.where(mouth)[0][-1]                                               # row 314, col 184: lower lip end
    torch.testing.assert_close(s[last], v[0, LOWER_LIP[-1]])
    mid = np.where(mouth & (rows == 255 + K - 1))[0][0]                         # nearly the end line
    t = (K - 1) / K
    expect = (1 - t) * v[0, UPPER_LIP[0]] + t * (v[0, 1572] + torch.tensor([0, 0, -END_DEPTH], dtype=v.dtype))
    torch.testing.assert_close(s[mid], expect)


@pytest.mark.slow
def test_ict_atlas_no_shared_texels(ict_head):
    lay = build_layout(ict_head)
    assert 70_000 < lay.n_texels < 80_000                                       # same order as FLAME's 74,083
    ras = rasterize(lay.atlas_uv.numpy(), lay.atlas_uv_faces.numpy(), lay.uv_size)
    assert ras.overlap.max() <= 1                                               # no two kept triangles share a texel
    assert lay.atlas_uv.min() >= 0 and lay.atlas_uv.max() <= 1
    np.testing.assert_array_equal(np.where(ras.valid)[0], lay.texel.numpy())
    np.testing.assert_array_equal(lay.atlas_face.numpy()[ras.face[ras.valid]], lay.face.numpy())
    for name in ("face", "scalp", "mouth", "eyes", "teeth", "features"):
        assert lay.mask(name).sum() > 500, name
