"""A local stand-in for the Hugging Face hub (URL layout /{repo}/resolve/{rev}/{file}) on 127.0.0.1.

Serves HEAD and GET with the headers the real client needs (X-Repo-Commit, ETag = quoted sha256,
Content-Length; no X-Xet-*), answers unknown files with 404 + ``X-Error-Code: EntryNotFound`` and
records every request, so tests run the real download code offline.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self):
        self.files: dict[tuple[str, str], bytes] = {}   # (repo, filename) -> content
        self.requests: list[tuple[str, str]] = []        # (method, path)
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body: bool):
                hub.requests.append((self.command, self.path))
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    self.send_response(404)
                    self.send_header("X-Error-Code", "RepoNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
                data = hub.files.get((repo, filename))
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("X-Repo-Commit", COMMIT)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self):
                self._answer(False)

            def do_GET(self):
                self._answer(True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    yield hub
    hub.close()


def test_fake_hub_serves_hub_layout(fake_hub):
    fake_hub.files[("acme/net", "a.bin")] = b"hello"
    with urllib.request.urlopen(f"{fake_hub.url}/acme/net/resolve/main/a.bin") as r:
        assert r.read() == b"hello"
        assert r.headers["ETag"] == f'"{hashlib.sha256(b"hello").hexdigest()}"'
        assert r.headers["X-Repo-Commit"] == COMMIT
    assert fake_hub.requests == [("GET", "/acme/net/resolve/main/a.bin")]
