"""Tracking building blocks: crop boxes and resampling, temporal smoothing, masks, subject choice, file."""

from __future__ import annotations

import numpy as np
import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.track import crop as C
from dejavu_cli.track.landmarks import Landmarker, MediaPipeLandmarker, choose_subject
from dejavu_cli.track.segment import pack_mask, unpack_masks


def test_gaussian_smooth_is_zero_phase_and_keeps_ramps():
    impulse = np.zeros((41, 1))
    impulse[20] = 1
    out = C.gaussian_smooth(impulse, 3.0)[:, 0]
    np.testing.assert_allclose(out, out[::-1], atol=1e-12)           # symmetric: no lag
    assert out.argmax() == 20 and abs(out.sum() - 1) < 1e-9
    ramp = np.arange(50.0)[:, None] * 2 + 1
    np.testing.assert_allclose(C.gaussian_smooth(ramp, 2.0)[8:-8], ramp[8:-8], atol=1e-9)


def test_fill_gaps_interpolates_and_holds_ends():
    x = np.array([[np.nan], [1.0], [np.nan], [3.0], [np.nan]])
    np.testing.assert_allclose(C.fill_gaps(x)[:, 0], [1, 1, 2, 3, 3])


def test_smooth_boxes_remove_jitter_but_follow_motion():
    rng = np.random.default_rng(0)
    T = 120
    cx = np.linspace(100, 200, T)
    raw = np.stack([cx + rng.normal(0, 3, T), np.full(T, 150.0) + rng.normal(0, 3, T),
                    np.full(T, 180.0) + rng.normal(0, 4, T)], -1)
    raw[50:55] = np.nan  # face lost for a few frames
    boxes = C.smooth_boxes(raw, fps=30)
    centre = boxes[:, 0] + boxes[:, 2] / 2
    assert np.abs(np.diff(centre, 2)).mean() < 0.1 * np.nanmean(np.abs(np.diff(raw[:, 0], 2)))
    assert np.abs(centre[10:-10] - cx[10:-10]).max() < 4
    assert not np.isnan(boxes).any()


def test_to_crop_from_crop_roundtrip():
    pts = np.random.default_rng(1).uniform(0, 300, (2, 5, 2)).astype(np.float32)
    box = np.array([[10.5, 20.0, 200.0], [0.0, -5.0, 400.0]], np.float32)
    np.testing.assert_allclose(C.from_crop(C.to_crop(pts, box, 64), box, 64), pts, atol=1e-3)


def test_crop_frame_identity_and_border():
    frame = np.random.default_rng(2).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(C.crop_frame(frame, (5, 7, 16), 16), frame[7:23, 5:21])
    out = C.crop_frame(frame, (-40, -40, 20), 8)             # fully outside -> border
    assert (out == C.BORDER_VALUE).all()
    half = C.crop_frame(frame, (30, 0, 40), 20)              # right half outside the frame
    assert (half[:, 12:] == C.BORDER_VALUE).all() and (half[:, :8] != C.BORDER_VALUE).any()


def test_crop_frame_shrinks_without_aliasing():
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255                                     # 1-pixel stripes alias when sampled at 1/4
    out = C.crop_frame(stripes, (0, 0, 64), 16).astype(float)
    assert abs(out.mean() - 127.5) < 10 and out[4:-4, 4:-4].std() < 10


def test_mask_pack_roundtrip():
    prob = np.zeros((64, 64), np.float32)
    prob[10:40, 20:50] = 1
    packed = pack_mask(prob, 30)
    assert packed.shape == (30, 4) and packed.dtype == np.uint8
    m = unpack_masks(packed[None], 30)[0]
    assert m.shape == (30, 30) and m[6:18, 10:23].all() and not m[:4].any()
    assert unpack_masks(packed[None], 30, 60).shape == (1, 60, 60)


def test_choose_subject_largest_then_consistent():
    small = np.array([[0, 0], [10, 10]], np.float32)
    big = np.array([[100, 100], [160, 160]], np.float32)
    assert choose_subject([small, big], None) == 1
    assert choose_subject([small + 1, big], np.array([0, 0, 10, 10])) == 0  # keeps the tracked subject
    assert choose_subject([], None) is None


def test_mediapipe_landmarker_follows_the_protocol():
    assert "n_points" in Landmarker.__annotations__
    for name in ("n_points", "detect", "close"):
        assert hasattr(MediaPipeLandmarker, name)
    assert MediaPipeLandmarker.n_points == 478


def _track(T=5, size=32):
    from dejavu_cli.track.file import TrackResult

    m = size // 2
    valid = np.array([True, True, False, True, True])[:T]
    return TrackResult(
        video_sha256="ab" * 32, fps=30.0, n_frames=T, source_size=np.array([64, 48]), frames=np.arange(T),
        valid=valid, crop_boxes=np.tile(np.array([0, 0, 48], np.float32), (T, 1)), size=size,
        landmarks=np.zeros((T, 478, 2), np.float32), fit_ids=np.arange(10), head="test",
        identity=np.zeros(8, np.float32), expression=np.zeros((T, 12), np.float32),
        jaw=np.zeros((T, 3), np.float32), eyes=np.zeros((T, 6), np.float32),
        rotvec=np.linspace(0, 0.1, T * 3, dtype=np.float32).reshape(T, 3), translation=np.zeros((T, 3), np.float32),
        K=np.eye(3, dtype=np.float32), viewmat=np.eye(4, dtype=np.float32), fov_deg=20.0,
        masks=np.zeros((T, m, (m + 7) // 8), np.uint8), mask_size=m,
        landmark_error=np.where(valid, 1.5, np.nan).astype(np.float32))


def test_track_file_roundtrip_and_summary(tmp_path):
    from dejavu_cli.track.file import load_track, save_track, summarize

    track = _track()
    track.landmarks = np.random.default_rng(0).uniform(-10, 40, track.landmarks.shape).astype(np.float32)
    track.landmarks[2] = np.nan                               # the frame without a face
    path = save_track(tmp_path / "a.track.npz", track)
    back = load_track(path)
    assert back.landmarks.dtype == np.float32 and np.isnan(back.landmarks[2]).all()
    np.testing.assert_allclose(back.landmarks[[0, 1, 3, 4]], track.landmarks[[0, 1, 3, 4]], atol=1 / 32 + 1e-6)
    assert back.head == "test" and back.size == 32 and back.valid.dtype == bool
    np.testing.assert_array_equal(back.rotvec, _track().rotvec)
    facts = summarize(path)
    assert facts["n_frames"] == 5 and facts["tracked_frames"] == 4 and facts["landmark_error_px"] == 1.5
    assert set(facts["jitter"]) >= {"rotation_step_deg", "expression_step", "translation_step_mm"}


def test_track_file_errors(tmp_path):
    from dejavu_cli.io.atomic import save_npz_atomic
    from dejavu_cli.track.file import load_track

    save_npz_atomic(tmp_path / "other.npz", {"schema": np.array("dejavu.avatar/1")})
    with pytest.raises(DejavuError, match="not a dejavu tracking file"):
        load_track(tmp_path / "other.npz")
    save_npz_atomic(tmp_path / "old.npz", {"schema": np.array("dejavu.track/0")})
    with pytest.raises(DejavuError, match="schema"):
        load_track(tmp_path / "old.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(DejavuError):
        load_track(tmp_path / "junk.npz")


@pytest.mark.parametrize("side, size", [(128, 32), (90, 64), (200, 37)])
def test_crop_frame_geometry_on_a_ramp(side, size):
    """Crop pixel u samples the source at x0 + (u + 0.5) * side / size (continuous coordinates)."""
    ramp = np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (256, 1, 3))
    x0 = 40.25
    out = C.crop_frame(ramp, (x0, 20, side), size)[size // 2, 2:-2, 0].astype(float)
    expected = x0 + (np.arange(size)[2:-2] + 0.5) * side / size - 0.5       # value = pixel index
    np.testing.assert_allclose(out, expected, atol=1.0)


def _coverage_by_supersampling(box, source_size, size, k=64):
    """Reference: the share of k x k sub-samples of each crop pixel that land inside the frame."""
    x0, y0, side = box
    W, H = source_size
    sub = (np.arange(size * k) + 0.5) * side / (size * k)
    inx = ((x0 + sub >= 0) & (x0 + sub < W)).reshape(size, k).mean(1)
    iny = ((y0 + sub >= 0) & (y0 + sub < H)).reshape(size, k).mean(1)
    return inx, iny


def test_inside_coverage_shapes_and_simple_values():
    boxes = np.array([[10, 10, 20], [-5, 0, 10], [-2.5, 95, 10]], np.float32)
    cx, cy = C.inside_coverage(boxes, (100, 100), 10)
    assert cx.shape == cy.shape == (3, 10) and cx.dtype == np.float32
    np.testing.assert_array_equal(cx[0], 1) and np.testing.assert_array_equal(cy[0], 1)
    np.testing.assert_array_equal(cx[1], [0] * 5 + [1] * 5)              # left half outside
    np.testing.assert_allclose(cx[2, :4], [0, 0, 0.5, 1])                 # a half-covered column
    np.testing.assert_array_equal(cy[2], [1] * 5 + [0] * 5)              # bottom half outside


@pytest.mark.parametrize("box", [(-7.3, 3.1, 41.7), (60.2, -12.9, 55.0), (-30, -30, 200), (120, 5, 9)])
def test_inside_coverage_matches_supersampling(box):
    cx, cy = C.inside_coverage(np.array([box]), (100, 80), 16)
    rx, ry = _coverage_by_supersampling(box, (100, 80), 16)
    np.testing.assert_allclose(cx[0], rx, atol=1 / 64 + 1e-6)
    np.testing.assert_allclose(cy[0], ry, atol=1 / 64 + 1e-6)


def test_inside_coverage_agrees_with_crop_padding():
    """Pixels the coverage calls fully outside hold the crop's border value; fully inside ones hold video."""
    frame = np.full((40, 50, 3), 7, np.uint8)
    box = (30.0, -10.0, 40.0)
    crop = C.crop_frame(frame, box, 20)
    cx, cy = C.inside_coverage(np.array([box]), (50, 40), 20)
    cov = cy[0][:, None] * cx[0][None, :]
    assert (crop[cov == 0] == C.BORDER_VALUE).all()
    inner = (cy[0][:, None] == 1) & (cx[0][None, :] == 1)
    inner[[0, -1], :] = False  # the bilinear resampling blends the border into the first covered pixel
    inner[:, [0, -1]] = False
    core = np.zeros_like(inner)
    core[6:, :9] = True       # two pixels away from the frame's edges (y >= 5, x <= 10 are inside)
    assert (crop[inner & core] == 7).all()


def test_native_stderr_filter_drops_only_the_known_noise(capfd):
    import os

    from dejavu_cli.track.mediapipe_env import native_stderr_without

    with native_stderr_without():
        os.write(2, b"keep: a real native error\n")
        os.write(2, b"W0000 00:00:1 123 landmark_projection_calculator.cc:186] Using NORM_RECT ...\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "keep: a real native error" in err and "after" in err
    assert "landmark_projection_calculator" not in err
