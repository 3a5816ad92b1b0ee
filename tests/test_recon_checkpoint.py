"""Checkpoint save/load (weights_only), layout refusal, registry name -> hub download -> network."""

from __future__ import annotations

import hashlib
import pickle

import pytest
import torch
from test_hub_server import fake_hub  # noqa: F401  (fixture)

from dejavu_cli.errors import DejavuError
from dejavu_cli.recon.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from dejavu_cli.recon.network import ReconNet, ReconNetConfig

TINY = dict(img_size=32, channels=(4, 4, 8, 8, 8))


@pytest.fixture(scope="module")
def layouts():
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    head = load_head("test")
    return build_layout(head, 16), build_layout(head, 32)


def _net(s=16):
    torch.manual_seed(0)
    return ReconNet(ReconNetConfig(uv_size=s, **TINY)).eval()


def test_roundtrip_same_outputs(tmp_path, layouts):
    lay16, _ = layouts
    net = _net()
    path = save_checkpoint(tmp_path / "c.pt", net, head="test", layout_id=lay16.check, step=7)
    loaded, meta = load_checkpoint(path, lay16)
    assert meta["step"] == 7 and meta["head"] == "test" and meta["layout"] == lay16.check
    x, uv = torch.rand(1, 3, 32, 32), torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(loaded(x, uv), net(x, uv))


def test_other_layout_refused(tmp_path, layouts):
    lay16, lay32 = layouts
    path = save_checkpoint(tmp_path / "c.pt", _net(), head="test", layout_id=lay16.check)
    with pytest.raises(DejavuError, match=r"trained for head 'test', UV size 16 .* uses head 'test', UV size 32"):
        load_checkpoint(path, lay32)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_non_checkpoint_files_refused(tmp_path):
    p = tmp_path / "evil.pt"
    with open(p, "wb") as fh:  # a pickle that would run code if loaded without weights_only
        pickle.dump({"format": "dejavu.recon/1", "x": print}, fh)
    with pytest.raises(DejavuError, match="not a loadable dejavu checkpoint"):
        read_checkpoint(p)
    torch.save({"hello": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(DejavuError, match="not a dejavu reconstruction checkpoint"):
        read_checkpoint(tmp_path / "other.pt")
    with pytest.raises(DejavuError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_mismatched_weights_refused(tmp_path, layouts):
    lay16, _ = layouts
    path = save_checkpoint(tmp_path / "c.pt", _net(), head="test", layout_id=lay16.check)
    state = torch.load(path, weights_only=True)
    state["config"]["channels"] = [4, 4, 8, 8, 16]
    torch.save(state, path)
    with pytest.raises(DejavuError, match="does not match the network definition"):
        load_checkpoint(path, lay16)


def test_registry_name_downloads_and_checks_layout(tmp_path, monkeypatch, fake_hub, layouts):  # noqa: F811
    lay16, lay32 = layouts
    path = save_checkpoint(tmp_path / "c.pt", _net(), head="test", layout_id=lay16.check)
    data = path.read_bytes()
    fake_hub.files[("acme/recon", "tiny.pt")] = data
    reg = tmp_path / "w.toml"
    reg.write_text(f'[tiny]\nkind = "checkpoint"\nrepo = "acme/recon"\nfilename = "tiny.pt"\n'
                   f'revision = "main"\nsha256 = "{hashlib.sha256(data).hexdigest()}"\nlicense = "MIT"\n'
                   f'head = "test"\nuv_size = 16\nlayout = "{lay16.check}"\n')
    monkeypatch.setenv("DEJAVU_WEIGHTS_TOML", str(reg))
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(DejavuError, match="trained for head 'test', UV size 16"):
        load_checkpoint("tiny", lay32)          # refused from the registry entry, before downloading
    assert fake_hub.requests == []
    net, meta = load_checkpoint("tiny", lay16, quiet=True)
    assert meta["path"].endswith("tiny.pt") and "models--acme--recon" in meta["path"]
    assert [m for m, _ in fake_hub.requests] == ["HEAD", "GET"], fake_hub.requests
