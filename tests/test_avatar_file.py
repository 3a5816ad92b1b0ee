"""Avatar file dejavu.avatar/1: round trip, validation, one-line errors."""

import numpy as np
import pytest

from dejavu_cli.avatar.file import check_layout, load_avatar, save_avatar, template_avatar
from dejavu_cli.errors import DejavuError
from dejavu_cli.uv.layout import build_layout


@pytest.fixture(scope="module")
def layout(test_head):
    return build_layout(test_head, 32)


@pytest.fixture
def avatar(test_head, layout):
    a = template_avatar(test_head, layout)
    a.blendmaps = np.random.default_rng(0).normal(size=(10, a.n_gaussians, 13)).astype(np.float32) * 0.01
    a.neutral_expression = np.linspace(0, 1, test_head.n_expression)
    a.source_video_sha256 = "ab" * 32
    return a


def test_round_trip(tmp_path, avatar, layout):
    path = save_avatar(tmp_path / "a.npz", avatar)
    b = load_avatar(path)
    assert (b.head, b.uv_size, b.layout_check, b.blend_drivers) == (avatar.head, 32, layout.check, avatar.blend_drivers)
    np.testing.assert_array_equal(b.blendmaps, avatar.blendmaps)
    np.testing.assert_allclose(b.neutral_expression, avatar.neutral_expression, rtol=1e-6)
    assert b.dejavu_version and b.created.startswith("20") and b.source_video_sha256 == "ab" * 32
    np.testing.assert_allclose(b.intrinsics(512)[0, 0], 1451.8, atol=0.1)   # docs/conventions.md#camera
    check_layout(b, layout)
    with np.load(path, allow_pickle=False) as raw:                             # pickle-free
        assert str(raw["schema"]) == "dejavu.avatar/1"


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_bad_files_are_one_line_errors(tmp_path, avatar):
    good = save_avatar(tmp_path / "a.npz", avatar)
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(good.read_bytes()[:500])
    with np.load(good) as d:
        arrays = dict(d)
    cases = {
        trunc: "truncated",
        _write(tmp_path / "foreign.npz", x=np.zeros(3)): "not a dejavu avatar",
        _write(tmp_path / "v2.npz", **{**arrays, "schema": np.array("dejavu.avatar/2")}): "upgrade",
        _write(tmp_path / "track.npz", schema=np.array("dejavu.track/1")): "dejavu.track file",
        _write(tmp_path / "shape.npz", **{**arrays, "init": arrays["init"][:, :12]}): "field init has shape",
        _write(tmp_path / "miss.npz", **{k: v for k, v in arrays.items() if k != "blendmaps"}): "missing",
        _write(tmp_path / "nan.npz", **{**arrays, "rectification": arrays["rectification"] * np.nan}): "NaN",
        tmp_path / "nope.npz": "not found",
    }
    for path, words in cases.items():
        with pytest.raises(DejavuError, match=words) as info:
            load_avatar(path)
        assert "\n" not in str(info.value)


def test_layout_mismatch(test_head, avatar):
    other = build_layout(test_head, 40)
    with pytest.raises(DejavuError, match="does not match"):
        check_layout(avatar, other)


def test_save_is_atomic_and_validates(tmp_path, avatar):
    avatar.init = avatar.init[:, :5]
    with pytest.raises(DejavuError):
        save_avatar(tmp_path / "bad.npz", avatar)
    assert list(tmp_path.iterdir()) == []
