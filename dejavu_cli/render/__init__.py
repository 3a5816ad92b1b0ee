"""Gaussian rendering: one contract, three backends (gsplat on CUDA, the compiled CPU kernel, and our
pure-PyTorch tile rasterizer, the readable twin and oracle of both).

See :func:`dejavu_cli.render.api.render` and docs/conventions.md (camera axes, pixel centres).
"""
