"""Forward/backward time of the reconstruction network (paper config, 8.58 M parameters).

    python benchmarks/recon_network.py [--batch 1] [--uv 320] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import torch

from dejavu_cli.recon.network import ReconNet, ReconNetConfig, count_parameters


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--uv", type=int, default=320)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    net = ReconNet(ReconNetConfig(uv_size=a.uv)).to(a.device)
    x = torch.rand(a.batch, 3, 320, 320, device=a.device) * 2 - 1
    uv = torch.randn(a.batch, 3, a.uv, a.uv, device=a.device) * 0.1
    print(f"parameters {count_parameters(net):,}  threads {torch.get_num_threads()}  device {a.device}")
    with torch.no_grad():
        net(x, uv)
        t = time.perf_counter()
        for _ in range(a.repeat):
            net(x, uv)
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()
        print(f"forward  batch {a.batch}: {(time.perf_counter() - t) / a.repeat * 1000:.0f} ms")
    t = time.perf_counter()
    for _ in range(a.repeat):
        net(x, uv).square().mean().backward()
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    print(f"fwd+bwd  batch {a.batch}: {(time.perf_counter() - t) / a.repeat * 1000:.0f} ms")


if __name__ == "__main__":
    main()
