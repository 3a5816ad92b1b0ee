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
