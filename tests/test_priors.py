"""The prior create supplies itself (fit/priors.py): mirror correspondence, the fill of unseen texels, the
shape and opacity regularizers, visibility weights, and the random-background compositing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dejavu_cli.fit import priors
from dejavu_cli.fit.targets import compose_targets
from dejavu_cli.render.project import quat_to_rotmat


def test_mirror_texels_pairs_symmetric_points_within_regions():
    pts = torch.tensor([[0.03, 0.0, 0.0], [-0.03, 0.0, 0.0],       # a pair
                        [0.0, 0.05, 0.0],                          # on the plane: its own partner
                        [0.04, 0.1, 0.0],                          # region 1, partner in region 1 only
                        [-0.041, 0.1, 0.0], [-0.04, 0.1, 0.0],    # the second is region 0: not a partner
                        [0.08, -0.2, 0.0]])                        # nothing within 1 cm
    region = torch.tensor([0, 0, 0, 1, 1, 0, 0])
    m = priors.mirror_texels(pts, region)
    assert m.shape == (7,) and m.dtype == torch.long
    assert m.tolist() == [1, 0, 2, 4, 3, -1, -1]  # texel 5's mirror image lies 1 mm from texel 3, another region


def test_mirror_maps_signs_are_an_involution_and_mirror_the_rotation():
    maps = torch.randn(5, 13)
    back = priors.mirror_maps(priors.mirror_maps(maps))
    assert torch.equal(back, maps)
    m = priors.mirror_maps(maps)
    assert torch.equal(m[:, 0], -maps[:, 0]) and torch.equal(m[:, 1:3], maps[:, 1:3])
    # the rotation (1, r) mirrored by M = diag(-1, 1, 1): R' = M R M <=> (w, x, y, z) -> (w, x, -y, -z)
    from dejavu_cli.head.pose import axis_angle_to_matrix, quat_to_rotvec
    quat_to_matrix = lambda q: axis_angle_to_matrix(quat_to_rotvec(q))  # noqa: E731
    q = torch.nn.functional.normalize(torch.cat([torch.ones(5, 1), maps[:, 6:9]], -1), dim=-1)
    qm = torch.nn.functional.normalize(torch.cat([torch.ones(5, 1), m[:, 6:9]], -1), dim=-1)
    M = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
    torch.testing.assert_close(quat_to_matrix(qm), M @ quat_to_matrix(q) @ M, atol=1e-5, rtol=0)


def _scene():
    """6 texels: 0/1 a mirror pair, 2/3 a pair (neither seen), 4 scalp seen, 5 scalp unseen without partner."""
    base = torch.zeros(6, 13)
    base[:, 9] = 0.5
    deltas = torch.randn(3, 6, 13, generator=torch.Generator().manual_seed(0))  # rect + 2 blendmaps
    seen = torch.tensor([True, False, False, False, True, False])
    mirror = torch.tensor([1, 0, 3, 2, -1, -1])
    region = torch.tensor([0, 0, 0, 0, 1, 1])
    opaque = region == 1
    return base, deltas, seen, mirror, region, opaque


def test_fill_unseen_copies_the_mirror_partner_in_every_map():
    base, deltas, seen, mirror, region, opaque = _scene()
    out, counts = priors.fill_unseen(base, deltas, seen, mirror, region, opaque)
    assert out.shape == deltas.shape and counts == {"mirrored": 1, "region_prior": 3}
    torch.testing.assert_close(base[1] + out[:, 1], priors.mirror_maps(base[0] + deltas[:, 0]))
    assert torch.equal(out[:, 0], deltas[:, 0]) and torch.equal(out[:, 4], deltas[:, 4])  # seen: untouched


def test_fill_unseen_region_prior_colour_surface_and_opacity():
    base, deltas, seen, mirror, region, opaque = _scene()
    deltas[0, 5, 9] = -3.0                                    # a transparent unseen scalp texel
    out, _ = priors.fill_unseen(base, deltas, seen, mirror, region, opaque)
    final = base + out
    torch.testing.assert_close(final[0, 5, 10:13], base[4, 10:13] + deltas[0, 4, 10:13])  # the seen hair
    torch.testing.assert_close(final[0, 2, 10:13], base[0, 10:13] + deltas[0, 0, 10:13])  # region 0's seen
    assert torch.all(final[:, [2, 3, 5], 0:3] == 0)           # on the surface
    assert float(final[0, 5, 9]) == pytest.approx(priors.OPAQUE_LOGIT)
    assert float(final[0, 2, 9]) == pytest.approx(float(base[2, 9] + deltas[0, 2, 9]))  # face: not forced
    assert torch.equal(out[1, 5], out[0, 5]) and torch.equal(out[2, 3], out[0, 3])  # no expression change


def test_fill_unseen_without_anything_seen_keeps_colours():
    base, deltas, _, mirror, region, opaque = _scene()
    out, counts = priors.fill_unseen(base, deltas, torch.zeros(6, dtype=torch.bool), mirror, region, opaque)
    assert counts == {"mirrored": 0, "region_prior": 6}
    torch.testing.assert_close(out[0, :, 10:13], deltas[0, :, 10:13])


def test_shape_reg_values_zero_inside_limits_and_gradient():
    inside = torch.log(torch.tensor([[0.001, 0.002, 0.004]]))
    assert float(priors.shape_reg(inside, 0.005, 5.0)) == 0.0
    long_ = torch.log(torch.tensor([[0.004, 0.004, 0.01]]))    # 2x the cap, ratio 2.5: cap term only
    assert float(priors.shape_reg(long_, 0.005, 5.0)) == pytest.approx(math.log(2.0), rel=1e-5)
    thin = torch.log(torch.tensor([[0.0001, 0.0002, 0.004]]))  # ratio 20 = 4x the allowed 5
    assert float(priors.shape_reg(thin, 0.005, 5.0)) == pytest.approx(math.log(4.0), rel=1e-5)
    batch = torch.log(torch.rand(2, 7, 3, dtype=torch.float64) * 0.02 + 1e-4).requires_grad_()
    assert priors.shape_reg(batch, 0.005, 5.0).shape == ()
    torch.autograd.gradcheck(lambda x: priors.shape_reg(x, 0.005, 5.0), (batch,))


def test_normal_extent_against_the_covariance_and_flat_reg():
    """normal_extent is sqrt(n^T Sigma n) with Sigma = R S^2 R^T (render.project's rotation); a Gaussian
    flat in the tangent plane has its smallest scale along the normal; a quarter turn about x puts its
    longest axis (y) on the normal z."""
    s = torch.log(torch.tensor([[0.004, 0.002, 0.0003]]))
    n = torch.tensor([[0.0, 0.0, 1.0]])
    ident = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    assert float(priors.normal_extent(s, ident, n)) == pytest.approx(0.0003, rel=1e-5)
    quarter_x = torch.tensor([[math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0]])
    assert float(priors.normal_extent(s, quarter_x, n)) == pytest.approx(0.002, rel=1e-5)
    q = torch.randn(5, 4, dtype=torch.float64)
    ls = torch.log(torch.rand(5, 3, dtype=torch.float64) * 0.01 + 1e-4)
    nn = torch.nn.functional.normalize(torch.randn(5, 3, dtype=torch.float64), dim=-1)
    R = quat_to_rotmat(torch.nn.functional.normalize(q, dim=-1))
    sigma = R @ torch.diag_embed(torch.exp(ls) ** 2) @ R.transpose(-1, -2)
    ref = torch.sqrt((nn[:, None, :] @ sigma @ nn[:, :, None])[:, 0, 0])
    torch.testing.assert_close(priors.normal_extent(ls, q, nn), ref)
    # flat_reg: zero for the flat one, log(excess) for the turned one, weights respected, gradient exact
    assert float(priors.flat_reg(s, ident, n, torch.ones(1), 0.0005)) == 0.0
    assert float(priors.flat_reg(s, quarter_x, n, torch.ones(1), 0.0005)) == pytest.approx(math.log(4), rel=1e-5)
    assert float(priors.flat_reg(s, quarter_x, n, torch.zeros(1), 0.0005)) == 0.0
    ls = ls.clone().requires_grad_()
    q = q.clone().requires_grad_()
    torch.autograd.gradcheck(lambda a, b: priors.flat_reg(a, b, nn, torch.ones(5, dtype=torch.float64), 1e-3),
                             (ls, q))
    batch = priors.normal_extent(ls.detach().expand(2, 5, 3), q.detach().expand(2, 5, 4), nn.expand(2, 5, 3))
    assert batch.shape == (2, 5)


def test_close_scalp_holes_makes_rare_transparent_scalp_opaque_in_hair_colour():
    N = 6
    base = torch.zeros(N, 13)
    deltas = torch.zeros(2, N, 13)
    deltas[:, :, 9] = torch.tensor([3.0, 3.0, -3.0, -3.0, -3.0, -3.0])   # two opaque, four transparent
    deltas[:, 0, 10:13] = torch.tensor([-1.0, -1.2, -1.4])                # the opaque hair's colours
    deltas[:, 1, 10:13] = torch.tensor([-1.0, -1.2, -1.4])
    deltas[:, 2:, 10:13] = 1.5                                              # whatever the holes trained to
    scalp = torch.tensor([True, True, True, True, True, False])
    rare = torch.tensor([False, False, True, False, True, True])
    out, n = priors.close_scalp_holes(base, deltas, scalp, rare)
    assert n == 2                                                # texels 2 and 4: scalp, rare, transparent
    for t in (2, 4):
        torch.testing.assert_close(out[:, t, 9], torch.full((2,), priors.OPAQUE_LOGIT))
        torch.testing.assert_close(out[:, t, 10:13], torch.tensor([[-1.0, -1.2, -1.4]] * 2))
    for t in (0, 1, 3, 5):                                       # seen, opaque, or not scalp: unchanged
        torch.testing.assert_close(out[:, t], deltas[:, t])
    none, n0 = priors.close_scalp_holes(base, deltas, scalp, torch.zeros(N, dtype=torch.bool))
    assert n0 == 0 and torch.equal(none, deltas)


def test_opacity_floor_and_visibility_weights():
    logits = torch.tensor([-1.0, 3.0, 0.0])
    w = torch.tensor([1.0, 1.0, 0.0])
    assert float(priors.opacity_floor_reg(logits, w)) == pytest.approx((priors.OPAQUE_LOGIT + 1.0) / 3)
    seen = torch.tensor([0.0, 0.125, 0.25, 0.9])
    torch.testing.assert_close(priors.low_visibility(seen), torch.tensor([1.0, 0.5, 0.0, 0.0]))
    torch.testing.assert_close(priors.visibility_factor(seen, 4.0), torch.tensor([5.0, 3.0, 1.0, 1.0]))
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda o: priors.opacity_floor_reg(o, w.double().repeat(2)[:4]), (x,))


def test_target_alpha_composites_over_any_background():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    keep = np.zeros((2, 8, 8), bool)
    keep[:, 2:6, 2:6] = True
    alpha = np.empty((2, 8, 8), np.uint8)
    white = compose_targets(crops, keep, 8, alpha_out=alpha).astype(np.float64) / 255
    a = alpha.astype(np.float64)[..., None] / 255
    assert a[:, 3:5, 3:5].min() == 1.0 and a[:, 0, 0].max() == 0.0 and 0 < a[0, 2, 2] < 1
    # over black: the same crops composited directly must equal white - (1 - a)
    black = compose_targets(crops, keep, 8).astype(np.float64) / 255 - (1 - a)
    assert np.abs(black[:, 0, 0]).max() < 1e-9
    assert np.abs(white[:, 3:5, 3:5] - crops.reshape(2, 8, 2, 8, 2, 3).mean((2, 4))[:, 3:5, 3:5] / 255).max() < 0.01


def test_blend_keep_is_one_inside_the_range_and_falls_smoothly_outside():
    from dejavu_cli.avatar.gaussians import FALLBACK_WIDTH, blend_keep, compose_maps

    drivers = torch.tensor([0, 2])
    rng = torch.tensor([[0.0, 0.2], [0.5, 0.6]])              # driver 2's span 0.4 < MIN_SPAN? no: 0.4
    expr = torch.tensor([[0.25, 9.0, 0.4],                     # inside: 1
                         [1.0, 0.0, 0.4],                      # one span (0.5) above driver 0's range
                         [0.25, 0.0, 0.6 + 0.4 * 0.25]])       # a quarter span above driver 2's
    k = blend_keep(expr, drivers, rng)
    assert k.shape == (3,)
    torch.testing.assert_close(k, torch.tensor([1.0, math.exp(-(1.0 / FALLBACK_WIDTH) ** 2),
                                                math.exp(-(0.25 / FALLBACK_WIDTH) ** 2)]))
    assert torch.equal(blend_keep(expr, drivers, None), torch.ones(3))
    x = expr.double().requires_grad_()
    torch.autograd.gradcheck(lambda e: blend_keep(e, drivers, rng.double()), (x,))
    base, blend, rect = torch.zeros(4, 13), torch.randn(2, 4, 13), torch.randn(4, 13)
    w = torch.tensor([[0.5, 0.5]] * 3)
    maps = compose_maps(base, blend, w, k, rect)
    torch.testing.assert_close(maps[0], blend.mean(0))                               # inside: the paper's mix
    torch.testing.assert_close(maps[1], k[1] * blend.mean(0) + (1 - k[1]) * rect)     # far: the global map
    torch.testing.assert_close(compose_maps(base, blend, w), blend.mean(0).expand(3, -1, -1))


def test_stage_two_delta_falls_back_to_the_global_delta():
    from dejavu_cli.create import stages

    g = torch.randn(5, 13)
    blend = torch.randn(3, 5, 13)
    rng = torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.1, 0.1]])
    inside = stages.frame_delta(2, g, blend, torch.full((1, 3), 0.05), [0, 1, 2], rng)
    far = stages.frame_delta(2, g, blend, torch.full((1, 3), 5.0), [0, 1, 2], rng)
    torch.testing.assert_close(inside[0], blend.mean(0))
    torch.testing.assert_close(far[0], g, atol=1e-6, rtol=0)


def test_feature_weights_and_cache_key_follow_the_fit_options(tmp_path, monkeypatch):
    from dejavu_cli.track.config import TrackConfig
    from dejavu_cli.track.correspond import MP_TO_68, feature_weights
    from dejavu_cli.track.pipeline import cache_path

    ids = np.array([MP_TO_68[0], MP_TO_68[37], MP_TO_68[62], MP_TO_68[30]])  # jaw, eyelid, inner lip, nose
    w = feature_weights(ids, np.array([0.3, 1.0, 1.0, 1.0]), 3.0)
    np.testing.assert_allclose(w, [0.3, 3.0, 3.0, 1.0])
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    a = cache_path("v.mp4", TrackConfig(head="ict"), sha="ab")
    assert a == cache_path("v.mp4", TrackConfig(head="ict", device="cpu"), sha="ab")      # device: same result
    assert a != cache_path("v.mp4", TrackConfig(head="ict", feature_weight=1.0), sha="ab")
    assert a != cache_path("v.mp4", TrackConfig(head="ict", iterations=50), sha="ab")
    from dejavu_cli.track import pipeline

    monkeypatch.setattr(pipeline, "DERIVATION_VERSION", pipeline.DERIVATION_VERSION + 1)
    assert a != cache_path("v.mp4", TrackConfig(head="ict"), sha="ab")      # new correspondences: new result


def test_region_errors_find_the_region_that_was_moved(test_head):
    from dejavu_cli.fit.synthetic import make_problem
    from dejavu_cli.track.correspond import MP_TO_68, correspondence_for
    from dejavu_cli.track.fit import build_landmark_model, frame_yaw, posed_points, project
    from dejavu_cli.track.regions import REGIONS, frame_coefficients, region_errors

    track, _, _ = make_problem(test_head, uv_size=16, size=64, n_frames=4, seed=0)
    corr = correspondence_for(test_head, use_cache=False)
    lmodel = build_landmark_model(test_head, corr)
    f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    pts = posed_points(lmodel, f(track.identity), frame_coefficients(track, lmodel), frame_yaw(f(track.rotvec)))
    pix = project(pts, f(track.rotvec),
                  f(track.translation), f(track.viewmat), f(track.K))
    lm = np.zeros_like(track.landmarks)
    lm[:, corr.mp_ids] = pix.numpy()                            # detections = the fitted model: no error
    track.landmarks = lm
    base = region_errors(track, test_head)
    assert {"jaw_px", "eyes_px", "mouth_px", "brows_px", "nose_px", "eyes_opening_px"} <= set(base)
    assert max(abs(v) for v in base.values()) < 1e-3
    lm = np.array(track.landmarks, copy=True)
    upper = [MP_TO_68[k] for k in (37, 38, 43, 44)]
    lm[:, upper, 1] += 3.0                                      # detected upper lids 3 px lower: eyes more closed
    track.landmarks = lm
    moved = region_errors(track, test_head)
    assert moved["eyes_px"] == pytest.approx(3.0 * 4 / 12, abs=1e-3) and moved["jaw_px"] == base["jaw_px"]
    assert moved["eyes_opening_px"] == pytest.approx(base["eyes_opening_px"] - 3.0, abs=1e-3)
    assert set(REGIONS) == {"jaw", "brows", "nose", "eyes", "mouth"}


def test_step_losses_over_white_equal_the_plain_losses_and_a_colour_background_differs(test_head):
    from dejavu_cli.create.config import CreateConfig
    from dejavu_cli.create.optimize import step_losses
    from dejavu_cli.create.run import build_problem
    from dejavu_cli.fit.synthetic import make_problem

    track, crops, _ = make_problem(test_head, uv_size=16, size=32, n_frames=6, seed=0)
    cfg = CreateConfig(steps=2, resolution=32, uv_size=16, batch=2, device="cpu", colour_init=False)
    problem, info = build_problem(track, crops, None, cfg, torch.device("cpu"), progress=False)
    assert problem.alphas.shape == problem.targets.shape[:3] and int(problem.alphas.max()) == 255
    assert info["mirror"].shape == (problem.u_base.shape[0],) and bool(info["in_view"].any())
    idx = problem.train[:2]
    delta = torch.zeros(2, problem.u_base.shape[0], 13)
    plain = step_losses(problem, delta, idx, cfg)
    white = step_losses(problem, delta, idx, cfg, background=torch.ones(2, 3))
    torch.testing.assert_close(white["l1"], plain["l1"])
    green = step_losses(problem, delta, idx, cfg, background=torch.tensor([[0.0, 1.0, 0.0]] * 2))
    assert not torch.allclose(green["l1"], plain["l1"])
    assert float(plain["shape"]) >= 0 and set(plain) >= {"shape", "opacity", "pos", "scale"}


def test_edge_trust_is_a_band_of_the_given_width_around_the_mask_edge(test_head):
    import dataclasses

    from dejavu_cli.create.config import CreateConfig
    from dejavu_cli.create.optimize import step_losses
    from dejavu_cli.create.run import build_problem
    from dejavu_cli.fit.synthetic import make_problem

    track, crops, _ = make_problem(test_head, uv_size=16, size=32, n_frames=4, seed=0)
    cfg = CreateConfig(steps=2, resolution=32, uv_size=16, batch=2, device="cpu", colour_init=False)
    problem, _ = build_problem(track, crops, None, cfg, torch.device("cpu"), progress=False)
    alphas = torch.zeros(4, 32, 32, dtype=torch.uint8)
    alphas[:, 10:20, 8:24] = 255                                 # a 10 x 16 head, edge between pixels 9|10 ...
    alphas[:, 10, 8:24] = 100                                    # ... with a soft first row (alpha < 0.5)
    problem = dataclasses.replace(problem, alphas=alphas)
    assert problem.edge_trust(torch.tensor([0]), 0) is None
    trust = problem.edge_trust(torch.tensor([0, 1]), 2)
    assert trust.shape == (2, 32, 32, 1) and set(trust.unique().tolist()) == {0.0, 1.0}
    band = trust[0, :, :, 0] == 0
    inside = torch.zeros(32, 32, dtype=torch.bool)
    inside[11:20, 8:24] = True                                   # the 0.5 contour: rows 11-19, columns 8-23
    grown = torch.nn.functional.max_pool2d(inside[None, None].float(), 5, 1, 2)[0, 0] > 0
    shrunk = torch.nn.functional.max_pool2d((~inside)[None, None].float(), 5, 1, 2)[0, 0] == 0
    assert torch.equal(band, grown & ~shrunk)
    assert band[9:13, 16].all() and not band[8, 16] and not band[13, 16] and not band[0, 0] and not band[15, 16]
    # the band carries no loss: targets that differ only there score the same with the band, not without
    idx = problem.train[:2]
    delta = torch.zeros(2, problem.u_base.shape[0], 13)
    other = problem.targets.clone()
    other[idx.tolist()] = torch.where(band[None, :, :, None], torch.zeros_like(other[idx]), other[idx])
    moved = dataclasses.replace(problem, targets=other)
    for width, same in ((2, True), (0, False)):
        c = dataclasses.replace(cfg, mask_edge=width)
        a, b = step_losses(problem, delta, idx, c)["l1"], step_losses(moved, delta, idx, c)["l1"]
        assert bool(torch.isclose(a, b)) == same, (width, float(a), float(b))


def test_fill_unseen_takes_the_prior_colour_from_the_source_texels_only():
    base = torch.zeros(4, 13)
    deltas = torch.zeros(1, 4, 13)
    deltas[0, 0, 10:13] = -1.0                                  # seen squarely: dark hair
    deltas[0, 1:3, 10:13] = 2.0                                 # seen at grazing angles only: backdrop white
    seen = torch.tensor([True, True, True, False])
    region = torch.zeros(4, dtype=torch.long)
    none = torch.full((4,), -1)
    out, _ = priors.fill_unseen(base, deltas, seen, none, region, region == 0,
                                source=torch.tensor([True, False, False, False]))
    torch.testing.assert_close(out[0, 3, 10:13], torch.full((3,), -1.0))
    plain, _ = priors.fill_unseen(base, deltas, seen, none, region, region == 0)
    torch.testing.assert_close(plain[0, 3, 10:13], torch.full((3,), 2.0))


def test_cap_scales_clamps_only_the_masked_texels_in_every_map():
    base = torch.zeros(3, 13)
    base[:, 3:6] = math.log(0.002)
    deltas = torch.zeros(2, 3, 13)
    deltas[0, :, 5] = math.log(0.05 / 0.002)                   # every texel's third axis 5 cm in map 0
    deltas[1, 1, 3] = math.log(0.03 / 0.002)                   # texel 1's first axis 3 cm in map 1
    mask = torch.tensor([False, True, True])
    out, n = priors.cap_scales(base, deltas, mask, 0.008)
    assert n == 2 and out.shape == deltas.shape
    scale = torch.exp(base[None, :, 3:6] + out[..., 3:6])
    assert float(scale[:, 1:].max()) == pytest.approx(0.008)  # masked texels capped in both maps
    assert float(scale[0, 0, 2]) == pytest.approx(0.05)       # an unmasked texel keeps its size
    torch.testing.assert_close(out[..., :3], deltas[..., :3])  # nothing but the scales changes
    torch.testing.assert_close(out[..., 6:], deltas[..., 6:])
    small = torch.exp(base[None, :, 3:5] + out[..., 3:5])[0, 1:]
    torch.testing.assert_close(small, torch.full_like(small, 0.002))  # axes under the cap untouched


def test_fill_unseen_region_prior_keeps_the_rest_offset():
    """With create's hair volume, region-prior texels sit at the given offset from the surface, not on it."""
    base, deltas, seen, mirror, region, opaque = _scene()
    rest = torch.zeros(6, 3)
    rest[5] = torch.tensor([0.0, 0.01, 0.0])
    out, _ = priors.fill_unseen(base, deltas, seen, mirror, region, opaque, rest_offset=rest)
    final = base + out
    torch.testing.assert_close(final[:, 5, 0:3], rest[5].expand(final.shape[0], 3))
    assert torch.all(final[:, [2, 3], 0:3] == 0)


def test_hair_volume_offsets_push_only_the_scalp_outward(test_head):
    from dejavu_cli.create.prior import hair_volume_offsets, region_mask
    from dejavu_cli.fit.targets import head_vertices
    from dejavu_cli.uv.layout import build_layout

    layout = build_layout(test_head, 24)
    v = head_vertices(test_head, torch.zeros(test_head.n_identity), torch.zeros(1, test_head.n_expression),
                      torch.zeros(1, 3), torch.zeros(1, 6))[0]
    off = hair_volume_offsets(layout, v, test_head.faces, 0.01)
    scalp = region_mask(layout, ["scalp"])
    assert off.shape == (layout.region.shape[0], 3) and scalp.any() and (~scalp).any()
    torch.testing.assert_close(off[scalp].norm(dim=-1), torch.full((int(scalp.sum()),), 0.01))
    assert torch.all(off[~scalp] == 0)
    surf = layout.surface(v[None])[0]
    outward = ((surf[scalp] - v.mean(0)) * off[scalp]).sum(-1) > 0          # away from the head's centre
    assert outward.float().mean() > 0.95
