"""Packaging: `pip install .` alone must give a working dejavu (docs/install.md).

These read pyproject.toml and the installed distribution's metadata; they run after scripts/test.sh installed
".[test]" into the active environment, so a stale or partial install fails here rather than in tracking."""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli is a dependency there
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
DIST = "dejavu-cli"


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def installed_requires() -> list[Requirement]:
    try:
        reqs = md.requires(DIST) or []
    except md.PackageNotFoundError:
        pytest.fail(f'{DIST} is not installed in {sys.prefix}: run `pip install ".[test]"` (scripts/test.sh does)')
    return [Requirement(r) for r in reqs]


def _runtime(reqs: list[Requirement]) -> dict[str, Requirement]:
    """Requirements that apply here without extras, by canonical name."""
    env = default_environment() | {"extra": ""}
    return {canonicalize_name(r.name): r for r in reqs if r.marker is None or r.marker.evaluate(env)}


def test_mediapipe_is_a_declared_dependency(pyproject, installed_requires):
    declared = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    assert str(_runtime(declared)["mediapipe"].specifier) == "==0.10.21"
    assert str(_runtime(installed_requires)["mediapipe"].specifier) == "==0.10.21"
    assert md.version("mediapipe") == "0.10.21"


def test_installed_metadata_matches_pyproject(pyproject, installed_requires):
    """A stale install (older pyproject) is caught here: reinstall with `pip install .`."""
    declared = {str(Requirement(r)) for r in pyproject["project"]["dependencies"]}
    installed = {str(r) for r in installed_requires if "extra" not in str(r.marker or "")}
    assert installed == declared


def test_opencv_is_the_one_mediapipe_requires(pyproject):
    names = {canonicalize_name(Requirement(r).name) for r in pyproject["project"]["dependencies"]}
    assert "opencv-contrib-python" in names
    assert not {n for n in names if n.startswith("opencv") and n != "opencv-contrib-python"}
    assert "face-alignment" not in pyproject["project"].get("optional-dependencies", {})


def test_exactly_one_opencv_distribution_installed():
    found = sorted(
        {
            canonicalize_name(d.metadata["Name"])
            for d in md.distributions()
            if canonicalize_name(d.metadata["Name"] or "").startswith("opencv")
        }
    )
    assert found == ["opencv-contrib-python"], (
        f"OpenCV distributions installed: {found}; they share one cv2 package. Keep opencv-contrib-python "
        "(mediapipe requires it): pip uninstall the others, then "
        "pip install --force-reinstall -c constraints.txt opencv-contrib-python (docs/install.md)"
    )


def test_numpy_below_2_installed():
    assert Version(md.version("numpy")) < Version("2"), "numpy 2 got in: pip install . -c constraints.txt"


def test_jax_accepts_the_installed_numpy():
    numpy = Version(md.version("numpy"))
    for dist in ("jax", "jaxlib"):
        assert md.version(dist) == "0.7.1"
        for r in map(Requirement, md.requires(dist) or []):
            if canonicalize_name(r.name) == "numpy" and r.marker is None:
                assert r.specifier.contains(numpy), f"{dist} requires {r}"


def test_scripts_never_install_without_dependencies():
    scripts = [*sorted((ROOT / "scripts").glob("*.sh")), ROOT / ".ci" / "run"]
    for path in scripts:
        assert "--no-deps" not in path.read_text(), path


def _closure(name: str, extras: tuple[str, ...] = ()) -> set[str]:
    """``name`` and every installed distribution it requires, transitively (markers evaluated here)."""
    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        dist, ext = todo.pop()
        key = canonicalize_name(dist)
        if key in seen:
            continue
        seen.add(key)
        try:
            reqs = md.requires(dist) or []
        except md.PackageNotFoundError:
            continue  # pip check reports it as missing
        for r in map(Requirement, reqs):
            envs = [default_environment() | {"extra": e} for e in ("", *ext)]
            if r.marker is None or any(r.marker.evaluate(env) for env in envs):
                todo.append((r.name, tuple(r.extras)))
    return seen


def test_pip_check_finds_nothing_broken_among_our_dependencies():
    # Only lines about dejavu-cli and what it pulls in (test extra included) count: a developer's environment
    # may hold unrelated packages with their own broken requirements, which are not ours to fail on.
    ours = _closure(DIST, ("test",))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "check"], check=False, capture_output=True, text=True, timeout=60
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.strip() and not ln.startswith("No broken requirements")]
    broken = [ln for ln in lines if canonicalize_name(re.split(r"\s", ln, maxsplit=1)[0]) in ours]
    assert not broken, "\n".join(broken)
    if out.returncode != 0:
        assert lines, out.stderr  # a failure with nothing on stdout is pip itself failing


def _commands(block: str) -> list[str]:
    return [ln.split("#", 1)[0].strip() for ln in block.splitlines() if ln.split("#", 1)[0].strip()]


def test_ci_runs_exactly_the_readme_test_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Test\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    ci = (ROOT / ".ci" / "run").read_text().split("# --- the README's Test commands, verbatim ---\n", 1)[1]
    assert _commands(ci) == _commands(block)
    assert "python -m pytest -q -p no:cacheprovider" in (ROOT / "scripts" / "test.sh").read_text()


def test_cited_install_doc_exists():
    assert (ROOT / "docs" / "install.md").is_file()
