"""Reenactment render throughput: animate (head model + UV gathers + blendmaps) + splat; prints numbers.

Avatar: the head model's template at a UV size giving about 75k Gaussians (ICT: UV 400 -> ~75k) with
``--blendmaps`` random blendmaps (as a created avatar has), driven by random expressions and small head
rotations, rendered at ``--size`` (512) with the avatar camera, one frame per call and in batches.
Frames/s are per frame (batched: frames in the batch / call time). Never a test.

    python benchmarks/render.py [--head ict|test] [--uv-size 400] [--size 512] [--batches 1,4] [--device cpu]
        [--backend auto|kernel|torch|gsplat]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_animator(head_name: str, uv_size: int, n_blend: int, device):
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import template_avatar
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    head = load_head(head_name, device=device)
    layout = build_layout(head, uv_size or None)
    avatar = template_avatar(head, layout)
    rng = np.random.default_rng(0)
    drivers = [head.expression_names[i] for i in head.blend_drivers][:n_blend]
    avatar.blendmaps = (0.01 * rng.standard_normal((len(drivers), avatar.n_gaussians, 13))).astype(np.float32)
    avatar.blend_drivers = drivers
    return Animator(avatar, head, device), head


def frames_params(head, B: int, device, seed: int):
    from dejavu_cli.head.base import HeadParams

    g = torch.Generator().manual_seed(seed)
    expr = (torch.rand(B, head.n_expression, generator=g) * 0.5).to(device)
    rot = ((torch.rand(B, 3, generator=g) - 0.5) * 0.4).to(device)
    jaw = torch.zeros(B, 3, device=device) if head.has_jaw else None
    return HeadParams(expression=expr, jaw=jaw), rot, torch.zeros(B, 3, device=device)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batch(animator, head, B: int, size: int, device, repeat: int, backend: str = "auto") -> dict:
    """Best-of-``repeat`` seconds of one call for a batch of B frames: animate, splat and total."""
    from dejavu_cli.render.api import render

    best = {"animate": 1e9, "splat": 1e9, "total": 1e9}
    bg = torch.ones(3, device=device)
    Ks = torch.as_tensor(animator.avatar.intrinsics(size), device=device).expand(B, 3, 3)
    V = torch.as_tensor(animator.avatar.viewmat, dtype=torch.float32, device=device).expand(B, 4, 4)
    for r in range(repeat + 1):                                # first call: warm-up, not counted
        params, rot, tr = frames_params(head, B, device, seed=r)
        with torch.no_grad():
            sync(device)
            t0 = time.perf_counter()
            g = animator.gaussians(params, rot, tr)
            sync(device)
            t1 = time.perf_counter()
            render(g["means"], g["quats"], g["scales"], g["opacities"], g["colors"], V, Ks, size, size,
                   background=bg, backend=backend)
            sync(device)
            t2 = time.perf_counter()
        if r:
            best = {"animate": min(best["animate"], t1 - t0), "splat": min(best["splat"], t2 - t1),
                    "total": min(best["total"], t2 - t0)}
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--head", default="ict", help="ict (needs 'dejavu setup ict') or test")
    ap.add_argument("--uv-size", type=int, default=400, help="UV size (ICT 400 -> ~75k Gaussians)")
    ap.add_argument("--blendmaps", type=int, default=10)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batches", default="1,4", help="comma-separated batch sizes")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--backend", default="auto", choices=["auto", "kernel", "torch", "gsplat"],
                    help="renderer (auto: the compiled kernel on CPU, gsplat on CUDA)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    args = ap.parse_args()
    from dejavu_cli.device import configure_torch

    device = torch.device(args.device)
    configure_torch(device, args.threads)
    animator, head = make_animator(args.head, args.uv_size, args.blendmaps, device)
    N = animator.avatar.n_gaussians
    print(f"device={device.type} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores) torch={torch.__version__}")
    print(f"avatar: {args.head} UV {animator.layout.uv_size} -> {N} Gaussians, {args.blendmaps} blendmaps; "
          f"render {args.size}x{args.size}, backend {args.backend}")
    print(f"{'batch':>5} {'animate ms/frame':>17} {'splat ms/frame':>15} {'total ms/frame':>15} {'frames/s':>9}")
    for B in [int(b) for b in args.batches.split(",")]:
        t = time_batch(animator, head, B, args.size, device, args.repeat, args.backend)
        print(f"{B:>5} {1000 * t['animate'] / B:>17.1f} {1000 * t['splat'] / B:>15.1f} "
              f"{1000 * t['total'] / B:>15.1f} {B / t['total']:>9.2f}")


if __name__ == "__main__":
    main()
