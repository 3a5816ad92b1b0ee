"""UV rasterization and atlas packing (dejavu_cli.uv.raster, dejavu_cli.uv.atlas)."""

import numpy as np
import pytest

from dejavu_cli.uv.atlas import pack_atlas, shelf_pack, uv_charts, uv_islands
from dejavu_cli.uv.raster import rasterize, texel_to_uv

SQUARE_UV = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
SQUARE_F = np.array([[0, 1, 2], [0, 2, 3]])


def test_unit_square_covers_every_texel_once():
    r = rasterize(SQUARE_UV, SQUARE_F, 8)
    assert r.valid.all() and r.overlap.max() == 1
    # barycentric reconstruction reproduces the texel-centre convention u=(c+.5)/S, v=1-(r+.5)/S
    rows, cols = np.divmod(np.arange(64), 8)
    recon = (SQUARE_UV[SQUARE_F[r.face]] * r.bary[:, :, None]).sum(1)
    np.testing.assert_allclose(recon, texel_to_uv(rows, cols, 8), atol=1e-12)
    assert texel_to_uv(np.array(0), np.array(0), 8)[1] == pytest.approx(1 - 0.5 / 8)  # row 0 is the top


def test_overlap_counted_and_degenerate_ignored():
    uv = np.array([[0, 0], [1, 0], [0, 1], [0.5, 0.5]], float)
    faces = np.array([[0, 1, 2], [0, 1, 2], [0, 3, 3]])  # a duplicate triangle and a degenerate one
    r = rasterize(uv, faces, 16)
    assert r.overlap.max() == 2
    assert set(np.unique(r.face[r.valid])) == {0}  # ties go to the lowest index, degenerate never wins
    # a triangle covering no texel centre gives nothing
    assert not rasterize(np.array([[0.01, 0.01], [0.02, 0.01], [0.01, 0.02]]), np.array([[0, 1, 2]]), 8).valid.any()


def _udim_mesh():
    """Two unit-square islands in tiles 0 and 1, plus a third one reusing tile 0's UVs (overlap)."""
    verts, faces, uv, uvf = [], [], [], []
    for k, (tile, z) in enumerate([(0, 0.0), (1, 1.0), (0, 2.0)]):
        verts.append(np.array([[0, 0, z], [0.1, 0, z], [0.1, 0.1, z], [0, 0.1, z]]) + [0.2 * k, 0, 0])
        faces.append(SQUARE_F + 4 * k)
        uv.append(SQUARE_UV * 0.9 + 0.05 + [tile, 0])
        uvf.append(SQUARE_F + 4 * k)
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(uv), np.concatenate(uvf)


def test_islands_charts_and_packing_do_not_overlap():
    v, f, uv, uvf = _udim_mesh()
    assert len(np.unique(uv_islands(f, uvf))) == 3
    assert len(np.unique(uv_charts(v, f, uv, uvf))) == 3  # the overlapping copy gets its own chart
    new_uv, new_f = pack_atlas(v, f, uv, uvf, np.ones(len(f)))
    assert new_uv.min() >= 0 and new_uv.max() <= 1
    r = rasterize(new_uv, new_f, 64)
    assert r.overlap.max() == 1
    counts = np.bincount(r.face[r.valid] // 2, minlength=3)
    assert counts.min() > 0 and counts.max() / counts.min() < 1.3  # equal 3D area -> similar texel counts


def test_density_weight_scales_texel_count():
    v, f, uv, uvf = _udim_mesh()
    w = np.array([1, 1, 0.25, 0.25, 1, 1.0])  # island 1 at a quarter density
    r = rasterize(*pack_atlas(v, f, uv, uvf, w), 96)
    counts = np.bincount(r.face[r.valid] // 2, minlength=3)
    assert counts[1] / counts[0] == pytest.approx(0.25, rel=0.2)


def test_shelf_pack_reports_no_fit():
    assert shelf_pack(np.array([[0.6, 0.6], [0.6, 0.6]]), 1.0, 0.01) is None
    pos = shelf_pack(np.array([[0.5, 0.5], [0.4, 0.4]]), 1.0, 0.01)
    assert pos[1, 0] >= 0.51 and pos[1, 1] == pos[0, 1]
