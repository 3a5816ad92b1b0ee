"""The two-stage optimization loop of ``dejavu create`` (paper section 3.4) with checkpoint/resume.

Stage 1 optimizes ``delta_global [N, 13]``; stage 2 optimizes ``blendmaps [D, N, 13]`` initialised from it.
Each stage has its own Adam (lr 0.05, x0.9 every 100 steps of that stage, as the official code restarts its
schedule per stage). One step = one batched head-model call, one UV gather, one renderer call.

Ctrl-C: the first SIGINT is deferred to the next step boundary, where :class:`Interrupted` is raised with
the full training state (parameters, Adam moments, RNG, history) so the caller can write a checkpoint.
Periodic checkpoints: ``optimize(..., checkpoint=fn)`` calls ``fn(state)`` every ``cfg.checkpoint_every``
steps and at least every :data:`CHECKPOINT_SECONDS`, so a run killed outright (SIGKILL, power loss, OOM
killer) loses at most that much work.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from dejavu_cli.create import stages
from dejavu_cli.create.checkpoint import adam_state_arrays, restore_adam
from dejavu_cli.create.config import CreateConfig, stage_steps
from dejavu_cli.create.problem import Problem, render_batch
from dejavu_cli.fit import losses, priors
from dejavu_cli.uv.maps import OPACITY, ROT, SCALE

#: Units of the per-frame pose offsets the optimizer sees (``lr_pose``): 0.01 rad of rotation, 1 mm of translation.
POSE_UNITS = (0.01, 0.001)
#: Longest time between two periodic checkpoints (with ``cfg.checkpoint_every`` > 0).
CHECKPOINT_SECONDS = 300.0
LOSS_KEYS = ("total", "l1", "ssim", "lpips", "pos", "scale", "shape", "opacity", "flat")
HISTORY_KEYS = ("step",) + LOSS_KEYS + ("seconds",)


@dataclass
class TrainState:
    """Everything needed to continue a run exactly (see :func:`state_arrays`)."""
    delta_global: torch.Tensor                     # [N, 13]
    blendmaps: torch.Tensor | None = None          # [D, N, 13] once stage 2 started
    step: int = 0
    generator: torch.Generator | None = None
    adam: dict = field(default_factory=dict)       # arrays of the current stage's optimizer
    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    seconds: list = field(default_factory=lambda: [0.0, 0.0])  # stage 1, stage 2
    pose: torch.Tensor | None = None               # [T, 6] per-frame pose offsets (POSE_UNITS), when refined
    pose_adam: dict = field(default_factory=dict)  # arrays of the pose optimizer ("pose_adam*" keys)


class Interrupted(KeyboardInterrupt):
    """Raised at a step boundary after Ctrl-C (or a test hook); carries the :class:`TrainState`."""
    def __init__(self, state: TrainState):
        super().__init__("interrupted")
        self.state = state


def new_state(n_texels: int, cfg: CreateConfig, device) -> TrainState:
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(cfg.seed))
    return TrainState(delta_global=torch.zeros(n_texels, 13, device=device), generator=gen)


def state_arrays(state: TrainState) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of a state for :func:`dejavu_cli.create.checkpoint.save_checkpoint`."""
    arrays = {"delta_global": state.delta_global.detach().cpu().numpy(),
              "rng": state.generator.get_state().numpy(), **state.adam}
    if state.blendmaps is not None:
        arrays["blendmaps"] = state.blendmaps.detach().cpu().numpy()
    if state.pose is not None:
        arrays["pose"] = state.pose.detach().cpu().numpy()
        arrays.update(state.pose_adam)
    meta = {"step": state.step, "history": state.history, "seconds": state.seconds}
    return arrays, meta


def state_from_arrays(arrays: dict, meta: dict, device) -> TrainState:
    gen = torch.Generator(device="cpu")
    gen.set_state(torch.from_numpy(np.ascontiguousarray(arrays["rng"])))
    blend = arrays.get("blendmaps")
    pose = arrays.get("pose")
    return TrainState(
        delta_global=torch.tensor(arrays["delta_global"], device=device),
        blendmaps=None if blend is None else torch.tensor(blend, device=device),
        step=int(meta["step"]), generator=gen, adam={k: v for k, v in arrays.items() if k.startswith("adam")},
        history=_complete_history(meta["history"]), seconds=list(meta["seconds"]),
        pose=None if pose is None else torch.tensor(pose, device=device),
        pose_adam={k: v for k, v in arrays.items() if k.startswith("pose_adam")})


def _complete_history(history: dict) -> dict:
    """A checkpoint's loss history with series it predates (a newer loss term) filled with zeros."""
    n = len(history.get("step", []))
    return {**{k: [0.0] * n for k in HISTORY_KEYS}, **history}


@contextlib.contextmanager
def deferred_sigint():
    """Turn the first Ctrl-C into a flag checked at step boundaries (a second one interrupts at once)."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        flag["hit"] = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def step_losses(problem: Problem, delta: torch.Tensor, idx: torch.Tensor, cfg: CreateConfig,
                lpips_fn=None, background: torch.Tensor | None = None,
                pose: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Loss terms of one batch (paper eq. 8 without L_view, plus the prior's shape and opacity terms).

    delta [B, N, 13] in optimized units (positions in cm; the regularizers see these units, as the official
    code), idx [B]; background [B, 3]: render and target composited over it (None: white); pose [B, 6]
    offsets (rotation vector, translation; POSE_UNITS) added to the tracked head pose of the frames."""
    maps_delta = delta * stages.channel_scale(delta.device)
    flat = cfg.w_flat > 0 and problem.flat_weights is not None
    verts = problem.vertices(idx)
    rotvec, transl = None, None
    if pose is not None:
        rotvec = problem.rotvec[idx] + pose[:, :3] * POSE_UNITS[0]
        transl = problem.transl[idx] + pose[:, 3:] * POSE_UNITS[1]
    rgb = render_batch(problem, maps_delta, idx, verts=verts, background=background, rotvec=rotvec,
                       transl=transl).rgb
    target = problem.target(idx, background)
    rgb = losses.observed(rgb, target, problem.inside(idx), cfg.outside_weight)
    rgb = losses.observed(rgb, target, problem.edge_trust(idx, cfg.mask_edge))  # the mask's edge: no loss
    zero = torch.zeros((), device=rgb.device)
    terms = {"l1": losses.l1_loss(rgb, target), "ssim": losses.ssim_loss(rgb, target),
             "pos": losses.position_reg(delta, problem.pos_weights),
             "scale": losses.scale_reg(delta, problem.scale_weights), "shape": zero, "opacity": zero,
             "flat": zero}
    if cfg.w_shape > 0 or flat or (cfg.w_opacity > 0 and problem.opacity_weights is not None):
        full = problem.u_base + maps_delta                               # [B, N, 13] maps of the frames
        if cfg.w_shape > 0:
            terms["shape"] = priors.shape_reg(full[..., SCALE], cfg.max_scale, cfg.max_ratio)
        if cfg.w_opacity > 0 and problem.opacity_weights is not None:
            terms["opacity"] = priors.opacity_floor_reg(full[..., OPACITY][..., 0], problem.opacity_weights)
        if flat:  # model space: the map's rotation (1, r) and the frame mesh's normals (no head pose needed)
            normals = problem.layout.normals(verts, problem.head.faces)
            quats = torch.cat([torch.ones_like(full[..., :1]), full[..., ROT]], -1)
            terms["flat"] = priors.flat_reg(full[..., SCALE], quats, normals, problem.flat_weights,
                                            cfg.flat_thickness)
    terms["lpips"] = lpips_fn(rgb, target) if lpips_fn is not None else zero
    terms["total"] = (cfg.w_l1 * terms["l1"] + cfg.w_ssim * terms["ssim"] + cfg.w_lpips * terms["lpips"]
                      + cfg.w_pos * terms["pos"] + cfg.w_scale * terms["scale"] + cfg.w_shape * terms["shape"]
                      + cfg.w_opacity * terms["opacity"] + cfg.w_flat * terms["flat"])
    return terms


def checkpoint_due(step: int, total: int, every: int, since_s: float, max_s: float = CHECKPOINT_SECONDS) -> bool:
    """Whether a periodic checkpoint is due after finishing ``step`` of ``total`` (none after the last step:
    the outputs follow), ``since_s`` seconds after the previous one; ``every`` 0 disables them."""
    return every > 0 and step < total and (step % every == 0 or since_s >= max_s)


def optimize(problem: Problem, cfg: CreateConfig, state: TrainState, hook=None, progress: bool = True,
             lpips_fn=None, checkpoint=None) -> TrainState:
    """Run (or continue) both stages until ``cfg.steps``; returns the final state.

    ``hook(step)`` is called at every step boundary (tests raise KeyboardInterrupt from it). Any
    KeyboardInterrupt becomes :class:`Interrupted` carrying the state as of the last finished step.
    ``checkpoint(state)``, when given, is called when :func:`checkpoint_due` says so.
    """

    s1, _ = stage_steps(cfg)
    last_ckpt = time.monotonic()
    opt = None
    opt_pose = _pose_optimizer(problem, state, cfg) if cfg.lr_pose > 0 else None
    bar = tqdm(total=cfg.steps, initial=state.step, desc="create", unit="step", disable=not progress,
               dynamic_ncols=True)
    try:
        with deferred_sigint() as sig:
            while state.step < cfg.steps:
                if sig["hit"]:
                    raise KeyboardInterrupt
                if hook is not None:
                    hook(state.step)
                stage = 1 if state.step < s1 else 2
                if opt is None or (stage == 2 and state.blendmaps is None):
                    _keep_moments(state, opt)                 # stage 2 inherits stage 1's moments
                    opt = _stage_optimizer(state, stage, cfg)
                local = state.step if stage == 1 else state.step - s1
                for group in opt.param_groups:
                    group["lr"] = stages.learning_rate(local, cfg.lr, cfg.lr_decay, cfg.lr_every)
                if opt_pose is not None:
                    opt_pose.param_groups[0]["lr"] = stages.learning_rate(state.step, cfg.lr_pose, cfg.lr_decay,
                                                                          cfg.lr_every)
                t0 = time.perf_counter()
                terms = _one_step(problem, state, stage, opt, cfg, lpips_fn, opt_pose)
                dt = time.perf_counter() - t0
                state.seconds[stage - 1] += dt
                state.history["seconds"].append(dt)
                state.step += 1
                state.history["step"].append(state.step)
                values = torch.stack([terms[k].float() for k in LOSS_KEYS]).tolist()  # one device sync
                for k, v in zip(LOSS_KEYS, values):
                    state.history[k].append(v)
                bar.update(1)
                bar.set_postfix(stage=stage, loss=f"{values[0]:.4f}")
                if checkpoint is not None and checkpoint_due(state.step, cfg.steps, cfg.checkpoint_every,
                                                             time.monotonic() - last_ckpt):
                    _keep_moments(state, opt, opt_pose)
                    checkpoint(state)
                    last_ckpt = time.monotonic()
            _keep_moments(state, opt, opt_pose)
    except KeyboardInterrupt:
        _keep_moments(state, opt, opt_pose)   # the moments that go with the live parameters
        raise Interrupted(state) from None
    finally:
        bar.close()
    return state


def _keep_moments(state: TrainState, opt, opt_pose=None) -> None:
    """Copy the optimizer's Adam moments into ``state.adam`` (host arrays for checkpoints). Done only when
    they are needed (stage switch, checkpoint, interrupt, end), never per step: on a GPU each copy is a
    device-to-host transfer of every moment and a sync."""
    if opt is not None:
        state.adam = adam_state_arrays(opt)
    if opt_pose is not None:
        state.pose_adam = adam_state_arrays(opt_pose, prefix="pose_adam")


def _pose_optimizer(problem: Problem, state: TrainState, cfg: CreateConfig) -> torch.optim.Optimizer:
    """Adam over the per-frame pose offsets [T, 6] (both stages); moments restored when resuming."""
    if state.pose is None:
        state.pose = torch.zeros(problem.rotvec.shape[0], 6, device=problem.device)
    param = torch.nn.Parameter(state.pose.detach().clone())
    state.pose = param
    opt = torch.optim.Adam([param], lr=cfg.lr_pose)
    restore_adam(opt, state.pose_adam, prefix="pose_adam")
    return opt


def batch_pose(problem: Problem, pose: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The pose offsets [B, 6] of frames ``idx``, minus their mean over the training frames: the refinement
    may move frames relative to each other but not the whole head, since held-out frames (and every
    driver) keep the tracked poses."""
    return pose[idx] - pose[problem.train].mean(0)


def _stage_optimizer(state: TrainState, stage: int, cfg: CreateConfig) -> torch.optim.Optimizer:
    """Adam over the stage's parameter; moments restored from ``state.adam`` when resuming that stage."""
    if stage == 1:
        param = torch.nn.Parameter(state.delta_global.detach().clone())
        state.delta_global = param
    else:
        if state.blendmaps is None:
            state.blendmaps = stages.init_blendmaps(state.delta_global, cfg.n_blend)
            a = state.adam
            if "adam0_m" in a:  # continue stage 1's step size (stages.inherit_moments)
                m, v = stages.inherit_moments(a["adam0_m"], a["adam0_v"], cfg.n_blend)
                state.adam = {"adam0_m": m, "adam0_v": v, "adam0_t": a["adam0_t"]}
            else:
                state.adam = {}
        param = torch.nn.Parameter(state.blendmaps.detach().clone())
        state.blendmaps = param
    opt = torch.optim.Adam([param], lr=cfg.lr)
    restore_adam(opt, state.adam)
    return opt


def _one_step(problem: Problem, state: TrainState, stage: int, opt, cfg: CreateConfig, lpips_fn, opt_pose=None):
    pos = torch.randint(len(problem.train), (cfg.batch,), generator=state.generator)
    idx = problem.train[pos.to(problem.train.device)]
    bg = torch.rand(cfg.batch, 3, generator=state.generator).to(problem.device) if cfg.random_background else None
    delta = stages.frame_delta(stage, state.delta_global, state.blendmaps, problem.expression[idx], problem.drivers,
                               problem.blend_range)
    if stage == 1:
        opt_pose = None      # the poses are refined in stage 2, once stage 1 has fitted a global map
    pose = batch_pose(problem, state.pose, idx) if opt_pose is not None else None
    terms = step_losses(problem, delta, idx, cfg, lpips_fn, background=bg, pose=pose)
    opts = [opt] + ([opt_pose] if opt_pose is not None else [])
    for o in opts:
        o.zero_grad(set_to_none=True)
    if torch.isfinite(terms["total"]):
        terms["total"].backward()
        grads_ok = all(p.grad is None or torch.isfinite(p.grad).all()
                       for o in opts for p in o.param_groups[0]["params"])
        if grads_ok:  # steps with NaN gradients are skipped (as the official code)
            for o in opts:
                o.step()
    return {k: v.detach() for k, v in terms.items()}


def final_delta(state: TrainState, expression: torch.Tensor, drivers, blend_range=None) -> torch.Tensor:
    """The per-frame delta of the trained model [B, N, 13] in map units (stage 2 when it ran, else stage 1)."""
    with torch.no_grad():
        stage = 2 if state.blendmaps is not None else 1
        d = stages.frame_delta(stage, state.delta_global, state.blendmaps, expression, drivers, blend_range)
        return d * stages.channel_scale(d.device)


def evaluate(problem: Problem, state: TrainState, idx: torch.Tensor, batch: int, lpips_fn=None,
             progress: bool = False, desc: str = "evaluating"):
    """Metrics on frames ``idx``: mean per-frame PSNR, SSIM (and LPIPS or None), with the renders.

    Only filmed pixels count: PSNR averages over the pixels inside the source frame, SSIM and LPIPS see the
    outside pixels replaced by the target's (:func:`losses.observed`); the returned renders are unmodified.
    Returns (metrics dict, renders float [F, R, R, 3] numpy, targets numpy)."""
    psnrs, ssims, lp, renders = [], [], [], []
    with torch.no_grad(), tqdm(total=len(idx), desc=desc, unit="frame", disable=not progress, leave=False) as bar:
        for s in range(0, len(idx), batch):
            sl = idx[s:s + batch]
            rgb = render_batch(problem, final_delta(state, problem.expression[sl], problem.drivers,
                                                    problem.blend_range), sl).rgb
            tgt, w = problem.target(sl), problem.inside(sl)
            seen = losses.observed(rgb, tgt, w)
            for i in range(len(sl)):
                psnrs.append(float(losses.psnr(rgb[i:i + 1], tgt[i:i + 1], None if w is None else w[i:i + 1])))
                ssims.append(float(losses.ssim(seen[i:i + 1], tgt[i:i + 1])))
            if lpips_fn is not None:
                lp.append(float(lpips_fn(seen, tgt)) * len(sl))
            renders.append(rgb.cpu().numpy())
            bar.update(len(sl))
    metrics = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims)),
               "lpips": float(np.sum(lp) / len(idx)) if lp else None, "psnr_per_frame": psnrs}
    return metrics, np.concatenate(renders), problem.targets[idx.cpu()].numpy()
