"""Training speed of ``dejavu create``: images/s (forward + backward) and the total time of a preset.

Usage:
  python benchmarks/create.py --preset fast [--steps-measured 10] [--device cpu]
        synthetic problem on the preset's sizes with the ICT head when set up, else the test head
  python benchmarks/create.py --preset fast --video V.mp4 --track V.track.npz [--full]
        real targets; --full runs the whole preset (training + evaluation) instead of extrapolating

Prints one line per figure. Timings on a shared machine are noisy: report the conditions with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="fast", choices=("fast", "paper"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps-measured", type=int, default=10, help="timed steps (after 2 warm-up steps)")
    ap.add_argument("--video")
    ap.add_argument("--track")
    ap.add_argument("--head", default=None, help="head for the synthetic problem (default: ict if set up, else test)")
    ap.add_argument("--frames", type=int, default=40, help="synthetic frames")
    ap.add_argument("--full", action="store_true", help="run the whole preset and print its report figures")
    ap.add_argument("--threads", type=int, default=0)
    for name in ("steps", "resolution", "uv_size", "batch"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    args = ap.parse_args()

    import torch

    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    from dejavu_cli.create.config import preset_config, stage_steps
    from dejavu_cli.create.optimize import new_state, optimize
    from dejavu_cli.create.run import build_problem, create_avatar, resolve_device

    cfg = preset_config(args.preset, device=args.device, steps=args.steps, resolution=args.resolution,
                        uv_size=args.uv_size, batch=args.batch)
    device = resolve_device(cfg.device)
    t0 = time.perf_counter()
    track, crops, video = _inputs(args, cfg)
    t_inputs = time.perf_counter() - t0
    print(f"preset {cfg.preset}: steps {stage_steps(cfg)}, resolution {cfg.resolution}, uv {cfg.uv_size}, "
          f"batch {cfg.batch}, device {device}, torch threads {torch.get_num_threads()}, "
          f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    if args.full:
        out = Path("/tmp/dejavu-bench-create/avatar.npz")
        _, rep = create_avatar(track, video, cfg, out, crops=crops, progress=True)
        print(f"total {rep['seconds_total']:.1f} s (stage 1 {rep['seconds_stage1']:.1f} s, stage 2 "
              f"{rep['seconds_stage2']:.1f} s, targets {rep['seconds_targets']:.1f} s), held-out PSNR "
              f"{rep['psnr']:.2f} dB, SSIM {rep['ssim']:.3f}, {rep['gaussians']} Gaussians")
        print(f"training images/s (fwd+bwd): {cfg.steps * cfg.batch / (rep['seconds_stage1'] + rep['seconds_stage2']):.2f}")
        return
    t0 = time.perf_counter()
    problem, info = build_problem(track, crops, video, cfg, device, progress=False)
    t_setup = time.perf_counter() - t0
    state = new_state(problem.u_base.shape[0], cfg, device)
    for stage_start, label in ((0, "stage 1"), (stage_steps(cfg)[0], "stage 2")):
        state.step = stage_start
        warm = cfg.__class__(**{**cfg.__dict__, "steps": stage_start + 2})
        optimize(problem, warm, state, progress=False)
        timed = cfg.__class__(**{**cfg.__dict__, "steps": state.step + args.steps_measured})
        _sync(device)
        t = time.perf_counter()
        optimize(problem, timed, state, progress=False)
        _sync(device)
        dt = (time.perf_counter() - t) / args.steps_measured
        print(f"{label}: {dt:.3f} s/step = {cfg.batch / dt:.2f} training images/s (fwd+bwd), "
              f"{problem.u_base.shape[0]} Gaussians at {cfg.resolution}^2")
        if label == "stage 1":
            s1 = dt
        else:
            s2 = dt
    n1, n2 = stage_steps(cfg)
    print(f"setup (inputs {t_inputs:.1f} s, targets + init {t_setup:.1f} s); estimated training "
          f"{n1 * s1 + n2 * s2:.0f} s for {cfg.steps} steps; estimated total without tracking "
          f"{t_setup + n1 * s1 + n2 * s2:.0f} s")


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _inputs(args, cfg):
    """(track, crops or None, video or None)."""
    if args.track:
        from dejavu_cli.track.file import load_track

        return load_track(args.track), None, args.video
    from dejavu_cli.create.synthetic import make_problem
    from dejavu_cli.head.registry import load_head

    name = args.head
    if name is None:
        try:
            head = load_head("ict")
        except Exception:
            head = load_head("test")
    else:
        head = load_head(name)
    track, crops, _ = make_problem(head, uv_size=cfg.uv_size, size=cfg.resolution, n_frames=args.frames)
    return track, crops, None


if __name__ == "__main__":
    main()
