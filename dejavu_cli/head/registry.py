"""Load a head model by name: ``load_head("ict" | "flame" | "test", device)``.

ICT-FaceKit and FLAME are converted once by ``dejavu setup`` into ``$DEJAVU_HOME/heads/<name>.npz``;
the test head is procedural and always available.
"""

from __future__ import annotations

from pathlib import Path

from dejavu_cli.errors import DejavuError

HEADS = ("ict", "flame", "test")

#: how to get each model, one line (shown by errors and by ``dejavu setup``)
HOW_TO = {
    "ict": "run `dejavu setup ict` (downloads ICT-FaceKit, MIT licence, ~120 MB) or "
           "`dejavu setup ict --archive ICT-FaceKit-<commit>.zip`",
    "flame": "register at https://flame.is.tue.mpg.de, download FLAME 2020/2023, then run "
             "`dejavu setup flame PATH/TO/generic_model.pkl`",
    "test": "always available (procedural test head)",
}
_TITLES = {"ict": "ICT-FaceKit", "flame": "FLAME", "test": "test head"}


def head_path(name: str) -> Path:
    """Where the converted model ``name`` is cached."""
    from dejavu_cli.home import home_subdir

    return home_subdir("heads") / f"{name}.npz"


def is_ready(name: str) -> bool:
    return name == "test" or head_path(_check(name)).exists()


def counts(name: str) -> tuple[int, int, int] | None:
    """(vertices, identity, expression) of a ready model without loading its bases; None if not set up."""
    name = _check(name)
    if name == "test":
        from dejavu_cli.head.testhead import build_test_head

        a = build_test_head()
        return len(a["template"]), len(a["shape_basis"]), len(a["expr_basis"])
    path = head_path(name)
    if not path.exists():
        return None
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return tuple(int(x) for x in data["counts"])  # type: ignore[return-value]
    except Exception:  # unreadable or old cache: report it as not ready
        return None


def describe(name: str) -> str:
    c = counts(name)
    return "not set up" if c is None else f"{c[0]:,} vertices, {c[1]} identity, {c[2]} expression"


def status_lines() -> list[str]:
    """One line per head model: ready or not, counts, and how to get it (``dejavu setup``)."""
    lines = []
    for name in HEADS:
        c = counts(name)
        if c is None:
            lines.append(f"{name:<6} not set up: {HOW_TO[name]}")
        else:
            where = "" if name == "test" else f" ({head_path(name)})"
            lines.append(f"{name:<6} ready: {_TITLES[name]}, {describe(name)}{where}")
    return lines


def load_head(name: str = "ict", device="cpu"):
    """The head model ``name`` as a :class:`~dejavu_cli.head.base.HeadModel` on ``device``."""
    name = _check(name)
    if name == "test":
        from dejavu_cli.head.testhead import load_test_head

        return load_test_head(device)
    path = head_path(name)
    if not path.exists():
        raise DejavuError(f"{_TITLES[name]} is not set up: run `dejavu setup {name}`"
                          + ("" if name == "ict" else f" ({HOW_TO[name]})"))
    from dejavu_cli.io.npz import load_npz

    arrays = load_npz(path, what=f"{_TITLES[name]} head model")
    if name == "ict":
        from dejavu_cli.head.ict import ICTHead

        return ICTHead(arrays, device=device)
    from dejavu_cli.head.skinned import SkinnedHead

    return SkinnedHead(arrays, name="flame", device=device)


def _check(name: str) -> str:
    key = str(name).lower()
    if key not in HEADS:
        raise DejavuError(f"unknown head model {name!r}; choose one of: {', '.join(HEADS)}")
    return key
