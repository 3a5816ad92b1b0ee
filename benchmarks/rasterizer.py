"""Rasterizer speed and memory on a head-sized scene; prints numbers (never a test).

Scene: N Gaussians on a shell of radius 0.1 m around the origin (a head), seen by the default camera
(1 m, 20 deg field of view); scales 1-3 mm (log-uniform per axis), random rotations, opacity U(0.3, 1),
random colours. Loss = sum of rgb * fixed random weights + depth + alpha, so every channel gets a gradient.

    python benchmarks/rasterizer.py --n 75000 --size 256 [--batch 1] [--backend torch|kernel|gsplat|auto]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import time

import torch


def head_scene(n: int, batch: int, size: int, device, dtype=torch.float32, seed: int = 0):
    from dejavu_cli.render import camera

    g = torch.Generator().manual_seed(seed)
    d = torch.nn.functional.normalize(torch.randn(batch, n, 3, generator=g), dim=-1)
    means = 0.1 * d
    quats = torch.randn(batch, n, 4, generator=g)
    scales = torch.exp(torch.empty(batch, n, 3).uniform_(math.log(1e-3), math.log(3e-3), generator=g))
    opac = torch.empty(batch, n).uniform_(0.3, 1.0, generator=g)
    colors = torch.rand(batch, n, 3, generator=g)
    V = camera.default_viewmat()[None].repeat(batch, 1, 1)
    K = camera.intrinsics(camera.focal_from_fov(camera.DEFAULT_FOV_DEG, size), size, size)[None].repeat(batch, 1, 1)
    return [t.to(device=device, dtype=dtype) for t in (means, quats, scales, opac, colors, V, K)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=75_000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", default="torch", choices=["torch", "kernel", "gsplat", "auto"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    ap.add_argument("--chunk", type=int, default=0, help="compositing chunk (torch backend; 0: default)")
    ap.add_argument("--tile", type=int, default=0, help="tile edge (torch backend; 0: default)")
    args = ap.parse_args()
    from dejavu_cli.device import configure_torch

    configure_torch(args.device, args.threads)
    from dejavu_cli.render import composite
    from dejavu_cli.render.api import render
    from dejavu_cli.render.torch_raster import TILE, rasterize

    dev = torch.device(args.device)
    scene = head_scene(args.n, args.batch, args.size, dev)
    params = [t.requires_grad_() for t in scene[:5]]
    w = torch.rand(args.batch, args.size, args.size, 3, generator=torch.Generator().manual_seed(1)).to(dev)
    kw = {}
    if args.chunk:
        kw["chunk"] = args.chunk
    if args.tile:
        kw["tile"] = args.tile

    def run(grad: bool):
        with torch.set_grad_enabled(grad):
            if args.backend == "torch" and kw:
                f, a = rasterize(*params, *scene[5:], args.size, args.size, **kw)
                rgb, depth = f[..., :3] + (1 - a), f[..., 3:]
            else:
                out = render(*params, *scene[5:], args.size, args.size, backend=args.backend)
                rgb, a, depth = out.rgb, out.alpha, out.depth
            loss = (rgb * w).sum() + depth.sum() + a.sum()
            if grad:
                loss.backward()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def timed(grad: bool) -> float:
        run(grad)  # warm-up
        best = float("inf")
        for _ in range(args.repeat):
            for p in params:
                p.grad = None
            t0 = time.perf_counter()
            run(grad)
            best = min(best, time.perf_counter() - t0)
        return best

    stats = {}
    tile_shown = args.tile or TILE
    with torch.no_grad():
        if args.backend == "kernel":  # imported here: the GPU kit's machine has no numba
            from dejavu_cli.render.kernel_raster import KERNEL_TILE, rasterize_kernel

            tile_shown = KERNEL_TILE
            rasterize_kernel(*scene[:5], *scene[5:], args.size, args.size, stats=stats)
        else:
            rasterize(*scene[:5], *scene[5:], args.size, args.size, stats=stats, **kw)
    t_fwd, t_both = timed(False), timed(True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {dev}"
          + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""))
    print(f"scene: n={args.n} batch={args.batch} size={args.size} backend={args.backend} "
          + (f"tile={tile_shown}" if args.backend == "kernel" else
             f"chunk={args.chunk or 32} tile={tile_shown} pair_budget={composite.PAIR_BUDGET}"))
    print(f"visible={stats['visible']} intersections={stats['intersections']}")
    print(f"fwd_s={t_fwd:.3f} fwd_bwd_s={t_both:.3f} (best of {args.repeat})")
    print(f"peak_rss_mb={peak_rss_mb():.0f}"
          + (f" peak_cuda_mb={torch.cuda.max_memory_allocated(dev) / 2**20:.0f}" if dev.type == "cuda" else ""))


if __name__ == "__main__":
    main()
