"""Reconstruction-network training: schedule, view-consistency loss, a tiny run on synthetic multi-view
renders (loss falls, the view term acts), CLI with resume, 2-process DDP (gloo) smoke run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dejavu_cli.fit.losses import view_consistency
from dejavu_cli.recon.config import TrainConfig
from dejavu_cli.recon.train import schedule

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(batch=4, views=2, resolution=32, start_resolution=32, img_size=32, width=4, uv_size=16,
            log_every=100, lr=1e-3, threads=1)


def test_schedule_paper_curriculum():
    cfg = TrainConfig()  # 128 -> 256 -> 512 every 100k steps, lr 1e-4 x 0.95 every 10k, reset per resolution
    s = schedule(0, cfg)
    assert (s["resolution"], s["lr"], s["use_real"]) == (128, 1e-4, False)
    assert s["lr_real"] == pytest.approx(1e-5)
    assert schedule(25_000, cfg)["lr"] == pytest.approx(1e-4 * 0.95 ** 2)
    s = schedule(100_000, cfg)
    assert (s["resolution"], s["lr"], s["use_real"]) == (256, 1e-4, True)
    assert schedule(250_000, cfg)["resolution"] == 512
    assert schedule(950_000, cfg)["resolution"] == 512
    assert schedule(950_000, cfg)["lr"] == pytest.approx(1e-4 * 0.95 ** 75)
    one = TrainConfig(resolution=64, start_resolution=128)
    assert schedule(0, one)["resolution"] == 64 and schedule(0, one)["use_real"]


def test_view_consistency_values_and_gradient():
    d = torch.zeros(4, 3, 2)
    g = torch.tensor([0, 0, 1, 1])
    assert view_consistency(d, g) < 1e-5
    d[0, :, 0], d[1, :, 0] = 1.0, -1.0       # group 0 deviates by 1 around its mean, group 1 not at all
    torch.testing.assert_close(view_consistency(d, g), torch.tensor(0.5), atol=1e-5, rtol=0)
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    gg = torch.tensor([0, 1, 0, 1, 1])
    assert torch.autograd.gradcheck(lambda t: view_consistency(t, gg), (x,))
    x = torch.randn(4, 6, 13, requires_grad=True)
    view_consistency(x, g).backward()
    torch.testing.assert_close(x.grad[0] + x.grad[1], torch.zeros(6, 13), atol=1e-6, rtol=0)  # pulls to the mean


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.recon.synthetic import make_dataset

    torch.set_flush_denormal(True)
    return make_dataset(tmp_path_factory.mktemp("recon_data"), load_head("test"), identities=2, views=3,
                        single=1, size=32, uv_size=16)


def test_dataset_index(dataset):
    from dejavu_cli.recon.data import ReconDataset, sample_multiview

    ds = ReconDataset(dataset)
    assert len(ds.groups) == 2 and len(ds.single) == 1 and ds.head == "test"
    crops, targets = ds.images([0, 1])
    assert crops.shape == targets.shape == (2, 32, 32, 3) and crops.dtype == torch.uint8
    inp, tgt, gid = sample_multiview(ds.groups, 4, 2, torch.Generator().manual_seed(0))
    assert len(inp) == len(tgt) == len(gid) == 4
    for a, b in zip(inp, tgt):       # pairs never cross identities
        assert ds.views[a].group == ds.views[b].group


@pytest.mark.slow
def test_tiny_training_loss_falls_and_view_term_acts(dataset, tmp_path):
    from dejavu_cli.recon.train import train

    steps = 10
    on = train(dataset, tmp_path / "on.pt", TrainConfig(steps=steps, w_view=1.0, **TINY), log=lambda s: None)
    off = train(dataset, tmp_path / "off.pt", TrainConfig(steps=steps, w_view=0.0, **TINY), log=lambda s: None)
    first, last = on["total"][0], sum(on["total"][-3:]) / 3
    assert last < 0.85 * first, on["total"]
    assert on["view"][0] == pytest.approx(off["view"][0], rel=1e-4)      # same start (same seed)
    v_on, v_off = sum(on["view"][-3:]) / 3, sum(off["view"][-3:]) / 3
    assert v_on < 0.5 * v_off, (on["view"], off["view"])
    assert (tmp_path / "on.pt").exists()


@pytest.mark.slow
def test_cli_train_resume_and_use(dataset, tmp_path):
    from dejavu_cli.cli import main
    from dejavu_cli.recon.checkpoint import load_checkpoint, read_checkpoint

    out = tmp_path / "r.pt"
    args = ["train-recon", str(dataset), "-o", str(out), "--batch", "2", "--views", "2", "--resolution", "32",
            "--img-size", "32", "--width", "4", "--uv-size", "16", "--threads", "1"]
    assert main(args + ["--steps", "2"]) == 0
    assert read_checkpoint(out)["step"] == 2 and "optimizer" in read_checkpoint(out)
    assert main(args + ["--steps", "3"]) == 1                       # refuses to overwrite without --resume
    assert main(args + ["--steps", "3", "--resume"]) == 0
    assert read_checkpoint(out)["step"] == 3
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    net, meta = load_checkpoint(out, build_layout(load_head("test"), 16))
    assert meta["head"] == "test" and net.cfg.uv_size == 16
    assert main(["train-recon", str(tmp_path / "nope"), "-o", str(tmp_path / "x.pt")]) == 1


@pytest.mark.slow
def test_ddp_two_cpu_processes(dataset, tmp_path):
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "dejavu_cli", "train-recon", str(dataset), "-o", str(out), "--steps", "2", "--batch", "2",
           "--views", "2", "--resolution", "32", "--img-size", "32", "--width", "4", "--uv-size", "16",
           "--device", "cpu", "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.exists() and f"wrote {out}" in r.stdout
    assert r.stdout.count("wrote") == 1                              # only rank 0 writes
