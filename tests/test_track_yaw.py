"""Yaw-dependent correspondences: MediaPipe's points slide as the head turns, so the fit reads each frame's
points from a table derived on turned renders (docs/tracking.md#correspondences)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from dejavu_cli.head.pose import yaw_pitch_roll
from dejavu_cli.render.camera import default_viewmat, focal_from_fov, intrinsics
from dejavu_cli.track import correspond
from dejavu_cli.track.correspond import Correspondence, correspondence_for, from_landmarks68, yaw_bins
from dejavu_cli.track.fit import FitWeights, build_landmark_model, fit_landmarks, posed_points, project

S = 128
YAWS = np.array([-30.0, 0.0, 30.0], np.float32)


def _with_table(corr: Correspondence) -> Correspondence:
    """A yaw table for the test head: the jaw-line points (iBUG 0-16) slide one place along the jaw line
    towards the camera at -30 and +30 degrees (as MediaPipe's face oval follows the silhouette)."""
    jaw = np.arange(17)
    faces = np.stack([corr.faces] * 3)
    bary = np.stack([corr.bary] * 3)
    for k, shift in ((0, 1), (2, -1)):
        faces[k, jaw] = corr.faces[np.clip(jaw + shift, 0, 16)]
        bary[k, jaw] = corr.bary[np.clip(jaw + shift, 0, 16)]
    return dataclasses.replace(corr, yaw_deg=YAWS, yaw_faces=faces, yaw_bary=bary)


@pytest.fixture(scope="module")
def tables(test_head):
    corr = _with_table(from_landmarks68(test_head))
    return test_head, corr, build_landmark_model(test_head, corr), build_landmark_model(test_head, corr.at_yaw(2))


def _coeffs(lm, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    ident = 0.3 * torch.randn(lm.n_id, generator=g)
    frame = torch.zeros(T, lm.n_exp + lm.n_jaw + lm.n_eyes)
    frame[:, :lm.n_exp] = 0.2 * torch.randn(T, lm.n_exp, generator=g)
    return ident, frame


def test_yaw_bins_values_and_clamping():
    grid = torch.tensor([-1.0, 0.0, 2.0])
    lo, a = yaw_bins(torch.tensor([-5.0, -1.0, -0.25, 0.0, 1.0, 2.0, 9.0]), grid)
    assert lo.tolist() == [0, 0, 0, 1, 1, 1, 1]
    torch.testing.assert_close(a, torch.tensor([0.0, 0.0, 0.75, 0.0, 0.5, 1.0, 1.0]))


def test_landmark_model_holds_one_model_per_calibration_yaw(tables):
    head, corr, lm, _ = tables
    assert len(lm.yaw_models) == 3 and lm.yaw_grid.shape == (3,)
    torch.testing.assert_close(lm.yaw_grid, torch.deg2rad(torch.as_tensor(YAWS)))
    assert all(m.yaw_models is None and m.basis.shape == lm.basis.shape for m in lm.yaw_models)
    # a correspondence without a table (or with a one-yaw table) gives a pose-independent model
    assert build_landmark_model(head, from_landmarks68(head)).yaw_models is None
    one = dataclasses.replace(corr, yaw_deg=YAWS[:1], yaw_faces=corr.yaw_faces[:1], yaw_bary=corr.yaw_bary[:1])
    assert build_landmark_model(head, one).yaw_models is None


def test_posed_points_read_the_table_at_the_frame_yaw(tables):
    """At a calibration yaw the points are that yaw's model (the head's own forward at its triangles);
    between two yaws the linear mix; outside the grid the end model; without a yaw the frontal model."""
    head, corr, lm, lm30 = tables
    ident, frame = _coeffs(lm, 5)
    yaw = torch.deg2rad(torch.tensor([30.0, 45.0, 15.0, 0.0, -30.0]))
    pts = posed_points(lm, ident, frame, yaw)
    front = posed_points(lm, ident, frame)
    right = posed_points(lm30, ident, frame)
    left = posed_points(build_landmark_model(head, corr.at_yaw(0)), ident, frame)
    torch.testing.assert_close(pts[:2], right[:2], atol=1e-6, rtol=0)
    torch.testing.assert_close(pts[2], 0.5 * (front[2] + right[2]), atol=1e-6, rtol=0)
    torch.testing.assert_close(pts[3], front[3], atol=1e-6, rtol=0)
    torch.testing.assert_close(pts[4], left[4], atol=1e-6, rtol=0)
    truth = corr.at_yaw(2).surface(head.vertices(identity=ident[None].expand(2, -1), expression=frame[:2, :lm.n_exp]),
                                   head.faces)
    torch.testing.assert_close(pts[:2], truth, atol=1e-5, rtol=0)


def test_no_gradient_flows_into_the_yaw(tables):
    _, _, lm, _ = tables
    ident, frame = _coeffs(lm, 3)
    frame.requires_grad_(True)
    yaw = torch.tensor([0.1, 0.2, -0.3], requires_grad=True)
    posed_points(lm, ident, frame, yaw).sum().backward()
    assert yaw.grad is None and frame.grad is not None and torch.isfinite(frame.grad).all()


def test_fit_with_the_table_recovers_turned_heads(tables):
    """Frames made with sliding points (the table) at yaws of +-25 degrees: the fit that reads the table at
    each frame's yaw recovers the yaw; one that assumes fixed frontal points is biased."""
    head, corr, lm, _ = tables
    K, V = intrinsics(focal_from_fov(20.0, S), S, S), default_viewmat()
    T = 8
    ident, frame = _coeffs(lm, T, seed=3)
    frame = 0.3 * frame
    yaw = torch.deg2rad(torch.linspace(-25, 25, T))
    rot = torch.stack([torch.zeros(T), yaw, torch.zeros(T)], 1)       # rotations about y: pure yaw
    tr = torch.tensor([[0.0, 0.0, -0.05]]).expand(T, 3)
    targets = project(posed_points(lm, ident, frame, yaw), rot, tr, V, K).numpy()
    errs = {}
    for name, model in (("table", lm), ("frontal", build_landmark_model(head, from_landmarks68(head)))):
        res = fit_landmarks(model, targets, corr.weights, np.zeros(T, bool), K, V, FitWeights(iterations=300))
        fitted = yaw_pitch_roll(torch.as_tensor(res["rotvec"]))[:, 0]
        errs[name] = float((fitted - torch.rad2deg(yaw)).abs().max())
    assert errs["table"] < 0.5, errs
    assert errs["frontal"] > 2 * errs["table"], errs


def test_the_table_survives_the_cache(test_head, tmp_path, monkeypatch):
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    made = _with_table(from_landmarks68(test_head))
    monkeypatch.setattr(correspond, "derive_from_render", lambda head: made)
    first = correspondence_for(test_head)
    monkeypatch.setattr(correspond, "derive_from_render", lambda head: pytest.fail("cache not used"))
    again = correspondence_for(test_head)
    for a in (first, again):
        np.testing.assert_array_equal(a.yaw_deg, YAWS)
        np.testing.assert_array_equal(a.yaw_faces, made.yaw_faces)
        np.testing.assert_array_equal(a.yaw_bary, made.yaw_bary)


def test_derivation_builds_the_table_from_the_turned_renders(test_head, monkeypatch):
    """derive_from_render lifts the points on each turned render and hands them to ``walk_table``: a yaw whose
    render shows no face is left out, a point not found is handed on as -1, the frontal row is the frontal
    lift, the face oval is the sliding set (and keeps its lower weight)."""
    front_verts = correspond._neutral_open_mouth(test_head)
    n = len(correspond.mediapipe_fit_ids()) - (0 if test_head.has_eyes else len(correspond.IRIS_IDS))

    def fake_lift(fm, head, verts, ids, size):
        # the render's yaw, recovered from how the vertices were turned about y (v' = Ry v)
        x, z, x1, z1 = front_verts[:, 0], front_verts[:, 2], verts[:, 0], verts[:, 2]
        turned = np.degrees(np.arctan2((x1 * z - z1 * x).sum(), (x1 * x + z1 * z).sum()))
        k = int(round(turned / 10))
        if abs(k) == 6:
            return None
        faces = np.full(len(ids), 100 + k, np.int64)
        if k == 1:
            faces[0] = -1
        return faces, np.full((len(ids), 3), 1 / 3, np.float32)

    walked = {}

    def fake_walk(yaws, cand_faces, cand_bary, verts, head_faces, face_region, sliding):
        walked.update(yaws=yaws, faces=cand_faces, sliding=sliding)
        return np.abs(cand_faces), cand_bary.astype(np.float32)

    monkeypatch.setattr(correspond, "_lift", fake_lift)
    monkeypatch.setattr(correspond, "walk_table", fake_walk)
    corr = correspond.derive_from_render(test_head)
    assert corr.source == "render" and len(corr.mp_ids) == n
    np.testing.assert_array_equal(corr.yaw_deg, np.arange(-50, 51, 10))
    np.testing.assert_array_equal(walked["yaws"], corr.yaw_deg)
    assert corr.yaw_faces.shape == (11, n) and corr.yaw_bary.shape == (11, n, 3)
    np.testing.assert_array_equal(corr.faces, 100)
    row = {int(y): i for i, y in enumerate(corr.yaw_deg)}
    np.testing.assert_array_equal(walked["faces"][row[0]], corr.faces)      # the frontal row is the frontal lift
    assert walked["faces"][row[10], 0] == -1 and (walked["faces"][row[10], 1:] == 101).all()
    assert (walked["faces"][row[-40]] == 96).all()
    np.testing.assert_array_equal(corr.yaw_faces, np.abs(walked["faces"]))  # the table is the walk's result
    np.testing.assert_array_equal(walked["sliding"], np.isin(corr.mp_ids, list(correspond.contour_ids())))
    np.testing.assert_array_equal(corr.weights[walked["sliding"]], correspond.CONTOUR_WEIGHT)


def test_mesh_points_at_yaw_are_the_fit_points(tables):
    """``Correspondence.surface_at_yaw`` on the full mesh (the preview's points) equals the reduced model's
    :func:`posed_points` at the same yaws."""
    head, corr, lm, _ = tables
    ident, frame = _coeffs(lm, 4, seed=5)
    yaw = torch.deg2rad(torch.tensor([-40.0, -12.0, 7.0, 22.0]))
    verts = head.vertices(identity=ident[None].expand(4, -1), expression=frame[:, :lm.n_exp])
    torch.testing.assert_close(corr.surface_at_yaw(verts, head.faces, yaw), posed_points(lm, ident, frame, yaw),
                               atol=1e-5, rtol=0)
    no_table = from_landmarks68(head)
    torch.testing.assert_close(no_table.surface_at_yaw(verts, head.faces, yaw), no_table.surface(verts, head.faces))


def test_walk_table_keeps_slides_and_refuses_jumps():
    """Walking out from yaw 0: a point moving 5 mm per yaw is followed; a 3 cm jump (MediaPipe's inner lip
    onto the teeth) or a point on another part of the head keeps the previous yaw's triangle; a sliding
    (face-oval) point may jump; a point not found keeps the previous triangle."""
    verts = np.stack([np.arange(20) * 0.005, np.zeros(20), np.zeros(20)], 1)        # vertex i at x = 5 i mm
    head_faces = np.repeat(np.arange(20)[:, None], 3, 1)                           # face i = vertex i
    region = np.zeros(20, np.int64)
    region[19] = 6                                                                  # face 19: the teeth
    yaws = np.array([-20, -10, 0, 10, 20], np.float32)
    #                   point 0 (slides)  point 1 (jumps at +10)  point 2 (face oval)
    cand = np.array([[19, 5, 10],     # -20: point 0 onto the teeth
                     [1, 5, 10],      # -10
                     [2, 5, 10],      # 0
                     [3, 11, 16],     # +10: point 1 jumps 3 cm, point 2 slides 3 cm
                     [4, -1, 17]])    # +20: point 1 not found
    bary = np.zeros((5, 3, 3), np.float32)
    bary[..., 0] = 1
    faces, out_bary = correspond.walk_table(yaws, cand, bary, verts, head_faces, region,
                                            sliding=np.array([False, False, True]))
    np.testing.assert_array_equal(faces, [[1, 5, 10], [1, 5, 10], [2, 5, 10], [3, 5, 16], [4, 5, 17]])
    assert out_bary.shape == (5, 3, 3) and out_bary.dtype == np.float32
