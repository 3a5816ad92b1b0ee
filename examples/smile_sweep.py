"""Drive an avatar from Python: sweep one expression while the head turns, write an MP4.

    python examples/smile_sweep.py me.npz sweep.mp4 [--expression mouthSmile_L] [--frames 60] [--size 256]

Uses the same library calls as ``dejavu reenact`` (docs/architecture.md): the avatar file, its head model,
the Animator (head model + UV gathers + blendmaps -> Gaussians -> render) and the atomic video writer.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from dejavu_cli.avatar.animate import Animator
from dejavu_cli.avatar.file import load_avatar
from dejavu_cli.device import resolve_device
from dejavu_cli.head.registry import load_head
from dejavu_cli.io.video_writer import write_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("avatar")
    ap.add_argument("output")
    ap.add_argument("--expression", default=None, help="expression to sweep (default: the first blend driver)")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    torch.set_flush_denormal(True)

    device = resolve_device(args.device)
    avatar = load_avatar(args.avatar)
    head = load_head(avatar.head, device=device)
    animator = Animator(avatar, head, device)
    name = args.expression or avatar.blend_drivers[0]
    k = animator.expression_index(name)

    T = args.frames
    t = torch.linspace(0, 1, T, device=device)
    params = animator.neutral(T)
    params.expression[:, k] = torch.sin(math.pi * t)            # 0 -> 1 -> 0
    rotvec = torch.zeros(T, 3, device=device)
    rotvec[:, 1] = 0.35 * torch.sin(2 * math.pi * t)            # yaw +-20 degrees

    def frames():
        for lo in range(0, T, 8):
            hi = min(T, lo + 8)
            sub = type(params)(*(None if v is None else v[lo:hi] for v in vars(params).values()))
            with torch.no_grad():
                out = animator.render(sub, rotvec=rotvec[lo:hi], size=args.size)
            yield from (out.rgb.clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)

    write_video(args.output, frames(), 30, (args.size, args.size))
    print(f"{T} frames sweeping {name!r} -> {args.output}")


if __name__ == "__main__":
    main()
