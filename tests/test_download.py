"""io/download.py against a local http.server on 127.0.0.1 (offline)."""

import hashlib
import http.server
import io
import threading
import zipfile
from functools import partial

import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.download import download


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/hello.txt", "hello " * 1000)
    (root / "small.zip").write_bytes(buf.getvalue())

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/truncated":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"x" * 10)
                return
            if self.path == "/slow":
                threading.Event().wait(2.0)
            return super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    httpd.handle_error = lambda *a: None  # clients that time out on purpose
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def test_download_ok_with_hash(server, tmp_path):
    url, root = server
    data = (root / "small.zip").read_bytes()
    out = download(f"{url}/small.zip", tmp_path / "a" / "s.zip", sha256=hashlib.sha256(data).hexdigest(),
                   progress=True)
    assert out.read_bytes() == data
    assert zipfile.ZipFile(out).read("pkg/hello.txt").startswith(b"hello")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["s.zip"]  # no temporary left over


def test_hash_mismatch_leaves_nothing(server, tmp_path):
    url, _ = server
    with pytest.raises(DejavuError, match="does not match its sha256"):
        download(f"{url}/small.zip", tmp_path / "s.zip", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_http_error_truncation_and_timeout(server, tmp_path):
    url, _ = server
    with pytest.raises(DejavuError, match="HTTP 404"):
        download(f"{url}/missing.zip", tmp_path / "m.zip", progress=False)
    with pytest.raises(DejavuError, match="truncated|failed"):
        download(f"{url}/truncated", tmp_path / "t.zip", progress=False, timeout=5)
    with pytest.raises(DejavuError, match="failed"):
        download(f"{url}/slow", tmp_path / "slow.zip", progress=False, timeout=0.3)
    with pytest.raises(DejavuError, match="failed"):
        download("http://127.0.0.1:9/none.zip", tmp_path / "n.zip", progress=False, timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_setup_ict_downloads_through_url(server, tmp_path, monkeypatch):
    """Without an archive, setup_ict downloads the registry's source URL (pointed at the local server)."""
    from dejavu_cli.head import ict
    from dejavu_cli.io import registry

    url, _ = server
    monkeypatch.setenv("DEJAVU_HOME", str(tmp_path))
    monkeypatch.delenv("DEJAVU_ICT_ARCHIVE", raising=False)
    real = registry.archive_entry

    def local_entry(name, path=None):
        entry = real(name, path)
        entry.source = f"{url}/small.zip"
        return entry

    monkeypatch.setattr(ict, "archive_entry", local_entry)
    with pytest.raises(DejavuError, match="not an ICT-FaceKit archive"):
        ict.setup_ict(progress=False)
    assert (tmp_path / "downloads" / f"ICT-FaceKit-{ict.ICT_COMMIT}.zip").exists()
