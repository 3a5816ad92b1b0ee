"""Dataclass configs whose field help becomes the CLI help text (nerfstudio style).

Library code takes a config dataclass; the CLI builds options from the same fields, so the help a user
reads and the default the library uses are written once::

    @dataclass
    class CreateConfig:
        steps: int = knob(600, "Total optimization steps (stage 1 + stage 2, split 3:7).")

    typer.Option(CreateConfig.steps_default, help=help_of(CreateConfig, "steps"))
"""

from __future__ import annotations

import dataclasses
from typing import Any


def knob(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with a default and a help string (stored in ``metadata['help']``)."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


def help_of(cls: type, name: str) -> str:
    """The help string of field ``name`` of dataclass ``cls``, with its default appended."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("help", "")
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def default_of(cls: type, name: str) -> Any:
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                return f.default_factory()  # type: ignore[misc]
            raise KeyError(f"{cls.__name__}.{name} has no default")
    raise KeyError(f"{cls.__name__} has no field {name!r}")
