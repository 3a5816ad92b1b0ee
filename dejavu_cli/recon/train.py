"""Training of the reconstruction network (paper §3.3, §4.2; supplementary §5.1).

Each step: a multi-view batch (inputs paired with random views of the same identity, view-consistency
loss eq. 7) at the learning rate ``lr``, then a single-view batch (no view term) at ``lr * lr_real``
(one tenth, as the paper). Loss (eq. 4-8): RGB L1 1.0, SSIM 0.05, position reg 0.5, scale reg 5e-5,
view 0.1; LPIPS (0.5 in the paper) is skipped: the ``lpips`` package needs torchvision, which is not
usable here (``fit.losses.make_lpips`` returns None) - noted in the log and checkpoint.
Schedule: Adam, the rate decays 5 % every ``lr_every`` steps; the render resolution starts at
``start_resolution`` and doubles every ``resolution_every`` steps up to ``resolution``; each increase
resets the rate. At the first resolution of a curriculum no real (single-view) data is used.

Multi-GPU: run under ``torchrun --nproc_per_node K -m dejavu_cli train-recon ...``; the network is
wrapped in DistributedDataParallel (NCCL on CUDA, gloo on CPU), each process draws its own batches of
``batch`` images, rank 0 logs and writes checkpoints. Without torchrun a single process trains.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import torch
import torch.distributed as dist

from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.recon import step as st
from dejavu_cli.recon.config import TrainConfig
from dejavu_cli.recon.data import ReconDataset

__all__ = ["TrainConfig", "schedule", "train"]


def schedule(step: int, cfg: TrainConfig) -> dict:
    """Resolution, learning rates and whether real data is used at ``step`` (pure)."""
    start = min(cfg.start_resolution, cfg.resolution)
    n_up = max(0, math.ceil(math.log2(cfg.resolution / start)))     # number of doublings to reach the end
    phase = min(step // max(1, cfg.resolution_every), n_up)
    res = min(cfg.resolution, start * 2 ** phase)
    since = step - phase * cfg.resolution_every                       # rates reset at each increase
    lr = cfg.lr * cfg.lr_decay ** (since // max(1, cfg.lr_every))
    return {"resolution": int(res), "lr": lr, "lr_real": lr * cfg.lr_real, "phase": phase,
            "use_real": phase > 0 or n_up == 0}


def _dist_env() -> tuple[int, int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def train(data: str | os.PathLike, output: str | os.PathLike, cfg: TrainConfig = TrainConfig(),
          resume: bool = False, log=print) -> dict:
    """Train on the folder ``data`` and write the checkpoint ``output``; returns the loss history (rank 0)."""
    rank, world, local = _dist_env()
    device = resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    configure_torch(device, cfg.threads)
    say = log if rank == 0 else (lambda *a, **k: None)
    try:
        ds = ReconDataset(data)
        say(f"data: {ds.summary()}")
        torch.manual_seed(cfg.seed)  # same initial network on every rank and run
        ctx = st.build_context(ds, cfg, device)
        start, state = st.resume_state(output, ctx, cfg) if resume else (0, None)
        if resume and state is None:
            raise DejavuError(f"--resume: no checkpoint at {output}")
        if state is not None:
            say(f"resuming at step {start}")
        model = ctx.net
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            model = DDP(ctx.net, device_ids=[device.index] if device.type == "cuda" else None)
        opt = torch.optim.Adam(ctx.net.parameters(), lr=cfg.lr)
        if state is not None and "optimizer" in state:
            opt.load_state_dict(state["optimizer"])
        say("LPIPS skipped: the lpips package needs torchvision, which is unavailable (paper weight 0.5)")
        gen = torch.Generator().manual_seed(cfg.seed + 1000 * rank + start)
        history = {k: [] for k in ("step", "resolution", "total", "rgb", "ssim", "pos", "scale", "view", "real")}
        t0 = time.perf_counter()
        for step in range(start, cfg.steps):
            sch = schedule(step, cfg)
            terms = st.train_step(model, ctx, opt, sch, cfg, gen)
            if rank == 0:
                history["step"].append(step)
                history["resolution"].append(sch["resolution"])
                for k in ("total", "rgb", "ssim", "pos", "scale", "view", "real"):
                    history[k].append(terms.get(k, float("nan")))
                if step % cfg.log_every == 0 or step == cfg.steps - 1:
                    say(f"step {step:6d}  res {sch['resolution']:4d}  lr {sch['lr']:.2e}  "
                        + "  ".join(f"{k} {terms[k]:.4f}" for k in ("total", "rgb", "ssim", "view", "real")
                                    if k in terms) + f"  ({time.perf_counter() - t0:.1f} s)")
            last = step == cfg.steps - 1
            if rank == 0 and ((step + 1) % cfg.save_every == 0 or last):
                st.save(output, ctx, opt, step + 1, cfg)
        if start >= cfg.steps:
            say(f"nothing to do: checkpoint already at step {start} >= --steps {cfg.steps}")
        history["seconds"] = time.perf_counter() - t0
        history["config"] = dataclasses.asdict(cfg)
        if world > 1:
            # every rank waits for rank 0's last save: a rank that tears down gloo while rank 0 is still
            # writing aborted the run now and then ("terminate called without an active exception", rc -6)
            dist.barrier()
        return history
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
