"""SOG and GLB writers (export/sog.py, export/glb.py): the pieces against small known cases; the files against
independent readers are in test_export_readers.py."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest

from dejavu_cli.export.glb import glb_attributes
from dejavu_cli.export.sog import image_size, kmeans_1d, log_transform, pack_quats, sog_files, write_sog


@pytest.mark.parametrize("n,size", [(1, (4, 4)), (16, (4, 4)), (17, (8, 4)), (100, (12, 12)), (47938, (220, 220))])
def test_image_size_holds_every_gaussian_in_multiples_of_four(n, size):
    w, h = image_size(n)
    assert (w, h) == size and w * h >= n and w % 4 == 0 and h % 4 == 0


def test_log_transform_values_and_sign():
    np.testing.assert_allclose(log_transform(np.array([0.0, math.e - 1, -(math.e - 1)])), [0, 1, -1])


def test_kmeans_is_exact_with_few_distinct_values_and_close_otherwise():
    x = np.repeat(np.linspace(-3, 2, 40), 7)
    book, labels = kmeans_1d(x)
    assert book.shape == (256,) and labels.dtype == np.uint8 and np.all(np.diff(book) >= 0)
    np.testing.assert_allclose(book[labels], x, atol=1e-6)
    y = np.random.default_rng(0).normal(size=20000)
    book, labels = kmeans_1d(y)
    err = book[labels] - y
    step = (y.max() - y.min()) / 255
    assert np.sqrt(np.mean(err ** 2)) <= step / np.sqrt(12)     # no worse than uniform 8 bits (RMS step/sqrt 12)
    assert np.abs(err).max() < 2 * step                         # and the rare tail values keep fine steps


def test_pack_quats_smallest_three():
    q = np.array([[1, 0, 0, 0], [-1, 0, 0, 0], [0, 0, 2, 0], [0.5, 0.5, -0.5, -0.5]], np.float64)
    p = pack_quats(q)
    assert p[0].tolist() == [128, 128, 128, 252] and p[1].tolist() == [128, 128, 128, 252]   # sign folded
    assert p[2].tolist() == [128, 128, 128, 254]                                              # y largest
    # ties pick the first: w largest; x, y, z = 0.5, -0.5, -0.5 times sqrt(2) -> 0.707.. mapped to bytes
    b = lambda v: int(np.round((v * math.sqrt(2) * 0.5 + 0.5) * 255))  # noqa: E731
    assert p[3].tolist() == [b(0.5), b(-0.5), b(-0.5), 252]


def test_sog_files_meta_and_images():
    rng = np.random.default_rng(0)
    n = 50
    g = {"means": rng.normal(size=(n, 3)).astype(np.float32) * 0.1,
         "log_scales": rng.uniform(-8, -4, (n, 3)).astype(np.float32),
         "quats": rng.normal(size=(n, 4)).astype(np.float32),
         "opacity_logits": rng.normal(size=n).astype(np.float32), "sh_dc": rng.normal(size=(n, 3)).astype(np.float32)}
    files = sog_files(g)
    meta = json.loads(files["meta.json"])
    assert meta["version"] == 2 and meta["count"] == n and len(meta["scales"]["codebook"]) == 256
    assert set(files) == {"meta.json", "means_l.webp", "means_u.webp", "quats.webp", "scales.webp", "sh0.webp"}
    assert all(files[f][:4] == b"RIFF" and files[f][8:12] == b"WEBP" for f in files if f.endswith(".webp"))
    np.testing.assert_allclose(meta["means"]["mins"], log_transform(g["means"].astype(np.float64)).min(0))


def test_write_sog_is_a_zip_with_meta_at_its_root_and_leaves_no_temp(tmp_path):
    g = {"means": np.zeros((3, 3), np.float32), "log_scales": np.full((3, 3), -5, np.float32),
         "quats": np.tile(np.float32([1, 0, 0, 0]), (3, 1)), "opacity_logits": np.zeros(3, np.float32),
         "sh_dc": np.zeros((3, 3), np.float32)}
    write_sog(g, tmp_path / "a.sog")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sog"]
    with zipfile.ZipFile(tmp_path / "a.sog") as z:
        assert "meta.json" in z.namelist() and json.loads(z.read("meta.json"))["count"] == 3


def test_glb_attributes_activate_and_reorder():
    g = {"means": np.float32([[0.1, 0.2, 0.3]]), "log_scales": np.float32([[0.0, np.log(2), np.log(0.5)]]),
         "quats": np.float32([[2, 0, 0, 0]]), "opacity_logits": np.float32([0.0]), "sh_dc": np.float32([[0, 1, -1]])}
    a = glb_attributes(g)
    np.testing.assert_allclose(a["KHR_gaussian_splatting:SCALE"], [[1, 2, 0.5]], rtol=1e-6)
    np.testing.assert_allclose(a["KHR_gaussian_splatting:ROTATION"], [[0, 0, 0, 1]])       # (x, y, z, w), unit
    np.testing.assert_allclose(a["KHR_gaussian_splatting:OPACITY"], [[0.5]])
    assert a["COLOR_0"].dtype == np.uint8 and a["COLOR_0"][0].tolist() == [128, 199, 56, 128]
