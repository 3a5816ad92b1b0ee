"""The package's import graph: no cycles, layers as docs/architecture.md draws them, one track contract.

The graph comes from grimp (the import-graph library behind import-linter); it holds every import
statement of a module, at module level and inside functions, so a lazy import counts like any other.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import grimp
import pytest

PKG = "dejavu_cli"
ROOT = Path(__file__).resolve().parents[1] / PKG

#: What each part of the package may import (docs/architecture.md "Layers"); "" is the package itself
#: (``dejavu_cli.__version__``). Top-level modules are parts of their own.
FOUNDATION = {"errors", "config", "home", "device", "io", ""}
ALLOWED = {
    "": set(), "errors": set(), "config": {"errors"}, "home": set(), "__main__": {"cli"},
    "device": {"errors", "config"},
    "io": {"errors", "home"},
    "head": {"errors", "home", "io"},
    "uv": {"errors", "home", "io", "head"},
    "render": {"errors"},
    "avatar": FOUNDATION | {"head", "uv", "render"},
    "track": FOUNDATION | {"head", "render"},
    "fit": FOUNDATION | {"head", "uv", "render", "avatar", "track"},
    "create": FOUNDATION | {"head", "uv", "render", "avatar", "track", "fit"},
    "recon": FOUNDATION | {"head", "uv", "render", "avatar", "track", "fit"},
    "reenact": FOUNDATION | {"head"},
    "export": FOUNDATION | {"head", "avatar"},
    "view": FOUNDATION | {"head", "render", "avatar", "reenact"},
    "usecases": FOUNDATION | {"head", "uv", "render", "avatar", "track", "fit", "create", "recon", "reenact",
                              "export", "view"},
    "commands": FOUNDATION | {"head", "uv", "render", "avatar", "track", "fit", "create", "recon", "reenact",
                              "export", "view", "usecases"},
    "cli": FOUNDATION | {"commands"},
}
#: The track modules other parts may import: the facade and the options dataclass.
TRACK_CONTRACT = {f"{PKG}.track.api", f"{PKG}.track.config"}


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(PKG, include_external_packages=False, cache_dir=None)


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _edges(graph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` (node -> successors), or None (stdlib graphlib)."""
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_find_cycle_on_known_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    cyc = find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert set(cyc) == {"a", "b", "c"}


def test_no_module_cycles(graph):
    # a package's __init__ is a module of its own: importing a.b also runs a/__init__, but that is no cycle
    cycle = find_cycle(_edges(graph))
    assert cycle is None, "import cycle between modules: " + " -> ".join(cycle)


def test_no_cycles_between_parts(graph):
    parts: dict[str, set[str]] = {}
    for m, deps in _edges(graph).items():
        parts.setdefault(_part(m), set()).update(_part(d) for d in deps if _part(d) != _part(m))
    cycle = find_cycle(parts)
    assert cycle is None, "import cycle between subpackages: " + " -> ".join(cycle)


def test_layers(graph):
    bad = sorted(f"{m} imports {d}" for m, deps in _edges(graph).items() for d in deps
                 if _part(d) != _part(m) and _part(d) not in ALLOWED[_part(m)])
    assert not bad, "imports against the layers of docs/architecture.md:\n" + "\n".join(bad)


def test_every_part_is_placed(graph):
    assert {_part(m) for m in graph.modules} <= set(ALLOWED)


def test_track_is_used_through_its_contract(graph):
    bad = sorted(f"{m} imports {d}" for m, deps in _edges(graph).items() for d in deps
                 if _part(d) == "track" and _part(m) != "track" and d not in TRACK_CONTRACT | {f"{PKG}.track"})
    assert not bad, "reach into track internals (use dejavu_cli.track.api):\n" + "\n".join(bad)


def test_test_head_only_through_the_registry(graph):
    users = set(graph.find_modules_that_directly_import(f"{PKG}.head.testhead"))
    assert users <= {f"{PKG}.head.registry"}, sorted(users)


def _name_tests(source: str, label: str) -> list[str]:
    """``x == "ict"``-style comparisons of head names in Python ``source`` (as ``label:line``)."""
    names = {"ict", "flame", "test"}
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
            consts += [e for c in node.comparators if isinstance(c, (ast.Tuple, ast.List, ast.Set))
                       for e in c.elts if isinstance(e, ast.Constant)]
            if any(c.value in names for c in consts):
                out.append(f"{label}:{node.lineno}")
    return out


def test_no_head_name_tests_outside_head():
    hits = [h for p in sorted(ROOT.rglob("*.py")) if "head" not in p.relative_to(ROOT).parts[:1]
            for h in _name_tests(p.read_text(), str(p.relative_to(ROOT.parent)))]
    assert not hits, "head names tested outside head/ (declare it in head/registry.py): " + ", ".join(hits)


def test_name_test_finder_sees_comparisons():
    src = 'def f(h):\n    return h.name == "ict" or h in ("flame",) or h.name == "other"\n'
    assert _name_tests(src, "probe") == ["probe:2", "probe:2"]
