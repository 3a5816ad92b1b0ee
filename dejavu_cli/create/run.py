"""``create_avatar``: tracked video -> personalized avatar + report (paper section 3.4), end to end.

Steps: targets (crops, person mask, head-region cut) -> U_init on the tracked identity (+ mean offsets the caller
supplies: the reconstruction network's with --checkpoint) -> colour initialization from the video -> stage 1
and stage 2 -> held-out metrics -> avatar file, report JSON + PNG. Ctrl-C writes ``AVATAR.ckpt.npz``, and so
does every ``cfg.checkpoint_every`` steps (and every 5 minutes) of training; the same command with
``resume=True`` continues from it. The avatar and its two report files are committed together
(:func:`dejavu_cli.io.group.atomic_group`): all three new ones, or, if any write fails, all three old ones.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import Avatar, save_avatar
from dejavu_cli.avatar.quality import artifact_figures
from dejavu_cli.create import prior
from dejavu_cli.create.checkpoint import check_state, checkpoint_path, load_checkpoint, save_checkpoint
from dejavu_cli.create.config import CreateConfig, stage_steps
from dejavu_cli.create.optimize import Interrupted, evaluate, new_state, optimize, state_arrays, state_from_arrays
from dejavu_cli.create.problem import Problem, eval_indices
from dejavu_cli.create.report import report_paths, write_json, write_png
from dejavu_cli.create.stages import channel_scale
from dejavu_cli.device import configure_torch, resolve_device
from dejavu_cli.errors import DejavuError
from dejavu_cli.fit import colour, priors
from dejavu_cli.fit import targets as tg
from dejavu_cli.fit.frames import split_rows
from dejavu_cli.fit.losses import make_lpips
from dejavu_cli.fit.scoring import score_frames
from dejavu_cli.fit.visibility import seen_summary, texel_visibility
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.group import atomic_group
from dejavu_cli.track import api as track_api
from dejavu_cli.track.api import CAPTURE_HINT, needs_capture_hint, pose_range, seen_share
from dejavu_cli.uv.layout import build_layout
from dejavu_cli.uv.maps import init_maps

#: Training frames (evenly spaced) over which per-texel visibility is counted.
VISIBILITY_FRAMES = 64
#: Initial Gaussian standard deviation as a fraction of the texel spacing (scale_init "spacing").
SPACING_FACTOR = 0.6


def build_targets(track, crops: np.ndarray, frames: np.ndarray, head, cfg: CreateConfig,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (targets [T_all, R, R, 3], masks [T_all, R, R]): rows of ``frames`` filled, others white over an
    empty mask. crops [len(frames), S, S, 3]."""
    R = cfg.resolution
    out = np.empty((track.T, R, R, 3), np.uint8)
    alpha = np.zeros((track.T, R, R), np.uint8)
    unused = np.ones(track.T, bool)
    unused[frames] = False
    out[unused] = 255
    if np.array_equal(frames, np.arange(track.T)):
        return tg.video_targets(track, crops, frames, head, R, progress, out=out, alpha_out=alpha), alpha
    a = np.empty((len(frames), R, R), np.uint8)
    out[frames] = tg.video_targets(track, crops, frames, head, R, progress, alpha_out=a)
    alpha[frames] = a
    return out, alpha


def build_problem(track, crops: np.ndarray | None, video, cfg: CreateConfig, device, progress=True,
                  offsets_fn=None, log=None) -> tuple[Problem, dict]:
    """Everything fixed during optimization; ``crops`` (uint8 [T, S, S, 3] for all frames) or the ``video``.

    ``offsets_fn(layout, track, crops, frames) -> [N, 13]``, when given, supplies mean offsets added to
    U_init (the reconstruction network's, paper eq. 9: the use case passes them in). ``log(line)`` gets a
    status line before each step that takes seconds."""
    log = log or (lambda line: None)

    info = {}
    head = load_head(track.head, device="cpu")
    train, held = split_rows(track.valid, cfg.train_frames or None, cfg.holdout_frames or None,
                             cfg.heldout_fraction)
    frames = np.concatenate([train, held])
    check_head_sizes(track, head)  # before anything poses the head with the tracked coefficients
    if crops is None:
        crops = track_api.read_crops(video, track, frames, progress=progress)
    else:
        crops = crops[frames]
    info["held_crops"] = crops[len(train):].copy()                   # [len(held), S, S, 3]: the 512 scores
    log(f"targets: {len(frames)} frames at {cfg.resolution}px ({len(train)} to train, {len(held)} held out)")
    t0 = time.perf_counter()
    tgt, alpha = build_targets(track, crops, frames, head, cfg, progress)
    info["seconds_targets"] = time.perf_counter() - t0

    log(f"UV layout {cfg.uv_size}x{cfg.uv_size} and initial maps")
    layout = build_layout(head, cfg.uv_size)
    ident = torch.as_tensor(np.asarray(track.identity), dtype=torch.float32)
    v_id = tg.head_vertices(head, ident, torch.zeros(1, head.n_expression), torch.zeros(1, 3), torch.zeros(1, 6))[0]
    u_init = init_maps(layout, v_id).float()
    if cfg.scale_init == "spacing" or (cfg.scale_init == "auto" and not cfg.checkpoint):
        u_init[:, 3:6] = torch.log(SPACING_FACTOR * colour.texel_spacing(layout, v_id))[:, None]
        info["scale_init"] = "spacing"
    else:
        info["scale_init"] = "paper"
    u_base = u_init + (offsets_fn(layout, track, crops, frames).float().cpu() if offsets_fn is not None
                       else torch.zeros_like(u_init))
    if cfg.hair_volume > 0:  # the region prior of unseen scalp texels keeps this volume too
        hair = prior.hair_volume_offsets(layout, v_id, head.faces, cfg.hair_volume)
        u_base[:, 0:3] += hair
        info["hair_offsets"] = hair.to(device)
    info["u_init"] = u_init
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32, device=device)  # noqa: E731
    K = tg.scale_intrinsics(t(track.K), int(track.size), cfg.resolution)
    head = head.to(device)
    problem = Problem(
        head=head, layout=_to(layout, device), u_base=u_base.to(device),
        pos_weights=torch.as_tensor(layout.pos_weight, dtype=torch.float32, device=device),
        identity=t(track.identity), expression=t(track.expression),
        jaw=t(track.jaw) if head.has_jaw else None, eyes=t(track.eyes) if head.has_eyes else None,
        rotvec=t(track.rotvec), transl=t(track.translation), viewmat=t(track.viewmat), K=K,
        targets=torch.from_numpy(tgt), alphas=torch.from_numpy(alpha), train=torch.as_tensor(train, device=device),
        held=torch.as_tensor(held, device=device), drivers=list(head.blend_drivers)[:cfg.n_blend],
        **frame_coverage(track, cfg.resolution, device))
    pick = problem.train[torch.linspace(0, len(problem.train) - 1, min(VISIBILITY_FRAMES, len(problem.train)))
                          .round().long()]
    count, best = texel_visibility(problem.layout, problem.vertices(pick), problem.head.faces,
                                   problem.rotvec[pick], problem.transl[pick], problem.viewmat, problem.K,
                                   cfg.resolution, coverage=problem.inside(pick))
    if cfg.blend_fallback and problem.drivers:
        problem.blend_range = prior.driver_range(problem.expression[problem.train][:, problem.drivers])
    seen = count.float() / len(pick)                                   # [N] share of sampled training frames
    info["texel_seen"] = seen.cpu()
    info["in_view"] = best > 0                                         # [N] ever in view (the fill's test)
    info["uv_seen"] = seen_summary(problem.layout, count)
    if cfg.mirror_fill:  # the left-right texel partners of the fill after training
        info["mirror"] = priors.mirror_texels(problem.layout.surface(v_id.to(device)[None])[0],
                                              problem.layout.region)
    prior.weigh_by_visibility(problem, seen, cfg)
    if cfg.cull_back:
        problem.cull, problem.cull_cos = prior.region_mask(problem.layout, prior.CULL_REGIONS), cfg.cull_cos
    info["colour_init"] = False
    if cfg.colour_init:
        log(f"colour initialization from {min(cfg.colour_frames, len(train))} frames")
        t0 = time.perf_counter()
        sh = init_colours(problem, cfg)           # part of U_init (replaces its grey), not an offset
        problem.u_base[:, 10:13] += sh - u_init[:, 10:13].to(device)
        u_init[:, 10:13] = sh.cpu()
        info["colour_init"] = True
        info["seconds_colour_init"] = time.perf_counter() - t0
    return problem, info


def check_head_sizes(track, head) -> None:
    """One line when the tracking file's identity/expression sizes are not the head model's."""
    for name, got, want in (("identity", np.shape(track.identity)[-1], head.n_identity),
                            ("expression", np.shape(track.expression)[-1], head.n_expression)):
        if got != want:
            raise DejavuError(f"tracking file: field {name} has {got} coefficients, the {track.head} head model "
                              f"has {want} (tracked with another head model version?)")


def frame_coverage(track, resolution: int, device) -> dict:
    """Problem's ``cover_x``/``cover_y`` [T, R]: which crop pixels the video filmed (empty when all of them)."""
    cx, cy = track_api.coverage(track, resolution)
    if cx.min() >= 1.0 and cy.min() >= 1.0:
        return {}
    return {"cover_x": torch.from_numpy(cx).to(device), "cover_y": torch.from_numpy(cy).to(device)}


def _to(layout, device):
    return layout.to(device) if hasattr(layout, "to") else layout


def init_colours(problem: Problem, cfg: CreateConfig) -> torch.Tensor:
    """SH0 colours [N, 3] projected from ``cfg.colour_frames`` evenly spaced training frames."""
    n = min(cfg.colour_frames, len(problem.train))
    pick = problem.train[torch.linspace(0, len(problem.train) - 1, n).round().long()]
    verts = problem.vertices(pick)
    with torch.no_grad():
        surf = problem.layout.surface(verts)
        nrm = problem.layout.normals(verts, problem.head.faces)
        imgs = problem.target(pick)
        rgb, _ = colour.project_colours(surf, nrm, problem.rotvec[pick],
                                        problem.transl[pick], imgs, problem.viewmat, problem.K,
                                        groups=problem.layout.region, coverage=problem.inside(pick))
    return colour.rgb_to_sh0(rgb)


#: Config fields a resumed run must share with its checkpoint (the rest may change, e.g. --steps).
RESUME_FIXED = ("uv_size", "scale_init", "resolution", "n_blend", "batch", "seed", "stage1_fraction",
                "colour_init", "checkpoint", "heldout_fraction", "train_frames", "holdout_frames",
                "random_background")


def _load_resume(path: Path, cfg: CreateConfig, track, device, problem_texels: int):
    arrays, meta = load_checkpoint(path)
    if meta.get("video_sha256") != track.video_sha256:
        raise DejavuError(f"{path} belongs to another video; delete it or drop --resume")
    old = meta.get("config", {})
    diff = [k for k in RESUME_FIXED if k in old and old[k] != dataclasses.asdict(cfg)[k]]
    if diff:
        raise DejavuError(f"{path} was made with different {', '.join(diff)}; use the same options to resume")
    check_state(arrays, meta, str(path))
    n = int(problem_texels)
    if arrays["delta_global"].shape[0] != n or ("blendmaps" in arrays and arrays["blendmaps"].shape[0] != cfg.n_blend):
        raise DejavuError(f"{path}: field delta_global/blendmaps has shape {list(arrays['delta_global'].shape)}, "
                          f"expected [{n}, 13] ({cfg.n_blend} blendmaps); delete it or drop --resume")
    return state_from_arrays(arrays, meta, device)


def create_avatar(track, video, cfg: CreateConfig, output, resume: bool = False, hook=None, progress: bool = True,
                  crops: np.ndarray | None = None, offsets_fn=None, log=None):
    """Personalize an avatar from ``track`` (TrackResult) and ``video`` (or pre-read ``crops`` [T, S, S, 3]).

    Writes ``output`` (avatar), ``*.report.json`` and ``*.report.png``; returns (avatar, report dict).
    On Ctrl-C writes ``*.ckpt.npz`` and re-raises KeyboardInterrupt; ``resume=True`` continues from it.
    ``log(line)``: status lines between the progress bars.
    """
    log = log or (lambda line: None)

    t_start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    configure_torch(device, cfg.threads)
    output = Path(output)
    ckpt = checkpoint_path(output)
    if resume and not ckpt.exists():
        raise DejavuError(f"--resume: no checkpoint at {ckpt}")

    problem, info = build_problem(track, crops, video, cfg, device, progress, offsets_fn, log)
    n_texels = problem.u_base.shape[0]
    state = _load_resume(ckpt, cfg, track, device, n_texels) if resume else new_state(n_texels, cfg, device)

    lpips_fn = make_lpips(device) if cfg.w_lpips > 0 else None

    def write_checkpoint(st) -> None:
        arrays, meta = state_arrays(st)
        meta.update(config=dataclasses.asdict(cfg), video_sha256=track.video_sha256)
        save_checkpoint(ckpt, arrays, meta)

    try:
        state = optimize(problem, cfg, state, hook=hook, progress=progress, lpips_fn=lpips_fn,
                         checkpoint=write_checkpoint)
    except Interrupted as exc:
        write_checkpoint(exc.state)
        raise KeyboardInterrupt(f"interrupted at step {exc.state.step}; checkpoint {ckpt} "
                                f"(continue with --resume)") from None

    info["filled"] = prior.fill_unseen_texels(problem, state, info) if cfg.mirror_fill else None
    info["closed"] = prior.close_scalp(problem, state, info) if cfg.close_scalp else 0
    info["capped"] = prior.cap_rare_scales(problem, state, info, cfg) if cfg.scale_cap > 0 else 0
    idx = eval_indices(problem.held, cfg.max_eval_frames)
    metrics, _, _ = evaluate(problem, state, idx, cfg.batch, lpips_fn, progress, "held-out frames")
    fit, _, _ = evaluate(problem, state, eval_indices(problem.train, 16), cfg.batch, progress=progress,
                         desc="training frames")
    avatar = make_avatar(problem, state, track, cfg, info["u_init"], info["texel_seen"])
    animator = Animator(avatar, problem.head, device)
    rows = idx.cpu().numpy()
    held_pos = np.searchsorted(problem.held.cpu().numpy(), rows)
    full = score_frames(animator, track, info["held_crops"][held_pos], rows, size=min(cfg.eval_size, int(track.size)),
                        batch=cfg.batch,
                        lpips_fn=lpips_fn, progress=progress, keep_renders=6)
    renders, gts = full["renders"], full["targets"]
    log("artifact figures (spikes, see-through) and what the video showed")
    artifacts = artifact_figures(animator)
    train_rows = problem.train.cpu().numpy()
    valid = np.zeros(track.T, bool)
    valid[train_rows] = True
    coverage = {"pose_range_deg": pose_range(track.rotvec, valid), "uv_seen": info["uv_seen"],
                "head_seen": seen_share(problem.head, track.identity, track.rotvec, track.translation,
                                        track.viewmat, valid)}
    coverage["guessed"] = info["filled"]
    coverage["scale_capped"] = info["capped"]
    coverage["scalp_closed"] = info["closed"]
    coverage["capture_hint"] = CAPTURE_HINT if needs_capture_hint(coverage["pose_range_deg"],
                                                                  coverage["head_seen"]) else None
    s1, s2 = stage_steps(cfg)
    report = {
        "psnr": full["psnr"], "ssim": full["ssim"], "lpips": full["lpips"], "eval_size": full["size"],
        "psnr_train_res": metrics["psnr"], "ssim_train_res": metrics["ssim"], "train_resolution": cfg.resolution,
        "psnr_train": fit["psnr"], "artifacts": artifacts, "coverage": coverage,
        "lpips_note": None if lpips_fn is not None else "LPIPS unavailable (lpips needs torchvision); loss skipped",
        "heldout_frames": int(len(problem.held)), "eval_frames": int(len(idx)), "train_frames": int(len(problem.train)),
        "seconds_total": time.perf_counter() - t_start, "seconds_stage1": state.seconds[0],
        "seconds_stage2": state.seconds[1], "seconds_targets": info.get("seconds_targets"),
        "seconds_colour_init": info.get("seconds_colour_init"), "device": str(device),
        "gaussians": int(problem.u_base.shape[0]), "preset": cfg.preset, "colour_init": info["colour_init"],
        "scale_init": info["scale_init"], "outside_frame": problem.outside_share(problem.train),
        "steps": [s1, s2], "resolution": cfg.resolution, "uv_size": cfg.uv_size, "batch": cfg.batch,
        "head": track.head, "torch_threads": torch.get_num_threads(), "resumed": bool(resume),
        "final_loss": state.history["total"][-1] if state.history["total"] else None,
        "psnr_per_frame": [f["psnr"] for f in full["frames"]], "heldout_rows": rows.tolist(),
        "config": dataclasses.asdict(cfg),
    }
    log(f"writing {output} and its report")
    write_outputs(output, avatar, report, state, renders, gts, s1)
    ckpt.unlink(missing_ok=True)
    return avatar, report


def write_outputs(output: Path, avatar, report: dict, state, renders, gts, split: int) -> None:
    """Avatar, report JSON and PNG: all three to temp files, then renamed together (or none of them)."""
    js, png = report_paths(output)
    hist = dict(state.history, stage_split=split)
    title = (f"{report['preset']}: held-out PSNR {report['psnr']:.2f} dB, SSIM {report['ssim']:.3f} at "
             f"{report['eval_size']}px, "
             f"{report['gaussians']} Gaussians, {report['seconds_total']:.0f} s on {report['device']} (tracking not included)")
    report["seconds_total"] = float(report["seconds_total"])
    with atomic_group([png, js, output]) as (png_tmp, js_tmp, avatar_tmp):
        write_png(png_tmp, hist, gts, renders, title=title, atomic=False)
        write_json(js_tmp, report, atomic=False)
        save_avatar(avatar_tmp, avatar, atomic=False)


def make_avatar(problem: Problem, state, track, cfg: CreateConfig, u_init: torch.Tensor,
                texel_seen: torch.Tensor | None = None):
    """The :class:`dejavu_cli.avatar.file.Avatar` of a finished run (maps float32 on CPU).

    ``rectification`` is the stage-1 delta; ``blendmaps`` the stage-2 maps (empty when stage 2 did not run,
    in which case the avatar uses the global rectification). The neutral/canonical fields are the tracked
    means over the training frames (reenactment's rest pose).
    """

    npy = lambda x: x.detach().float().cpu().numpy()  # noqa: E731
    unit = channel_scale().numpy()                     # optimized units (position cm) -> map units (m)
    init = npy(u_init)
    blend = npy(state.blendmaps) * unit if state.blendmaps is not None else np.zeros((0, *init.shape), np.float32)
    names = list(problem.head.expression_names)
    tr = problem.train
    mean = lambda x: None if x is None else npy(x[tr].mean(0))  # noqa: E731
    return Avatar(
        head=track.head, identity=npy(problem.identity), uv_size=int(problem.layout.uv_size),
        layout_check=problem.layout.check, init=init, mean_offsets=npy(problem.u_base) - init,
        rectification=npy(state.delta_global) * unit, blendmaps=blend,
        blend_drivers=[names[i] for i in problem.drivers] if len(blend) else [],
        fov_deg=float(track.fov_deg), distance=float(np.asarray(track.viewmat)[2, 3]),
        viewmat=np.asarray(track.viewmat, np.float32), image_size=int(track.size),
        source_video_sha256=str(track.video_sha256),
        neutral_expression=mean(problem.expression), neutral_jaw=mean(problem.jaw), neutral_eyes=mean(problem.eyes),
        canonical_rotvec=mean(problem.rotvec), canonical_translation=mean(problem.transl),
        texel_seen=None if texel_seen is None else npy(texel_seen),
        blend_range=npy(problem.blend_range) if problem.blend_range is not None and len(blend) else None)
