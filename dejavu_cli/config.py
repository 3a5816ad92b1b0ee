"""Dataclass configs whose fields become the CLI options (nerfstudio style): one declaration per option.

A field declared with :func:`knob` carries its default, help text and the values it accepts; the command
builds its option from it with :func:`option`, and the library checks a config built in Python with
:func:`check_config`. So the help a user reads, the default the library uses and the range both enforce
are written once::

    @dataclass
    class CreateConfig:
        steps: int = knob(300, "Total optimization steps.", min=1)

    def create(steps: int = option(CreateConfig, "steps")): ...

This module imports no torch, numpy or cv2: the CLI builds its help from it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dejavu_cli.errors import DejavuError

_MISSING = object()

#: The help of every ``--device`` option (one rule: dejavu_cli.device.resolve_device).
DEVICE_HELP = "Device: auto (a CUDA GPU when there is one, else the CPU), cpu, cuda or cuda:N."


def check_device_name(name: str) -> str:
    """``name`` when it is auto, cpu, cuda or cuda:N (whether that device exists is resolve_device's call)."""
    key = str(name).strip().lower()
    if key in ("auto", "cpu", "cuda") or (key.startswith("cuda:") and key[5:].isdigit()):
        return key
    raise DejavuError(f"--device must be auto, cpu, cuda or cuda:N (got {name!r})")


def knob(default: Any, help: str, *, min: float | None = None, max: float | None = None,
         choices: tuple | list | None = None, metavar: str | None = None) -> Any:
    """A dataclass field with a default, a help string and optional limits (kept in ``metadata``).

    ``min``/``max`` bound numbers (inclusive); ``choices`` lists the accepted values; ``metavar`` names the
    value in the help (default: from the type and choices).
    """
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
            "metavar": metavar}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _field(cls: type, name: str) -> dataclasses.Field:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def default_of(cls: type, name: str) -> Any:
    f = _field(cls, name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    raise KeyError(f"{cls.__name__}.{name} has no default")


def flag_of(name: str) -> str:
    """The CLI flag of field ``name``: ``uv_size`` -> ``--uv-size``."""
    return "--" + name.replace("_", "-")


def limits_text(meta: dict) -> str:
    """``"16-1024"``, ``">= 1"``, ``"fast|paper"`` or ``""`` for a field's metadata."""
    if meta.get("choices"):
        return "|".join(str(c) for c in meta["choices"])
    lo, hi = (_num(meta.get(k)) for k in ("min", "max"))
    if lo is not None and hi is not None:
        return f"{lo}-{hi}"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    return ""


def _num(x) -> str | None:
    """``1000000`` -> ``"1000000"``, ``0.5`` -> ``"0.5"`` (never an exponent for whole numbers)."""
    if x is None:
        return None
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _metavar(f: dataclasses.Field) -> str | None:
    meta = f.metadata
    if meta.get("metavar"):
        return meta["metavar"]
    if meta.get("choices"):
        return "[" + "|".join(str(c) for c in meta["choices"]) + "]"
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    return {"int": "N", "float": "X", "str": "TEXT"}.get(kind.replace("Optional[", "").rstrip("]").split(" |")[0])


def option(cls: type, name: str, *flags: str, default: Any = _MISSING, help: str | None = None,
           extra_help: str = "", hidden: bool = False, metavar: str | None = None):
    """The ``typer.Option`` of field ``name`` of ``cls``: its default (or ``default``), help text and
    accepted values. ``flags`` default to ``--field-name``; booleans get ``--x/--no-x`` when their default
    is True. ``help`` replaces the field's help, ``extra_help`` is appended."""
    import typer  # noqa: PLC0415 - config classes are imported by the library too, which needs no typer

    f = _field(cls, name)
    value = default_of(cls, name) if default is _MISSING else default
    decls = list(flags) or [flag_of(name)]
    if f.type in (bool, "bool") and len(decls) == 1 and "/" not in decls[0] and default_of(cls, name) is True:
        decls = [f"{decls[0]}/--no-{decls[0][2:]}"]
    text = (help if help is not None else f.metadata.get("help", "")) + (f" {extra_help}" if extra_help else "")
    lim = limits_text(f.metadata)
    if lim and not f.metadata.get("choices"):
        text += f" Range: {lim}."
    kw = {}
    if f.type not in (bool, "bool"):
        kw["metavar"] = metavar or _metavar(f)
    return typer.Option(value, *decls, help=text, hidden=hidden, **kw)


def check_config(cfg: Any, names: tuple[str, ...] | None = None) -> None:
    """Raise :class:`DejavuError` (naming the CLI flag) for a field outside its declared limits."""
    for f in dataclasses.fields(cfg):
        if names is not None and f.name not in names:
            continue
        meta, value = f.metadata, getattr(cfg, f.name)
        if value is None:
            continue
        flag = flag_of(f.name)
        if meta.get("choices") and value not in meta["choices"]:
            raise DejavuError(f"{flag} must be one of {', '.join(map(str, meta['choices']))} (got {value!r})")
        lo, hi = meta.get("min"), meta.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise DejavuError(f"{flag} must be {limits_text(meta)} (got {value})")
