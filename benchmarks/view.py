"""`dejavu view` update rate: a control change -> animate -> splat arrays -> sent to the browser; prints numbers.

The viewer (viser server on 127.0.0.1, no browser needed: the server serializes and queues every update the
same way) of an avatar file, or of the head model's template at ``--uv-size`` (ICT: 128 -> 7,631 Gaussians,
the fast preset's count; 400 -> 74,681), steps through expression presets and head poses ``--updates`` times
and reports updates per second and the split between animation and sending. Never a test.

    python benchmarks/view.py [--avatar A.npz | --uv-size 128,400] [--updates 40] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(animator, n: int) -> dict:
    from dejavu_cli.view import server as view_server

    viewer = view_server.AvatarViewer(animator, port=free_port())
    presets = ["smile", "surprise", "frown", "blink", "neutral"] if any(
        not s.label.isdigit() for s in viewer.sliders) else ["neutral"]
    try:
        times, t_anim = [], []
        for i in range(n):
            viewer.apply_preset(presets[i % len(presets)])
            viewer.yaw.value = float((i * 7) % 60 - 30)
            t0 = time.perf_counter()
            params, rot = viewer.current_params()
            with torch.no_grad():
                animator.gaussians(params, rot)
            t_anim.append(time.perf_counter() - t0)
            times.append(viewer.update())
    finally:
        viewer.stop()
    times.sort()
    t_anim.sort()
    med = times[len(times) // 2]
    return {"median_s": med, "animate_s": t_anim[len(t_anim) // 2], "ups": 1.0 / med}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatar", default="", help="avatar file (default: templates at --uv-size)")
    ap.add_argument("--head", default="ict")
    ap.add_argument("--uv-size", default="128,400")
    ap.add_argument("--updates", type=int, default=40)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    from dejavu_cli.avatar.animate import Animator
    from dejavu_cli.avatar.file import load_avatar, template_avatar
    from dejavu_cli.device import configure_torch
    from dejavu_cli.head.registry import load_head
    from dejavu_cli.uv.layout import build_layout

    device = torch.device(args.device)
    configure_torch(device)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {device}")
    if args.avatar:
        avatar = load_avatar(args.avatar)
        avatars = [(args.avatar, avatar, load_head(avatar.head, device=device))]
    else:
        head = load_head(args.head, device=device)
        avatars = [(f"{args.head} template UV {s}", template_avatar(head, build_layout(head, int(s))), head)
                   for s in args.uv_size.split(",")]
    print(f"{'avatar':<28} {'Gaussians':>9} {'update ms':>10} {'animate ms':>11} {'updates/s':>10}")
    for name, avatar, head in avatars:
        r = measure(Animator(avatar, head, device), args.updates)
        print(f"{name:<28} {avatar.n_gaussians:>9,} {1000 * r['median_s']:>10.1f} {1000 * r['animate_s']:>11.1f} "
              f"{r['ups']:>10.1f}")


if __name__ == "__main__":
    main()
