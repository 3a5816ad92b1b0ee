"""io/safe_pickle.py: arrays/Ch/sparse rebuild; code-execution payloads refused without running."""

import os
import pickle
import sys
import types

import numpy as np
import pytest

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.safe_pickle import restricted_load


def fake_modules():
    """Tiny stand-ins for chumpy.ch.Ch and scipy.sparse csc_matrix so pickles name them like FLAME's."""
    ch_mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x, np.float64)
            self._dirty_vars = {"x"}
            self._itr = None
            self._depends_on_deps = {}
            self._make_dense = False

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch_mod.Ch = Ch
    sp_mod = types.ModuleType("scipy.sparse.csc")

    class csc_matrix:  # noqa: N801 - the real name
        def __init__(self, dense):
            dense = np.asarray(dense)
            cols = [np.nonzero(dense[:, j])[0] for j in range(dense.shape[1])]
            self.indices = np.concatenate(cols).astype(np.int32)
            self.indptr = np.cumsum([0] + [len(c) for c in cols]).astype(np.int32)
            self.data = np.concatenate([dense[c, j] for j, c in enumerate(cols)])
            self._shape = dense.shape
            self.format = "csc"
            self.maxprint = 50

    csc_matrix.__module__, csc_matrix.__qualname__ = "scipy.sparse.csc", "csc_matrix"
    sp_mod.csc_matrix = csc_matrix
    return {"chumpy": types.ModuleType("chumpy"), "chumpy.ch": ch_mod, "scipy": types.ModuleType("scipy"),
            "scipy.sparse": types.ModuleType("scipy.sparse"), "scipy.sparse.csc": sp_mod}


@pytest.fixture
def fakes(monkeypatch):
    mods = fake_modules()
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return mods["chumpy.ch"].Ch, mods["scipy.sparse.csc"].csc_matrix


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_rebuilds_arrays_ch_and_sparse(fakes, protocol):
    Ch, csc = fakes
    dense = np.array([[0, 1.5, 0], [2.0, 0, 3.0]])
    obj = {"a": np.arange(6.0).reshape(2, 3), "c": Ch(np.ones((2, 2))), "s": csc(dense), "n": 3,
           "t": ("x", np.float32(2.5)), "i": np.array([1, 2], np.uint32)}
    out = restricted_load(pickle.dumps(obj, protocol=protocol))
    assert np.array_equal(out["a"], obj["a"]) and np.array_equal(out["c"], np.ones((2, 2)))
    assert np.array_equal(out["s"], dense) and out["n"] == 3 and out["t"][0] == "x"
    assert np.array_equal(out["i"], [1, 2])


class _Payload:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


@pytest.mark.parametrize("kind", ["os.system", "exec", "eval", "subprocess"])
def test_code_execution_refused(tmp_path, kind):
    marker = tmp_path / "pwned"
    import builtins
    import subprocess
    payload = {
        "os.system": _Payload(os.system, f"touch {marker}"),
        "exec": _Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "eval": _Payload(builtins.eval, f"open({str(marker)!r}, 'w')"),
        "subprocess": _Payload(subprocess.call, ["touch", str(marker)]),
    }[kind]
    data = pickle.dumps({"v_template": np.zeros((2, 3)), "evil": payload}, protocol=2)
    path = tmp_path / "evil.pkl"
    path.write_bytes(data)
    with pytest.raises(DejavuError, match="pickle refused") as err:
        restricted_load(path)
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_tricks_refused(tmp_path):
    # a global reached through an allowed module name must still be refused
    bad = b"cnumpy\nload\n(S'x'\ntR."
    with pytest.raises(DejavuError, match="numpy.load"):
        restricted_load(bad)
    # the reconstructor helper refuses non-stand-in classes
    bad2 = b"ccopy_reg\n_reconstructor\n(c__builtin__\nset\nc__builtin__\nobject\nNtR."
    with pytest.raises(DejavuError, match="refused"):
        restricted_load(bad2)
    with pytest.raises(DejavuError, match="not a readable"):
        restricted_load(b"\x80\x02}q\x00(")  # truncated
    with pytest.raises(DejavuError, match="not found"):
        restricted_load(tmp_path / "none.pkl")
