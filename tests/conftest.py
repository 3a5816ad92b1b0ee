"""Shared fixtures. Real data is read from ../shared/ (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_flush_denormal(True)
torch.manual_seed(0)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEJAVU_SHARED", ROOT.parent / "shared"))
ICT_ARCHIVE = SHARED / "data" / "ict-facekit" / "ICT-FaceKit-da5f95a607f5e6b37755b38d3385d7f2853732e5.zip"
VIDEOS = SHARED / "data" / "videos"
PHOTOS = SHARED / "data" / "photos"


def need(path: Path) -> Path:
    """Return ``path``; skip locally when shared data is absent, fail in CI (CI always has it)."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"shared test data missing in CI: {path}")
        pytest.skip(f"shared test data not present: {path}")
    return path


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    """A DEJAVU_HOME shared by the whole test session (head models are converted once)."""
    home = tmp_path_factory.mktemp("dejavu_home")
    os.environ["DEJAVU_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def ict_archive() -> Path:
    return need(ICT_ARCHIVE)


@pytest.fixture(scope="session")
def ict_head(session_home, ict_archive):
    """The real ICT-FaceKit head model, converted once per session from the shared archive."""
    from dejavu_cli.head.ict import setup_ict
    from dejavu_cli.head.registry import load_head

    setup_ict(archive=ict_archive)
    return load_head("ict")


@pytest.fixture(scope="session")
def test_head():
    """The tiny procedural head (a few hundred vertices)."""
    from dejavu_cli.head.registry import load_head

    return load_head("test")


@pytest.fixture
def cli(monkeypatch, session_home):
    """Run ``dejavu ARGS`` in-process; returns (exit_code, stdout, stderr)."""
    from dejavu_cli.cli import main

    def run(*args, capsys=None):
        return main([str(a) for a in args])

    return run
