"""Targets (head-region cut, frame split) and the colour initialization of ``dejavu create``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dejavu_cli.avatar.gaussians import SH_C0
from dejavu_cli.errors import DejavuError
from dejavu_cli.fit import colour, frames, targets
from dejavu_cli.head.geometry import vertex_normals
from dejavu_cli.render.camera import default_viewmat, intrinsics, project


def test_split_frames_skips_faceless_and_holds_out_last_tenth():
    valid = np.ones(40, bool)
    valid[[3, 7]] = False
    train, held = frames.split_frames(valid)
    assert len(held) == 4 and len(train) == 34
    assert held.min() > train.max() and 3 not in train and 7 not in train
    with pytest.raises(DejavuError):
        frames.split_frames(np.array([True, False]))


def test_silhouette_is_the_union_of_a_dense_mesh():
    """A 3 px grid mesh over [4, 28]^2 plus the same triangles again (overlap, as front and back faces):
    the silhouette is the square (boundary pixels may differ), overlaps never cancel."""
    g = np.linspace(4, 28, 9)
    xx, yy = np.meshgrid(g, g)
    pix = np.stack([xx.ravel(), yy.ravel()], -1)[None]                      # [1, 81, 2]
    k = np.arange(81).reshape(9, 9)[:-1, :-1].ravel()
    tris = np.concatenate([np.stack([k, k + 1, k + 10], 1), np.stack([k, k + 10, k + 9], 1)])
    sil = targets.silhouette(pix, np.concatenate([tris, tris[:, ::-1]]), 32)
    centres = np.arange(32) + 0.5
    inside = (centres[:, None] > 4) & (centres[:, None] < 28) & (centres[None] > 4) & (centres[None] < 28)
    core = (centres[:, None] > 5) & (centres[:, None] < 27) & (centres[None] > 5) & (centres[None] < 27)
    assert sil.shape == (1, 32, 32)
    assert sil[0][core].all()                   # the interior is filled (only the 1 px rim may differ)
    assert (sil[0] & ~inside).sum() <= 2 * 26  # at most the rim row/column at x, y = 28


def test_jaw_keep_mask_cuts_below_the_head_line():
    head = np.zeros((10, 10), bool)
    head[1:5, 3:7] = True            # a block: lowest row 4 in columns 3..6
    head[5, 5] = True                # chin pixel: column 5 goes down to row 5
    keep = targets.jaw_keep_mask(head)
    assert keep[:5, :].all() and not keep[6:, :].any()
    assert keep[5, 5] and not keep[5, 3]
    assert keep[4, 0] and not keep[5, 0]   # beside the head: the nearest column's line
    assert targets.jaw_keep_mask(np.zeros((4, 4), bool)).all()


def test_compose_targets_whitens_and_resizes():
    crops = np.zeros((2, 8, 8, 3), np.uint8)
    keep = np.zeros((2, 4, 4), bool)
    keep[:, :2] = True                     # top half kept (mask at half resolution)
    out = targets.compose_targets(crops, keep, 4)
    assert out.shape == (2, 4, 4, 3) and out.dtype == np.uint8
    assert (out[:, 0] == 0).all() and (out[:, 3] == 255).all()             # far from the edge: exact
    assert (out[:, 1:3] > 0).any() and (out[:, 1:3] < 255).all()            # a soft edge, not a stair
    assert np.all(np.diff(out[0, :, 0, 0].astype(int)) >= 0)                # monotone across the edge


def _compose_cv2(crops, keep, resolution):
    """Reference: per-frame OpenCV (bilinear mask upsampling, area resampling), float, then rounded."""
    import cv2

    T, S = crops.shape[:2]
    out = np.empty((T, resolution, resolution, 3), np.uint8)
    for t in range(T):
        a = cv2.resize(keep[t].astype(np.float32), (S, S), interpolation=cv2.INTER_LINEAR)[..., None]
        img = crops[t].astype(np.float32) * a + 255.0 * (1.0 - a)
        img = cv2.resize(img, (resolution, resolution), interpolation=cv2.INTER_AREA)
        out[t] = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return out


@pytest.mark.parametrize("S,m,R", [(64, 32, 32), (64, 32, 64), (48, 24, 16), (40, 40, 20)])
def test_compose_targets_matches_opencv(S, m, R):
    rng = np.random.default_rng(S + m + R)
    crops = rng.integers(0, 256, (5, S, S, 3), dtype=np.uint8)
    keep = rng.random((5, m, m)) > 0.4
    ours = targets.compose_targets(crops, keep, R, chunk=2).astype(int)
    ref = _compose_cv2(crops, keep, R).astype(int)
    assert np.abs(ours - ref).max() <= 1                                    # rounding of float sums only
    pre = np.zeros((5, R, R, 3), np.uint8)
    assert targets.compose_targets(crops, keep, R, out=pre) is pre and np.array_equal(pre, ours)


def test_scale_intrinsics_maps_pixel_centres():
    K = intrinsics(300.0, 64, 64)
    K2 = targets.scale_intrinsics(K, 64, 16)
    p = torch.tensor([[[0.01, -0.02, 0.0]]])
    V = default_viewmat()
    assert torch.allclose(project(p, V, K2), project(p, V, K) / 4, atol=1e-5)


def test_rgb_sh0_roundtrip_matches_activation():
    rgb = torch.rand(5, 3)
    sh = colour.rgb_to_sh0(rgb)
    assert torch.allclose(0.5 + SH_C0 * sh, rgb, atol=1e-6)


def test_sample_colours_exact_at_pixel_centres():
    img = torch.rand(1, 6, 6, 3)
    pix = torch.tensor([[[2.5, 3.5], [0.5, 0.5]]])
    out = colour.sample_colours(img, pix)
    assert torch.allclose(out[0, 0], img[0, 3, 2]) and torch.allclose(out[0, 1], img[0, 0, 0])


def test_visible_samples_occlusion_and_facing():
    V = default_viewmat()                       # camera at z = +1 looking at the origin
    K = intrinsics(100.0, 32, 32)
    pts = torch.tensor([[[0.0, 0.0, 0.1], [0.0, 0.0, -0.1], [0.05, 0.0, 0.1], [0.0, 0.05, 0.1]]])
    nrm = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 0.0, 1.0]]])
    _, w, _ = colour.visible_samples(pts, nrm, V, K, 32)
    assert w[0, 0] > 0.9 and w[0, 3] > 0.9      # front, facing
    assert w[0, 1] == 0                          # hidden behind point 0 (same pixel, 0.2 m further)
    assert w[0, 2] == 0                          # facing away


def test_vertex_normals_of_a_flat_quad():
    verts = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    n = vertex_normals(verts, faces)
    assert torch.allclose(n, torch.tensor([0.0, 0, 1]).expand(1, 4, 3))


def test_head_keep_mask_on_test_head(test_head):
    """The column rule (shell 0) keeps everything above the jaw line and removes rows well below the chin."""
    S = 48
    V = default_viewmat()
    K = intrinsics(0.5 * S / np.tan(np.radians(10)), S, S)
    z = torch.zeros(1, 3)
    keep = targets.head_keep_masks(test_head, torch.zeros(test_head.n_identity), torch.zeros(1, test_head.n_expression),
                                   z, torch.zeros(1, 6), z, torch.tensor([[0.0, 0.03, 0.2]]), V, K, S, shell=0.0)
    assert keep.shape == (1, S, S) and keep[0, :S // 3].all() and not keep[0, -2:].all()


def test_shell_vertices_push_only_the_moved_ones_along_the_normal():
    verts = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    moved = torch.tensor([True, False, True, False])
    out = targets.shell_vertices(verts, faces, moved, 0.01)
    assert out.shape == verts.shape
    assert torch.allclose(out[0, :, 2], torch.tensor([0.01, 0.0, 0.01, 0.0]))
    assert torch.equal(out[..., :2], verts[..., :2])


def _test_head_masks(test_head, rotvec, S=96, **kw):
    V = default_viewmat()
    K = intrinsics(0.5 * S / np.tan(np.radians(10)), S, S)
    B = rotvec.shape[0]
    return targets.head_keep_masks(test_head, torch.zeros(test_head.n_identity),
                                   torch.zeros(B, test_head.n_expression), torch.zeros(B, 3), torch.zeros(B, 6),
                                   rotvec, torch.tensor([[0.0, 0.0, 0.2]]).expand(B, 3), V, K, S, **kw), K


def test_hair_shell_adds_its_projected_depth_above_the_head(test_head):
    """Frontal test head: the shell mask holds the silhouette and reaches about f * 2 cm / depth pixels
    higher at the top of the head (the scalp pushed out along its normals)."""
    z = torch.zeros(1, 3)
    shell, K = _test_head_masks(test_head, z)
    plain, _ = _test_head_masks(test_head, z, shell=1e-9)  # the silhouette alone (dilated by one pixel)
    top = lambda m: int(np.argmax(m.any(1)))  # noqa: E731
    depth = float(default_viewmat()[2, 3]) - 0.2          # camera distance to the head's origin
    lift = float(K[1, 1]) * targets.HAIR_SHELL / depth
    assert shell.shape == (1, 96, 96) and not (plain[0] & ~shell[0]).any()
    assert abs((top(plain[0]) - top(shell[0])) - lift) <= 2.0
    assert not shell[0, -2:].all()                        # still cut below the chin


def test_hair_shell_turns_with_the_head(test_head):
    """Rolling the head about the optical axis rolls its shell mask with it (same part of the person in every
    frame); the older column rule does not follow a roll."""
    import cv2

    S, deg = 96, 25.0
    rot = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, float(np.radians(deg))]])
    iou = {}
    for shell in (targets.HAIR_SHELL, 0.0):
        m, K = _test_head_masks(test_head, rot, S, shell=shell)
        centre = (float(K[0, 2]) - 0.5, float(K[1, 2]) - 0.5)               # the head's origin projects here
        # the camera flips y, so a roll by +deg about +z turns the image by +deg (counter-clockwise) on screen
        A = cv2.getRotationMatrix2D(centre, deg, 1.0)
        turned = cv2.warpAffine(m[0].astype(np.uint8), A, (S, S), flags=cv2.INTER_NEAREST).astype(bool)
        iou[shell] = (turned & m[1]).sum() / (turned | m[1]).sum()
    assert iou[targets.HAIR_SHELL] > 0.95 and iou[0.0] < 0.9, iou


def test_unseen_texels_take_their_regions_colour():
    """Back-facing texels get the mean colour of the seen texels of their group, else the global mean."""
    from dejavu_cli.fit.colour import project_colours
    from dejavu_cli.render.camera import default_viewmat, focal_from_fov, intrinsics

    R = 64
    img = torch.zeros(1, R, R, 3)
    img[:, :, : R // 2, 0] = 1.0  # left half red
    img[:, :, R // 2:, 2] = 1.0   # right half blue
    x = torch.tensor([-0.05, 0.05, -0.05, 0.05, 0.0])
    surface = torch.stack([x, torch.zeros(5), torch.zeros(5)], -1)[None]
    nz = torch.tensor([1.0, 1.0, -1.0, -1.0, -1.0])  # the last three face away from the camera
    normals = torch.stack([torch.zeros(5), torch.zeros(5), nz], -1)[None]
    groups = torch.tensor([0, 1, 0, 1, 2])
    K = intrinsics(focal_from_fov(20.0, R), R, R)
    rgb, w = project_colours(surface, normals, torch.zeros(1, 3), torch.zeros(1, 3), img, default_viewmat(), K,
                             groups=groups)
    assert (w[:2] > 0).all() and (w[2:] == 0).all()
    torch.testing.assert_close(rgb[0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(rgb[2], rgb[0])  # group 0 -> red
    torch.testing.assert_close(rgb[3], rgb[1])  # group 1 -> blue
    torch.testing.assert_close(rgb[4], (rgb[0] + rgb[1]) / 2, atol=1e-4, rtol=0)  # no seen texel in group 2


def test_frame_specs():
    assert frames.parse_frames("0:3,5, 8:10", 12).tolist() == [0, 1, 2, 5, 8, 9]
    assert frames.parse_frames(":2,10:", 12).tolist() == [0, 1, 10, 11]
    assert frames.parse_frames("4,4,1", 12).tolist() == [1, 4]
    for bad, words in (("3:3", "empty"), ("0:13", "outside"), ("12", "outside"), ("a:b", "not an index"),
                       ("", "selects no frame"), ("@/nonexistent/list.txt", "not found")):
        with pytest.raises(DejavuError, match=words):
            frames.parse_frames(bad, 12, "frames")


def test_frame_spec_file(tmp_path):
    f = tmp_path / "rows.txt"
    f.write_text("3\n1  # a comment\n\n7\n")
    assert frames.parse_frames(f"@{f}", 10).tolist() == [1, 3, 7]


def test_split_rows_by_spec_drops_faceless_and_refuses_overlap():
    valid = np.ones(10, bool)
    valid[2] = False
    train, held = frames.split_rows(valid, "0:5", None, 0.1)
    assert train.tolist() == [0, 1, 3, 4] and held.tolist() == [5, 6, 7, 8, 9]
    train, held = frames.split_rows(valid, None, "8:10", 0.1)
    assert held.tolist() == [8, 9] and 2 not in train.tolist() and len(train) == 7
    assert [x.tolist() for x in frames.split_rows(valid, None, None, 0.1)] == [[0, 1, 3, 4, 5, 6, 7, 8], [9]]
    with pytest.raises(DejavuError, match="overlap"):
        frames.split_rows(valid, "0:5", "4:6", 0.1)
    with pytest.raises(DejavuError, match="at least one"):
        frames.split_rows(valid, "2", None, 0.1)
