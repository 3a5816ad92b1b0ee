"""Every head model dejavu knows, registered once: :data:`HEADS`.

A :class:`HeadSpec` declares all that the rest of the pipeline asks of a head model by name: how to load
it, whether it is ready and how to get it, its default UV size and UV rule (``uv.layout``), and its
tracking specifics (expression bounds for the landmark fit). Adding a head model means a module in
``head/`` for its arrays and class, one entry here, and tests; nothing outside ``head/`` tests names.

This module is light (no torch at import): the CLI reads :func:`user_heads` and :func:`default_uv_size`
to build its help. Loaders import their model module when called.

ICT-FaceKit and FLAME are converted once by ``dejavu setup`` into ``$DEJAVU_HOME/heads/<name>.npz``;
the procedural test head is built in memory and hidden from users.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.paths import head_path


@dataclass(frozen=True)
class HeadSpec:
    name: str
    title: str
    #: one line: how to get the model (errors and ``dejavu setup`` print it)
    how_to: str
    #: UV map size S used when none is given (Gaussian count ~ S^2 x the map's fill)
    default_uv_size: int
    #: ``uv.layout`` rule that binds texels to the mesh: "atlas" (UDIM tiles packed into one square,
    #: folds resolved) or "flame_rule" (the authors' rule: neck rows removed, mouth funnel)
    uv_rule: str
    #: (low, high) bounds of the expression coefficients in the landmark fit, None for unbounded
    expression_bounds: tuple[float, float] | None
    #: ``load(device) -> HeadModel``; raises DejavuError when the model is not set up
    load: Callable
    #: converted on disk by ``dejavu setup NAME`` (False: built in memory, always ready)
    converted: bool = True
    #: listed in help texts and ``dejavu setup`` (the test head is not)
    public: bool = True
    #: ``fetch()`` sets the model up without user files (download; ``dejavu demo`` calls it), else None
    fetch: Callable | None = None


def _load_converted(name: str, make: Callable, device):
    path = head_path(name)
    spec = HEADS[name]
    if not path.exists():
        raise DejavuError(f"{spec.title} is not set up: run `dejavu setup {name}`"
                          + ("" if name == DEFAULT_HEAD else f" ({spec.how_to})"))
    from dejavu_cli.io.npz import load_npz  # noqa: PLC0415 - numpy only when a model is loaded

    return make(load_npz(path, what=f"{spec.title} head model"), device)


def _load_ict(device):
    from dejavu_cli.head.ict import ICTHead  # noqa: PLC0415 - registry stays torch-free for --help

    return _load_converted("ict", lambda arrays, dev: ICTHead(arrays, device=dev), device)


def _load_flame(device):
    from dejavu_cli.head.skinned import SkinnedHead  # noqa: PLC0415 - see above

    return _load_converted("flame", lambda arrays, dev: SkinnedHead(arrays, name="flame", device=dev), device)


def _fetch_ict():
    from dejavu_cli.head.ict import setup_ict  # noqa: PLC0415 - see above

    return setup_ict()


def _load_test(device):
    from dejavu_cli.head.testhead import load_test_head  # noqa: PLC0415 - see above

    return load_test_head(device)


DEFAULT_HEAD = "ict"

HEADS: dict[str, HeadSpec] = {
    "ict": HeadSpec(
        name="ict", title="ICT-FaceKit",
        how_to="run `dejavu setup ict` (downloads ICT-FaceKit, MIT licence, ~120 MB) or "
               "`dejavu setup ict --archive ICT-FaceKit-<commit>.zip`",
        # 74,681 Gaussians at 400: the same order as FLAME's 74,083 at 320
        default_uv_size=400, uv_rule="atlas", expression_bounds=(0.0, 1.0), load=_load_ict,
        fetch=_fetch_ict),
    "flame": HeadSpec(
        name="flame", title="FLAME",
        how_to="register at https://flame.is.tue.mpg.de, download FLAME 2020/2023, then run "
               "`dejavu setup flame PATH/TO/generic_model.pkl`",
        default_uv_size=320, uv_rule="flame_rule", expression_bounds=None, load=_load_flame),
    "test": HeadSpec(
        name="test", title="test head", how_to="always available (procedural test head)",
        default_uv_size=96, uv_rule="atlas", expression_bounds=None, load=_load_test, converted=False,
        public=False),
}


def spec(name: str) -> HeadSpec:
    """The registration of head model ``name`` (one-line error for unknown names)."""
    key = str(name).lower()
    if key not in HEADS:
        raise DejavuError(f"unknown head model {name!r}; choose one of: {', '.join(user_heads())}")
    return HEADS[key]


def user_heads() -> list[str]:
    """Names users may choose (help texts, errors); the test head is accepted but not listed."""
    return [n for n, s in HEADS.items() if s.public]


def default_uv_size(name: str) -> int:
    return spec(name).default_uv_size


def head_help() -> str:
    """The help text of every ``--head`` option."""
    return ("Head model: " + " or ".join(user_heads()) + f" (default {DEFAULT_HEAD}; see `dejavu setup`).")


def uv_size_help() -> str:
    """The help text of every ``--uv-size`` option."""
    sizes = ", ".join(f"{n} {HEADS[n].default_uv_size}" for n in user_heads())
    return f"UV map size S (Gaussians ~ S^2 x fill); 0 or none: the head's default ({sizes})."


def is_ready(name: str) -> bool:
    s = spec(name)
    return not s.converted or head_path(s.name).exists()


def counts(name: str) -> tuple[int, int, int] | None:
    """(vertices, identity, expression) of a ready model without loading its bases; None if not set up."""
    s = spec(name)
    if not s.converted:
        head = s.load("cpu")
        return head.n_vertices, head.n_identity, head.n_expression
    path = head_path(s.name)
    if not path.exists():
        return None
    import numpy as np  # noqa: PLC0415 - see the module docstring

    try:
        with np.load(path, allow_pickle=False) as data:
            return tuple(int(x) for x in data["counts"])  # type: ignore[return-value]
    except Exception:  # unreadable or old cache: report it as not ready
        return None


def describe(name: str) -> str:
    c = counts(name)
    return "not set up" if c is None else f"{c[0]:,} vertices, {c[1]} identity, {c[2]} expression"


def status_lines() -> list[str]:
    """One line per public head model: ready or not, counts, and how to get it (``dejavu setup``)."""
    lines = []
    for name in user_heads():
        s = HEADS[name]
        c = counts(name)
        if c is None:
            lines.append(f"{name:<6} not set up: {s.how_to}")
        else:
            lines.append(f"{name:<6} ready: {s.title}, {describe(name)} ({head_path(name)})")
    return lines


def load_head(name: str = DEFAULT_HEAD, device="cpu"):
    """The head model ``name`` as a :class:`~dejavu_cli.head.base.HeadModel` on ``device``."""
    return spec(name).load(device)


def model_path(name: str) -> Path:
    """Where the converted model ``name`` is cached (``dejavu setup`` writes it)."""
    return head_path(spec(name).name)
