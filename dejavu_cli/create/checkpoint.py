"""Pickle-free training checkpoints for ``dejavu create --resume`` (``AVATAR.ckpt.npz``).

A checkpoint is a flat NPZ: tensors as arrays, the config and bookkeeping as a JSON string array. It is
written atomically, so an interrupted write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.npz import Field, check_fields, load_npz, require

SCHEMA = "dejavu.create-ckpt/1"


def checkpoint_path(output: str | Path) -> Path:
    """``a.npz`` -> ``a.ckpt.npz`` next to the output."""
    output = Path(output)
    stem = output.name[:-4] if output.name.endswith(".npz") else output.name
    return output.with_name(stem + ".ckpt.npz")


def save_checkpoint(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write ``arrays`` (name -> ndarray) and ``meta`` (JSON-serialisable) atomically."""
    payload = {f"a_{k}": np.ascontiguousarray(v) for k, v in arrays.items()}
    payload["meta"] = np.array(json.dumps({"schema": SCHEMA, **meta}))
    return save_npz_atomic(path, payload)


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Inverse of :func:`save_checkpoint`; :class:`DejavuError` for a missing or foreign file (the training
    state inside is checked by :func:`check_state`, which resuming runs)."""
    data = load_npz(path, what="create checkpoint")
    try:
        meta = json.loads(str(data["meta"]))
    except (KeyError, ValueError):
        raise DejavuError(f"{path} is not a dejavu create checkpoint") from None
    if not isinstance(meta, dict):
        raise DejavuError(f"{path}: field meta is not a JSON object (not a dejavu create checkpoint)")
    if meta.get("schema") != SCHEMA:
        raise DejavuError(f"{path} has schema {meta.get('schema')!r}, expected {SCHEMA}")
    arrays = {k[2:]: v for k, v in data.items() if k.startswith("a_")}
    return arrays, meta


#: The arrays of a create checkpoint (``a_`` prefix stripped); Adam moments are checked in :func:`check_state`.
STATE_SCHEMA = {"delta_global": Field("f", ("N", 13)), "blendmaps": Field("f", ("D", "N", 13), optional=True),
                "rng": Field("u", (None,))}


def check_state(arrays: dict[str, np.ndarray], meta: dict, where: str) -> None:
    """Shapes, dtypes and finite values of a checkpoint's training state; DejavuError naming the field."""
    check_fields(arrays, STATE_SCHEMA, where)
    param = arrays["blendmaps"] if "blendmaps" in arrays else arrays["delta_global"]
    for key in sorted(k for k in arrays if k.startswith("adam")):
        a = arrays[key]
        if key.endswith("_t"):
            require(a.dtype.kind in "fiu" and a.size == 1 and np.isfinite(a).all() and float(a.reshape(-1)[0]) >= 0,
                    where, f"field {key} must be a step count >= 0")
        else:
            require(a.dtype.kind == "f" and a.shape == param.shape, where,
                    f"field {key} has shape {list(a.shape)}, expected {list(param.shape)} (the optimized maps)")
            require(bool(np.isfinite(a).all()), where, f"field {key} has NaN or infinite values")
    step = meta.get("step")
    require(isinstance(step, int) and step >= 0, where, f"field meta.step must be an integer >= 0 (got {step!r})")
    hist = meta.get("history")
    require(isinstance(hist, dict) and all(isinstance(v, list) for v in hist.values()), where,
            "field meta.history must map names to lists")
    require(len(hist.get("step", [])) == step, where, f"field meta.history has {len(hist.get('step', []))} "
                                                      f"steps, meta.step says {step}")
    sec = meta.get("seconds")
    require(isinstance(sec, list) and len(sec) == 2 and all(isinstance(x, (int, float)) for x in sec), where,
            "field meta.seconds must be [stage 1, stage 2] seconds")


def adam_state_arrays(opt, prefix: str = "adam") -> dict[str, np.ndarray]:
    """Adam moments of every parameter of ``opt`` as arrays (in parameter order)."""
    out = {}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        st = opt.state.get(p, {})
        if st:
            out[f"{prefix}{i}_m"] = st["exp_avg"].detach().cpu().numpy().copy()
            out[f"{prefix}{i}_v"] = st["exp_avg_sq"].detach().cpu().numpy().copy()
            out[f"{prefix}{i}_t"] = np.asarray(float(st["step"]))
    return out


def restore_adam(opt, arrays: dict[str, np.ndarray], prefix: str = "adam") -> None:
    """Load the moments written by :func:`adam_state_arrays` into ``opt`` (same parameter order)."""
    for i, p in enumerate(opt.param_groups[0]["params"]):
        if f"{prefix}{i}_m" not in arrays:
            continue
        opt.state[p] = {
            "step": torch.tensor(float(np.asarray(arrays[f"{prefix}{i}_t"]).reshape(-1)[0])),
            "exp_avg": torch.tensor(arrays[f"{prefix}{i}_m"], device=p.device, dtype=p.dtype),
            "exp_avg_sq": torch.tensor(arrays[f"{prefix}{i}_v"], device=p.device, dtype=p.dtype),
        }
