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

    from dejavu_cli.create.config import preset_config, stage_steps
    from dejavu_cli.create.optimize import new_state, optimize
    from dejavu_cli.create.run import build_problem, create_avatar
    from dejavu_cli.device import configure_torch, resolve_device

    cfg = preset_config(args.preset, device=args.device, steps=args.steps, resolution=args.resolution,
                        uv_size=args.uv_size, batch=args.batch)
    device = resolve_device(cfg.device)
    configure_torch(device, args.threads)
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
    n1, n2 = stage_steps(cfg)
    per_step = {}
    for label, start in (("stage 1", 0), ("stage 2", n1)):
        # Run the real configuration (so the 3:7 split is the preset's) from the stage's first step and stop
        # after 2 warm-up + N measured steps; the optimizer records each step's wall time.
        state.step = start
        stop_at = start + 2 + args.steps_measured

        def hook(step, stop_at=stop_at):
            if step >= stop_at:
                raise _Stop

        try:
            optimize(problem, cfg, state, hook=hook, progress=False)
        except _Stop:
            pass
        _sync(device)
        dt = sum(state.history["seconds"][-args.steps_measured:]) / args.steps_measured
        per_step[label] = dt
        print(f"{label}: {dt:.3f} s/step = {cfg.batch / dt:.2f} training images/s (fwd+bwd), "
              f"{problem.u_base.shape[0]} Gaussians at {cfg.resolution}^2")
    s1, s2 = per_step["stage 1"], per_step["stage 2"]
    print(f"setup (inputs {t_inputs:.1f} s, targets + init {t_setup:.1f} s); estimated training "
          f"{n1 * s1 + n2 * s2:.0f} s for {cfg.steps} steps; estimated total without tracking "
          f"{t_setup + n1 * s1 + n2 * s2:.0f} s")
    print(f"peak memory: {_peak_memory_gb(device):.2f} GB ({'GPU allocated' if device.type == 'cuda' else 'process RSS'})")


def _peak_memory_gb(device) -> float:
    import resource

    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _Stop(Exception):
    """Ends a measured run early (raised from the optimizer's step hook)."""


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _inputs(args, cfg):
    """(track, crops or None, video or None)."""
    if args.track:
        from dejavu_cli.track.api import load_track

        return load_track(args.track), None, args.video
    from dejavu_cli.fit.synthetic import make_problem
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
