"""Tracking throughput: decode, landmarks, fit, segmentation and total frames per second; prints numbers.

Runs the full ``track_video`` pipeline (no cache) on a video, with the head model set up beforehand
(``dejavu setup ict``). The correspondence derivation is warmed up first (it is cached per head model).
Frames/s of a stage = tracked frames / seconds spent in that stage; total = frames / wall time of the call
(incl. probing, hashing, head loading). Also prints the CPU seconds of the process. Never a test.

    python benchmarks/track.py [VIDEO] [--head ict] [--size 512] [--device cpu] [--every 1] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "talking_woman_15s.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    ap.add_argument("--head", default="ict")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    import torch

    from dejavu_cli.head.registry import load_head
    from dejavu_cli.io.video_reader import probe
    from dejavu_cli.track.api import jitter, track_video
    from dejavu_cli.track.config import TrackConfig
    from dejavu_cli.track.correspond import correspondence_for

    info = probe(args.video)
    print(f"video {args.video}: {info.n_frames} frames {info.size[0]}x{info.size[1]} @ {info.fps:.2f} fps, "
          f"codec {info.codec}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"torch threads {torch.get_num_threads()}, device {args.device}")
    correspondence_for(load_head(args.head, device=args.device))  # cached once per head model
    cfg = TrackConfig(head=args.head, size=args.size, device=args.device, every=args.every,
                      iterations=args.iterations)
    for r in range(args.repeat):
        tm: dict = {}
        c0, t0 = time.process_time(), time.perf_counter()
        track = track_video(args.video, cfg, timings=tm)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = track.T
        stages = "  ".join(f"{k} {n / v:7.1f}" for k, v in tm.items() if v > 0)
        print(f"run {r + 1}: {n} frames ({int(track.valid.sum())} with a face) in {wall:.2f} s wall, "
              f"{cpu:.2f} s cpu")
        print(f"  frames/s  {stages}  total {n / wall:7.1f}")
        print("  seconds   " + "  ".join(f"{k} {v:.2f}" for k, v in tm.items()))
        v = track.valid
        err = track.landmark_error[v]
        print(f"  landmark error {err.mean():.3f} px mean, {float(sorted(err)[int(0.95 * (len(err) - 1))]):.3f}"
              f" px p95 at {track.size}")
        import numpy as np

        for name, x in (("rotation deg", np.degrees(track.rotvec)), ("translation mm", track.translation * 1e3),
                        ("expression", track.expression)):
            step, acc = jitter(x, v)
            print(f"  jitter {name:15s} step {step:.4f}  2nd-diff {acc:.4f}")


if __name__ == "__main__":
    main()
