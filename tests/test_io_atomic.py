import numpy as np
import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import atomic_path, save_npz_atomic
from dejavu_cli.io.npz import load_npz


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_npz_roundtrip_and_refusals(tmp_path):
    save_npz_atomic(tmp_path / "a.npz", {"x": np.arange(3)})
    assert load_npz(tmp_path / "a.npz")["x"].tolist() == [0, 1, 2]
    with pytest.raises(TypeError):
        save_npz_atomic(tmp_path / "b.npz", {"x": np.array([{}], dtype=object)})
    np.savez(tmp_path / "p.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DejavuError, match="pickled"):
        load_npz(tmp_path / "p.npz")
    (tmp_path / "t.npz").write_bytes((tmp_path / "a.npz").read_bytes()[:20])
    with pytest.raises(DejavuError):
        load_npz(tmp_path / "t.npz")
    with pytest.raises(DejavuError, match="not found"):
        load_npz(tmp_path / "missing.npz")


def test_atomic_output_gets_umask_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        save_npz_atomic(tmp_path / "a.npz", {"x": np.arange(3)})
    finally:
        os.umask(old)
    assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o644


def test_check_writable_probes_with_a_fresh_name_so_concurrent_checks_do_not_collide(tmp_path, monkeypatch):
    import os

    from dejavu_cli.io import outputs

    made = []
    real_open = os.open

    def spy(path, flags, *args):
        made.append(os.path.basename(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(outputs.os, "open", spy)
    outputs.check_writable(tmp_path / "out.npz")
    outputs.check_writable(tmp_path / "out.npz")
    assert len(made) == 2 and made[0] != made[1] and all(m.startswith(".out.npz.") for m in made)
    # a probe left by another process (same output, same moment) is no reason to refuse
    (tmp_path / made[0]).write_bytes(b"")
    outputs.check_writable(tmp_path / "out.npz")
