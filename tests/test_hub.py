"""Real huggingface-hub download path against a local server: download, offline cache hit,
sha256 refusal, missing file, offline cache miss, CLI `dejavu weights`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_hub_server import fake_hub  # noqa: F401  (fixture)

from dejavu_cli.errors import DejavuError

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = b"dejavu test checkpoint bytes\n" * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _registry(tmp_path, sha=SHA, filename="recon.pt") -> Path:
    path = tmp_path / "weights.toml"
    path.write_text(f"""
[ict-head]
kind = "head-archive"

[tiny]
kind = "checkpoint"
repo = "acme/dejavu-tiny"
filename = "{filename}"
revision = "main"
sha256 = "{sha}"
license = "MIT"
head = "test"
uv_size = 16
layout = "0000000000000000"
description = "test-only entry"
""")
    return path


@pytest.fixture
def hub_env(tmp_path, monkeypatch, fake_hub):  # noqa: F811
    fake_hub.files[("acme/dejavu-tiny", "recon.pt")] = PAYLOAD
    env = {"HF_ENDPOINT": fake_hub.url, "HF_HUB_CACHE": str(tmp_path / "hfcache"),
           "DEJAVU_WEIGHTS_TOML": str(_registry(tmp_path)), "DEJAVU_HOME": str(tmp_path / "home"),
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return fake_hub, env


def _dejavu(env, *args, offline=False):
    e = {**os.environ, **env}
    e.pop("HF_HUB_OFFLINE", None)
    if offline:
        e["HF_HUB_OFFLINE"] = "1"
    return subprocess.run([sys.executable, "-m", "dejavu_cli", *args], capture_output=True, text=True, env=e,
                          cwd=ROOT, timeout=120)


def test_cli_download_then_offline_cache_hit(hub_env):
    hub, env = hub_env
    r = _dejavu(env, "weights", "download", "tiny")
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.read_bytes() == PAYLOAD
    assert "models--acme--dejavu-tiny" in str(path)
    assert [m for m, _ in hub.requests] == ["HEAD", "GET"]
    assert hub.requests[0][1] == "/acme/dejavu-tiny/resolve/main/recon.pt"

    hub.requests.clear()
    r = _dejavu(env, "weights", "download", "tiny", offline=True)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip().splitlines()[-1]) == path
    assert hub.requests == []                      # zero requests offline

    r = _dejavu(env, "weights", "list", offline=True)
    assert "tiny" in r.stdout and "[cached]" in r.stdout and "ict-head" not in r.stdout
    r = _dejavu(env, "weights", "verify", offline=True)
    assert r.returncode == 0 and "tiny: ok" in r.stdout


def test_wrong_hash_is_refused_and_not_left_valid(hub_env, tmp_path, monkeypatch):
    from dejavu_cli.io.hub import cached_file, hub_download

    hub, env = hub_env
    with pytest.raises(DejavuError, match="sha256 mismatch"):
        hub_download("acme/dejavu-tiny", "recon.pt", "main", sha256="0" * 64, quiet=True)
    assert cached_file("acme/dejavu-tiny", "recon.pt", "main") is None
    blobs = list((tmp_path / "hfcache").rglob("blobs/*"))
    assert blobs == []

    r = _dejavu({**env, "DEJAVU_WEIGHTS_TOML": str(_registry(tmp_path, sha="f" * 64))}, "weights", "download", "tiny")
    assert r.returncode == 1
    assert r.stderr.startswith("error: checkpoint 'tiny': sha256 mismatch") and "Traceback" not in r.stderr


def test_corrupted_cache_detected_by_verify(hub_env):
    from dejavu_cli.io.hub import hub_download
    from dejavu_cli.recon import registry_ckpt as reg

    path = hub_download("acme/dejavu-tiny", "recon.pt", "main", sha256=SHA, quiet=True)
    blob = path.resolve()
    os.chmod(blob, 0o644)
    blob.write_bytes(b"tampered")
    assert reg.verify_checkpoint(reg.get_checkpoint("tiny")) == "corrupt"
    assert not blob.exists()
    assert reg.verify_checkpoint(reg.get_checkpoint("tiny")) == "missing"


def test_missing_file_message(hub_env, tmp_path):
    hub, env = hub_env
    env = {**env, "DEJAVU_WEIGHTS_TOML": str(_registry(tmp_path, filename="nope.pt"))}
    r = _dejavu(env, "weights", "download", "tiny")
    assert r.returncode == 1
    assert "file 'nope.pt' not found in" in r.stderr and "acme/dejavu-tiny" in r.stderr


def test_offline_cache_miss_message(hub_env):
    hub, env = hub_env
    r = _dejavu(env, "weights", "download", "tiny", offline=True)
    assert r.returncode == 1
    assert "not in the Hugging Face cache" in r.stderr and "HF_HUB_OFFLINE" in r.stderr
    assert hub.requests == []


def test_unknown_name_and_empty_registry(tmp_path, monkeypatch):
    from dejavu_cli.cli import main

    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("DEJAVU_WEIGHTS_TOML", str(empty))
    from dejavu_cli.recon import registry_ckpt as reg

    assert reg.list_checkpoints() == []
    with pytest.raises(DejavuError, match="No public reconstruction-network checkpoint"):
        reg.get_checkpoint("dejavu-official")
    assert main(["weights", "download", "x"]) == 1


def test_packaged_registry_has_no_checkpoint(monkeypatch):
    """The shipped registry has no checkpoint entry: none exists publicly for our layouts."""
    from dejavu_cli.recon import registry_ckpt as reg

    monkeypatch.delenv("DEJAVU_WEIGHTS_TOML", raising=False)
    assert reg.list_checkpoints() == []


def test_bad_registry_entries(tmp_path, monkeypatch):
    from dejavu_cli.recon import registry_ckpt as reg

    p = tmp_path / "w.toml"
    monkeypatch.setenv("DEJAVU_WEIGHTS_TOML", str(p))
    p.write_text('[a]\nkind = "checkpoint"\nrepo = "x/y"\nfilename = "f"\nsha256 = "abc"\n'
                 'license = "MIT"\nhead = "ict"\nuv_size = 8\nlayout = "0"\n')
    with pytest.raises(DejavuError, match="64 hex"):
        reg.list_checkpoints()
    p.write_text("[a\n")
    with pytest.raises(DejavuError, match="not valid TOML"):
        reg.list_checkpoints()
    monkeypatch.setenv("DEJAVU_WEIGHTS_TOML", str(tmp_path / "missing.toml"))
    with pytest.raises(DejavuError, match="not found"):
        reg.list_checkpoints()
