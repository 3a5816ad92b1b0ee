"""The CUDA backend: one batched ``gsplat.rasterization`` call with settings matching our contract.

``packed=False`` (faster for head-sized scenes), ``rasterize_mode="classic"``, ``sh_degree=None`` (colors
are RGB), ``render_mode="RGB+D"`` (accumulated, alpha-weighted depth, not divided by alpha), one camera
per batch element (``viewmats [B, 1, 4, 4]``), per-image backgrounds.

gsplat is imported lazily (it is slow to import, and from PyPI it JIT-compiles its CUDA kernels on first
use). :func:`gsplat_status` is the one place that touches gsplat's private modules: it says, once per
process, whether the kernels load and, when not, why and how to fix it. Callers fall back to the PyTorch
rasterizer on the same device (docs/rendering.md#choosing-the-backend).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys

import torch

#: The gsplat release the call below (and our projection constants) were written against; pinned in
#: pyproject.toml.
GSPLAT_VERSION = "1.5.3"

#: The reason given when there is no GPU at all (nothing to fall back from).
NO_GPU = "no CUDA GPU is available"
FIX = "run `dejavu setup gpu` to build it and see the details"


def _kernels_prebuilt() -> bool:
    """True when gsplat's CUDA kernels exist already (a wheel's ``gsplat.csrc`` or a finished JIT build),
    so loading them takes seconds, not minutes."""
    try:
        if importlib.util.find_spec("gsplat.csrc") is not None:
            return True
        from torch.utils.cpp_extension import _get_build_directory

        build = _get_build_directory("gsplat_cuda", verbose=False)
        return any(os.path.exists(os.path.join(build, f"gsplat_cuda{ext}")) for ext in (".so", ".lib"))
    except Exception:  # noqa: BLE001 - unknown layout: assume a build is needed
        return False


@functools.cache
def gsplat_status() -> tuple[bool, str]:
    """``(ok, reason)``: whether gsplat's CUDA kernels load and run here (cached for the process).

    ``reason`` is one line naming the problem and the fix when ``ok`` is False. A first build (minutes)
    is announced with a status line on stderr before it starts.
    """
    if not torch.cuda.is_available():
        return False, NO_GPU
    if importlib.util.find_spec("gsplat") is None:
        return False, f"gsplat is not installed (pip install gsplat=={GSPLAT_VERSION})"
    try:
        import gsplat
    except Exception as exc:  # noqa: BLE001
        return False, f"gsplat does not import ({_line(exc)}); reinstall gsplat=={GSPLAT_VERSION}"
    version = getattr(gsplat, "__version__", "?")
    if version != GSPLAT_VERSION:
        return False, (f"gsplat {version} is installed but dejavu is written against {GSPLAT_VERSION} "
                       f"(pip install gsplat=={GSPLAT_VERSION})")
    if not _kernels_prebuilt():
        print("building gsplat's CUDA kernels (first use only; takes a few minutes and needs nvcc; "
              "`dejavu setup gpu` does it ahead of time)...", file=sys.stderr, flush=True)
    try:
        from gsplat.cuda._backend import _C  # the only use of a private gsplat module
    except Exception as exc:  # noqa: BLE001 - compile or load failure
        return False, f"gsplat's CUDA kernels failed to build or load ({_line(exc)}); {FIX}"
    if _C is None:
        return False, ("gsplat's CUDA kernels could not be built: no CUDA toolkit (nvcc) found; install the "
                       "CUDA toolkit matching torch.version.cuda and set CUDA_HOME, then `dejavu setup gpu`")
    try:  # a tiny render catches kernels built for another GPU architecture
        _smoke_test()
    except Exception as exc:  # noqa: BLE001
        return False, f"gsplat's CUDA kernels do not run on this GPU ({_line(exc)}); {FIX}"
    return True, ""


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _smoke_test() -> None:
    dev = torch.device("cuda")
    means = torch.tensor([[[0.0, 0.0, 1.0]]], device=dev)
    quats = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]], device=dev)
    scales = torch.full((1, 1, 3), 0.01, device=dev)
    K = torch.tensor([[[16.0, 0, 8], [0, 16.0, 8], [0, 0, 1]]], device=dev)
    rgb, _, _ = rasterize_gsplat(means, quats, scales, torch.ones(1, 1, device=dev), torch.ones(1, 1, 3, device=dev),
                                 torch.eye(4, device=dev)[None], K, 16, 16, torch.zeros(1, 3, device=dev),
                                 0.01, 1e10, 0.3)
    torch.cuda.synchronize()
    if not bool(torch.isfinite(rgb).all()):
        raise RuntimeError("non-finite test render")


def gsplat_available(device: torch.device | str) -> bool:
    """True when ``device`` is CUDA and gsplat's CUDA kernels load and run."""
    return torch.device(device).type == "cuda" and gsplat_status()[0]


def rasterize_gsplat(means, quats, scales, opacities, colors, viewmats, Ks, width: int, height: int,
                     background: torch.Tensor, near: float, far: float, eps2d: float):
    """``(rgb [B, H, W, 3], alpha [B, H, W, 1], depth [B, H, W, 1])``; ``background`` is [B, 3].

    gsplat's batch convention: Gaussians ``[B, N, ...]``, cameras ``[B, C, ...]`` with C = 1 here.
    """
    from gsplat import rasterization

    render, alpha, _ = rasterization(
        means, quats, scales, opacities, colors, viewmats[:, None], Ks[:, None], width, height,
        near_plane=near, far_plane=far, eps2d=eps2d, sh_degree=None, packed=False, tile_size=16,
        backgrounds=background[:, None], render_mode="RGB+D", rasterize_mode="classic")
    return render[:, 0, ..., :3], alpha[:, 0], render[:, 0, ..., 3:4]
