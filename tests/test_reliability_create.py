"""Reliability of ``create``: periodic checkpoints survive SIGKILL; avatar and reports commit together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dejavu_cli.create.config import CreateConfig
from dejavu_cli.create.optimize import CHECKPOINT_SECONDS, checkpoint_due

ROOT = Path(__file__).resolve().parents[1]
CFG = dict(steps=40, resolution=24, uv_size=16, batch=2, device="cpu", max_eval_frames=2, seed=0,
           colour_init=False, checkpoint_every=4)

#: The child: a synthetic problem on the test head, one create run slowed to 0.15 s per step.
DRIVER = textwrap.dedent("""
    import sys, time
    from dejavu_cli.create.config import CreateConfig
    from dejavu_cli.create.run import create_avatar
    from dejavu_cli.fit.synthetic import make_problem
    from dejavu_cli.head.registry import load_head
    track, crops, _ = make_problem(load_head("test"), uv_size=16, size=24, n_frames=12, seed=0)
    cfg = CreateConfig(**{cfg!r})
    create_avatar(track, None, cfg, sys.argv[1], crops=crops, progress=False, hook=lambda s: time.sleep(0.15))
""")


def test_checkpoint_due():
    assert [s for s in range(1, 13) if checkpoint_due(s, 12, 4, 0.0)] == [4, 8]  # none after the last step
    assert checkpoint_due(3, 12, 50, CHECKPOINT_SECONDS)                          # or after 5 minutes
    assert not checkpoint_due(4, 12, 0, 1e9)                                      # 0: only on Ctrl-C
    assert "every N steps and at least every 5 minutes" in CreateConfig.__dataclass_fields__[
        "checkpoint_every"].metadata["help"]


@pytest.fixture(scope="module")
def synthetic(test_head):
    from dejavu_cli.fit.synthetic import make_problem

    return make_problem(test_head, uv_size=16, size=24, n_frames=12, seed=0)


@pytest.mark.slow
def test_sigkill_then_resume_continues_from_the_checkpoint(synthetic, tmp_path):
    from dejavu_cli.create.checkpoint import load_checkpoint
    from dejavu_cli.create.run import create_avatar

    out = tmp_path / "k.npz"
    ckpt = tmp_path / "k.ckpt.npz"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", DRIVER.format(cfg=CFG), str(out)], env=env,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if ckpt.exists() and load_checkpoint(ckpt)[1]["step"] >= 8:
                break
            time.sleep(0.1)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL and not out.exists()
    step = load_checkpoint(ckpt)[1]["step"]
    assert 8 <= step < CFG["steps"] and step % CFG["checkpoint_every"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["k.ckpt.npz"]  # no temp file from the killed writes

    track, crops, _ = synthetic
    seen = []
    _, rep = create_avatar(track, None, CreateConfig(**CFG), out, crops=crops, progress=False, resume=True,
                           hook=seen.append)
    assert seen[0] == step and seen[-1] == CFG["steps"] - 1  # continued from the checkpoint, not step 0
    assert rep["resumed"] and out.exists() and not ckpt.exists()


def test_outputs_commit_together_or_not_at_all(synthetic, tmp_path, monkeypatch):
    from dejavu_cli.create import run

    track, crops, _ = synthetic
    out = tmp_path / "a.npz"
    olds = {out: b"old avatar", tmp_path / "a.report.json": b'{"old": 1}', tmp_path / "a.report.png": b"old png"}
    for p, data in olds.items():
        p.write_bytes(data)

    def full_disk(path, avatar, atomic=True):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run, "save_avatar", full_disk)  # the last of the three writes fails
    cfg = CreateConfig(**dict(CFG, steps=2))
    with pytest.raises(OSError):
        run.create_avatar(track, None, cfg, out, crops=crops, progress=False)
    for p, data in olds.items():
        assert p.read_bytes() == data, p.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in olds)

    monkeypatch.undo()
    _, rep = run.create_avatar(track, None, cfg, out, crops=crops, progress=False)
    assert json.loads((tmp_path / "a.report.json").read_text())["psnr"] == rep["psnr"]
    assert (tmp_path / "a.report.png").read_bytes()[:4] == b"\x89PNG"
    assert out.read_bytes()[:2] == b"PK" and np.load(out)["schema"] == "dejavu.avatar/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.report.json", "a.report.png"]
