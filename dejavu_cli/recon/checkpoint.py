"""Reconstruction-network checkpoint files: save, load (``weights_only=True``), layout check.

A checkpoint is a ``torch.save`` dict of tensors and plain values only (loadable with
``torch.load(weights_only=True)``)::

    format   "dejavu.recon/1"
    config   ReconNetConfig.to_dict()
    model    state_dict of ReconNet
    head     head-model name the network was trained for ("ict", "flame", "test")
    uv_size  S
    layout   UVLayout.check: 16 hex digits identifying the UV layout (head, S, texel binding)
    step     training step (int)
    optimizer, schedule (optional; training resume only)

A network predicts offsets for one UV layout: loading it for another head model or UV size raises a
:class:`DejavuError` that names both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import atomic_path
from dejavu_cli.recon import registry_ckpt
from dejavu_cli.recon.network import ReconNet, ReconNetConfig

FORMAT = "dejavu.recon/1"


def layout_check(layout) -> str:
    """The layout's check value (``UVLayout.check``: 16 hex digits over head name, S and texel binding)."""
    check = getattr(layout, "check", None)
    if not check:
        raise TypeError("UV layout has no 'check' value (dejavu_cli.uv.layout.UVLayout expected)")
    return str(check)


def describe_layout(head: str, uv_size: int, check: str) -> str:
    return f"head {head!r}, UV size {uv_size} (layout {check})"


def save_checkpoint(path: str | os.PathLike, net: ReconNet, head: str, layout_id: str, step: int = 0,
                    **extra) -> Path:
    """Write a checkpoint atomically. ``extra`` holds optimizer/schedule state (tensors, plain values)."""
    module = net.module if hasattr(net, "module") else net
    state = {"format": FORMAT, "config": module.cfg.to_dict(), "head": head, "uv_size": module.cfg.uv_size,
             "layout": layout_id, "step": int(step),
             "model": {k: v.detach().cpu() for k, v in module.state_dict().items()}}
    state.update(extra)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)
    return Path(path)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict, loaded with ``weights_only=True``; one-line errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise DejavuError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError (zip), EOFError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DejavuError(f"{path} is not a loadable dejavu checkpoint (weights_only load refused or file "
                          f"damaged): {first}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DejavuError(f"{path} is not a dejavu reconstruction checkpoint (format {FORMAT} expected)")
    check_metadata(state, str(path))
    return state


def check_metadata(state: dict, where: str) -> None:
    """Types and ranges of a checkpoint's metadata and finite weights; DejavuError naming the field."""
    checks = {
        "head": lambda v: isinstance(v, str) and 0 < len(v) <= 64,
        "uv_size": lambda v: isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= 4096,
        "layout": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{16}", v) is not None,
        "step": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "config": lambda v: isinstance(v, dict),
        "model": lambda v: isinstance(v, dict) and all(isinstance(t, torch.Tensor) for t in v.values()),
    }
    for name, ok in checks.items():
        if name not in state:
            raise DejavuError(f"{where}: field {name} is missing (damaged reconstruction checkpoint)")
        if not ok(state[name]):
            raise DejavuError(f"{where}: field {name} has an invalid value {_short(state[name])}")
    for key, t in state["model"].items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise DejavuError(f"{where}: field model.{key} has NaN or infinite weights")


def _short(value) -> str:
    text = repr(value) if not isinstance(value, (dict, torch.Tensor)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def check_layout(meta_head: str, meta_uv: int, meta_layout: str, layout, what: str) -> None:
    """Refuse a checkpoint trained for another head model / UV layout than ``layout``."""
    head = str(getattr(layout, "head_name", ""))
    want = layout_check(layout)
    if meta_layout != want:
        raise DejavuError(f"{what} was trained for {describe_layout(meta_head, meta_uv, meta_layout)} but this "
                          f"avatar uses {describe_layout(head, layout.uv_size, want)}; use a checkpoint "
                          f"trained for this head model and --uv-size, or none")


def resolve_checkpoint(name_or_path: str | os.PathLike, layout=None, quiet: bool = False) -> Path:
    """A local checkpoint path from a file path or a ``weights.toml`` name (downloaded if needed)."""
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p

    if any(sep in str(name_or_path) for sep in ("/", "\\")) or p.suffix in (".pt", ".pth"):
        raise DejavuError(f"checkpoint not found: {p}")
    entry = registry_ckpt.get_checkpoint(str(name_or_path))
    if layout is not None:
        check_layout(entry.head, entry.uv_size, entry.layout, layout, f"checkpoint {entry.name!r}")
    return registry_ckpt.fetch_checkpoint(entry, quiet=quiet)


def load_checkpoint(name_or_path: str | os.PathLike, layout=None, device: str | torch.device = "cpu",
                    quiet: bool = False) -> tuple[ReconNet, dict]:
    """(network in eval mode, checkpoint metadata) for a path or registry name.

    With ``layout`` given, a checkpoint trained for another head model or UV layout is refused.
    """
    path = resolve_checkpoint(name_or_path, layout, quiet=quiet)
    state = read_checkpoint(path)
    what = f"checkpoint {path.name}"
    if layout is not None:
        check_layout(str(state.get("head")), int(state.get("uv_size", -1)), str(state.get("layout")), layout, what)
    try:
        net = ReconNet(ReconNetConfig.from_dict(state["config"]))
        net.load_state_dict(state["model"], strict=True)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise DejavuError(f"{what} does not match the network definition: {str(exc).splitlines()[0]}") from None
    meta = {k: v for k, v in state.items() if k not in ("model", "optimizer")}
    meta["path"] = str(path)
    return net.to(device).eval(), meta
