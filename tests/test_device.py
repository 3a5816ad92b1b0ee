"""dejavu_cli.device: the torch process settings shared by every command and benchmark."""

from __future__ import annotations

import torch

from dejavu_cli.device import configure_torch


def test_configure_torch_threads_and_cpu_denormals():
    threads = torch.get_num_threads()
    try:
        torch.set_flush_denormal(False)
        configure_torch("cpu", threads=1)
        assert torch.get_num_threads() == 1
        assert float(torch.tensor([1e-40], dtype=torch.float32) * 1.0) == 0.0   # flushed to zero
        configure_torch(torch.device("cpu"))                                      # 0: threads left as they are
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(True)
