"""Reliability of reading: schemas of every file dejavu reads, an NPZ size budget, URL rules.

Each malformed file gives one DejavuError line that names the file and the field, never a traceback and never
a wrong result (a negative crop side used to give an avatar reported as "PSNR 100 dB, SSIM 1.000").
"""

from __future__ import annotations

import dataclasses
import http.server
import io
import threading
import zipfile

import numpy as np
import pytest
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.io import npz as npz_mod
from dejavu_cli.io.npz import Field, check_fields, load_npz
from dejavu_cli.io.urls import check_url


@pytest.fixture(scope="module")
def synthetic(test_head):
    from dejavu_cli.fit.synthetic import make_problem

    return make_problem(test_head, uv_size=16, size=24, n_frames=8, seed=0)


@pytest.fixture(scope="module")
def track_arrays(synthetic, tmp_path_factory):
    from dejavu_cli.track.api import save_track

    path = save_track(tmp_path_factory.mktemp("trk") / "t.track.npz", synthetic[0])
    with np.load(path) as d:
        return dict(d)


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _one_line(exc, *words):
    msg = str(exc.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize("field,change,words", [
    ("crop_boxes", lambda a: a * np.array([1, 1, -1], np.float32), "crop side <= 0"),
    ("rotvec", lambda a: np.where(np.arange(a.shape[0])[:, None] == 2, np.nan, a), "NaN"),
    ("jaw", lambda a: a[:, :2], "shape"),
    ("expression", lambda a: a[:-1], "shape"),
    ("K", lambda a: a.reshape(-1), "shape"),
    ("valid", lambda a: a.astype(str), "dtype"),
    ("n_frames", lambda a: np.array(int(a) + 1), "n_frames"),
    ("size", lambda a: np.array(-4), "below"),
    ("masks", lambda a: a[:, :-1], "masks"),
    ("fov_deg", lambda a: np.array(np.inf), "NaN or infinite"),
])
def test_track_file_schema(track_arrays, tmp_path, field, change, words):
    from dejavu_cli.track.api import load_track

    bad = _npz(tmp_path / "bad.track.npz", **{**track_arrays, field: change(track_arrays[field])})
    with pytest.raises(DejavuError) as exc:
        load_track(bad)
    _one_line(exc, str(bad), field if field != "n_frames" else "n_frames", words)


def test_wrong_length_identity_is_refused_by_create(synthetic, tmp_path):
    from dejavu_cli.create.config import CreateConfig
    from dejavu_cli.create.run import create_avatar

    track, crops, _ = synthetic
    bad = dataclasses.replace(track, identity=np.zeros(len(track.identity) + 3, np.float32))
    cfg = CreateConfig(steps=2, resolution=24, uv_size=16, batch=2, device="cpu", colour_init=False)
    with pytest.raises(DejavuError) as exc:
        create_avatar(bad, None, cfg, tmp_path / "a.npz", crops=crops, progress=False)
    _one_line(exc, "field identity")
    assert not (tmp_path / "a.npz").exists()


@pytest.fixture(scope="module")
def avatar_arrays(test_head, tmp_path_factory):
    from dejavu_cli.avatar.file import save_avatar, template_avatar
    from dejavu_cli.uv.layout import build_layout

    path = save_avatar(tmp_path_factory.mktemp("av") / "a.npz", template_avatar(test_head, build_layout(test_head, 16)))
    with np.load(path) as d:
        return dict(d)


@pytest.mark.parametrize("field,value,words", [
    ("uv_size", np.array(16.5), "dtype"),
    ("neutral_jaw", np.array([0, np.nan, 0], np.float32), "NaN"),
    ("blendmaps", lambda a: np.zeros((2, 5, 13), np.float32), "shape"),
    ("viewmat", np.eye(3, dtype=np.float32), "shape"),
    ("distance", np.array(-1.0), "below"),
    ("image_size", np.array(0), "below"),
])
def test_avatar_file_schema(avatar_arrays, tmp_path, field, value, words):
    from dejavu_cli.avatar.file import load_avatar

    value = value(avatar_arrays.get(field)) if callable(value) else value
    bad = _npz(tmp_path / "bad.npz", **{**avatar_arrays, field: value})
    with pytest.raises(DejavuError) as exc:
        load_avatar(bad)
    _one_line(exc, str(bad), f"field {field}", words)


def test_non_npz_files_say_so(tmp_path):
    ply = tmp_path / "a.ply"
    ply.write_text("ply\nformat binary_little_endian 1.0\nend_header\n")
    with pytest.raises(DejavuError) as exc:
        load_npz(ply, "avatar file")
    _one_line(exc, "is not an NPZ archive")
    assert "pickled" not in str(exc.value)
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(DejavuError, match="single .npy array"):
        load_npz(tmp_path / "x.npy")


def test_size_budget_is_checked_before_decompression(tmp_path, monkeypatch):
    big = tmp_path / "big.npz"
    np.savez_compressed(big, init=np.zeros((1 << 20, 8)))  # 64 MB of zeros, about 64 KB on disk
    assert big.stat().st_size < 1 << 20
    with zipfile.ZipFile(big) as zf:
        assert sum(i.file_size for i in zf.infolist()) > 60 << 20
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("read before the budget check"))
    with pytest.raises(DejavuError) as exc:
        load_npz(big, "avatar file", budget=16 << 20)
    _one_line(exc, "exceeds the 16 MB budget")
    monkeypatch.setenv("DEJAVU_NPZ_BUDGET_MB", "8")
    with pytest.raises(DejavuError, match="budget"):
        load_npz(big)


def test_lying_array_header_does_not_allocate(tmp_path):
    """A .npy header claiming [2**28, 13] float32 (14 GB) over a few stored bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 28, 13)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("init.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(DejavuError) as exc:
        load_npz(path, "avatar file")
    _one_line(exc, "field init", "claims shape")


def test_unknown_members_are_skipped_unread(tmp_path, monkeypatch):
    path = _npz(tmp_path / "x.npz", a=np.arange(3), junk=np.zeros(5))
    assert set(load_npz(path, allowed={"a"})) == {"a"}


def test_check_fields_names_dimensions():
    schema = {"a": Field("f", ("N", 3)), "b": Field("f", ("N",)), "c": Field("iu", (), min=0, optional=True)}
    dims = check_fields({"a": np.zeros((4, 3)), "b": np.zeros(4)}, schema, "f.npz")
    assert dims == {"N": 4}
    with pytest.raises(DejavuError, match=r"f.npz: field b has shape \[5\], expected \[4\]"):
        check_fields({"a": np.zeros((4, 3)), "b": np.zeros(5)}, schema, "f.npz")
    with pytest.raises(DejavuError, match="field c has value -1 below 0"):
        check_fields({"a": np.zeros((4, 3)), "b": np.zeros(4), "c": np.array(-1)}, schema, "f.npz")


def _state(n=6, d=None):
    arrays = {"delta_global": np.zeros((n, 13), np.float32), "rng": np.zeros(16, np.uint8),
              "adam0_m": np.zeros((n, 13), np.float32), "adam0_v": np.zeros((n, 13), np.float32),
              "adam0_t": np.asarray(3.0)}
    meta = {"step": 3, "history": {"step": [1, 2, 3], "total": [1.0, 1.0, 1.0]}, "seconds": [0.1, 0.0]}
    return arrays, meta


@pytest.mark.parametrize("edit,words", [
    (lambda a, m: a.update(adam0_m=a["adam0_m"].reshape(13, -1)), "field adam0_m has shape"),
    (lambda a, m: a.update(delta_global=a["delta_global"] * np.nan), "field delta_global has NaN"),
    (lambda a, m: a.pop("rng"), "field rng is missing"),
    (lambda a, m: m.update(step=-1), "meta.step"),
    (lambda a, m: m.update(step=5), "meta.history has 3 steps"),
    (lambda a, m: m.update(seconds="x"), "meta.seconds"),
])
def test_create_checkpoint_state(edit, words):
    from dejavu_cli.create.checkpoint import check_state

    arrays, meta = _state()
    check_state(arrays, meta, "a.ckpt.npz")
    edit(arrays, meta)
    with pytest.raises(DejavuError) as exc:
        check_state(arrays, meta, "a.ckpt.npz")
    _one_line(exc, "a.ckpt.npz", words)


def test_resume_from_checkpoint_of_other_size(synthetic, tmp_path):
    import json

    from dejavu_cli.create.checkpoint import save_checkpoint
    from dejavu_cli.create.config import CreateConfig
    from dejavu_cli.create.run import create_avatar

    track, crops, _ = synthetic
    cfg = CreateConfig(steps=4, resolution=24, uv_size=16, batch=2, device="cpu", colour_init=False)
    arrays, meta = _state(n=7)
    meta.update(config=json.loads(json.dumps(dataclasses.asdict(cfg))), video_sha256=track.video_sha256)
    save_checkpoint(tmp_path / "a.ckpt.npz", arrays, meta)
    with pytest.raises(DejavuError) as exc:
        create_avatar(track, None, cfg, tmp_path / "a.npz", crops=crops, progress=False, resume=True)
    _one_line(exc, "a.ckpt.npz", "field delta_global")


def test_recon_checkpoint_metadata(tmp_path):
    from dejavu_cli.recon.checkpoint import FORMAT, read_checkpoint

    good = {"format": FORMAT, "head": "test", "uv_size": 16, "layout": "0123456789abcdef", "step": 0,
            "config": {}, "model": {"w": torch.zeros(3)}}
    torch.save(good, tmp_path / "ok.pt")
    read_checkpoint(tmp_path / "ok.pt")
    for name, value, words in (("layout", "zz", "field layout"), ("uv_size", -3, "field uv_size"),
                               ("step", "7", "field step"), ("model", {"w": torch.full((3,), float("nan"))},
                                                             "field model.w has NaN")):
        torch.save({**good, name: value}, tmp_path / "bad.pt")
        with pytest.raises(DejavuError) as exc:
            read_checkpoint(tmp_path / "bad.pt")
        _one_line(exc, "bad.pt", words)


@pytest.mark.parametrize("url,ok", [
    ("https://huggingface.co/x", True), ("http://127.0.0.1:8000/x", True), ("http://localhost/x", True),
    ("http://[::1]:9/x", True), ("http://127.3.4.5/x", True), ("http://example.com/x", False),
    ("http://10.0.0.1/x", False), ("ftp://example.com/x", False), ("file:///etc/passwd", False),
    ("https:///nohost", False), ("/local/path", False),
])
def test_url_rule(url, ok):
    if ok:
        assert check_url(url, "test") == url
    else:
        with pytest.raises(DejavuError) as exc:
            check_url(url, "test")
        _one_line(exc, "only https://")
    assert check_url("file:///tmp/x.pt", "t", allow_file=True)


def test_download_refuses_plain_http_and_redirects_to_it(tmp_path):
    from dejavu_cli.io.download import download

    with pytest.raises(DejavuError, match="only https://"):
        download("http://example.com/a.zip", tmp_path / "a.zip", progress=False)

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", "http://10.255.255.1/a.zip")
            self.end_headers()

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(DejavuError) as exc:
            download(f"http://127.0.0.1:{httpd.server_address[1]}/a.zip", tmp_path / "a.zip", progress=False)
        _one_line(exc, "redirect", "only https://")
    finally:
        httpd.shutdown()
    assert list(tmp_path.iterdir()) == []


def test_registry_urls(tmp_path, monkeypatch):
    from dejavu_cli.recon import registry_ckpt

    toml = tmp_path / "w.toml"
    entry = ('[c]\nkind = "checkpoint"\nsha256 = "{}"\nhead = "test"\nuv_size = 16\nlayout = "0123456789abcdef"\n'
             'license = "MIT"\nurl = "{}"\n')
    toml.write_text(entry.format("a" * 64, "http://example.com/c.pt"))
    monkeypatch.setenv(registry_ckpt.ENV_TOML, str(toml))
    with pytest.raises(DejavuError, match="only https://"):
        registry_ckpt.list_checkpoints()
    toml.write_text(entry.format("a" * 64, "file:///tmp/c.pt"))  # a local registry may point at local files
    assert registry_ckpt.list_checkpoints()[0].url == "file:///tmp/c.pt"
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.example.com")
    from dejavu_cli.io.hub import hub_endpoint

    with pytest.raises(DejavuError, match="HF_ENDPOINT"):
        hub_endpoint()


def test_budget_env_parsing(monkeypatch):
    monkeypatch.setenv("DEJAVU_NPZ_BUDGET_MB", "junk")
    assert npz_mod.budget_bytes() == npz_mod.DEFAULT_BUDGET
    monkeypatch.setenv("DEJAVU_NPZ_BUDGET_MB", "1.5")
    assert npz_mod.budget_bytes() == 3 << 19


def test_registry_entry_fields(tmp_path, monkeypatch):
    from dejavu_cli.recon import registry_ckpt

    toml = tmp_path / "w.toml"
    monkeypatch.setenv(registry_ckpt.ENV_TOML, str(toml))
    base = (f'[c]\nkind = "checkpoint"\nsha256 = "{"a" * 64}"\nhead = "test"\nlicense = "MIT"\n'
            'repo = "x/y"\nfilename = "f"\n')
    for extra, words in (('uv_size = "abc"\nlayout = "0123456789abcdef"\n', "field uv_size"),
                         ('uv_size = 16\nlayout = "zz"\n', "field layout")):
        toml.write_text(base + extra)
        with pytest.raises(DejavuError) as exc:
            registry_ckpt.list_checkpoints()
        _one_line(exc, words)


def test_avatar_identity_of_another_length(test_head, avatar_arrays, tmp_path):
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import load_avatar

    path = _npz(tmp_path / "a.npz", **{**avatar_arrays, "identity": np.zeros(test_head.n_identity + 2, np.float32)})
    with pytest.raises(DejavuError) as exc:
        Animator(load_avatar(path), test_head)
    _one_line(exc, "field identity")


def test_damaged_layout_cache_is_rebuilt(test_head, session_home):
    from dejavu_cli.home import home_subdir
    from dejavu_cli.uv import layout as layout_mod

    layout_mod._build_cached.cache_clear()  # the in-process memo; the disk cache is what is tested
    good = layout_mod.build_layout(test_head, 20)
    files = sorted(home_subdir("layouts").glob("test-20-*.npz"))
    assert files
    for damage in (b"PK\x03\x04 truncated", b"not a zip at all"):  # a damaged zip used to be a BadZipFile traceback
        files[0].write_bytes(damage)
        layout_mod._build_cached.cache_clear()
        assert layout_mod.build_layout(test_head, 20).check == good.check
    assert files[0].read_bytes()[:2] == b"PK" and len(files[0].read_bytes()) > 100  # rewritten
