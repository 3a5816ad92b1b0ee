"""Gaussian rendering: one contract, two backends (gsplat on CUDA, our pure-PyTorch tile rasterizer).

See :func:`dejavu_cli.render.api.render` and docs/conventions.md (camera axes, pixel centres).
"""
