"""Restricted unpickling of model pickles (FLAME): arrays only, nothing from the file is executed.

FLAME pickles hold ``chumpy.ch.Ch`` objects and ``scipy.sparse`` matrices. ``restricted_load`` maps the
few globals such files name to harmless stand-ins that only rebuild numpy arrays; any other global
(``os.system``, ``builtins.exec``, ``subprocess``..., or a real chumpy/scipy import) is refused with a
one-line :class:`DejavuError` before it is looked up, so neither chumpy nor scipy is needed or imported.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
from numpy.core.multiarray import scalar

from dejavu_cli.errors import DejavuError


class ChArray:
    """Stand-in for ``chumpy.ch.Ch``: keeps the wrapped array (the ``x`` term) and nothing else."""
    def __init__(self, *args, **kwargs):
        self.x = np.asarray(args[0]) if args else None

    def __setstate__(self, state):
        self.x = state.get("x") if isinstance(state, dict) else None

    def array(self):
        return to_array(self.x)


class SparseArray:
    """Stand-in for ``scipy.sparse.csc_matrix``/``csr_matrix``: rebuilds a dense array from its state."""
    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {}

    def array(self):
        s = self.state
        shape = s.get("_shape") or s.get("shape")
        fmt = s.get("format", "csc")
        try:
            data, indices, indptr = (np.asarray(s[k]) for k in ("data", "indices", "indptr"))
            dense = np.zeros(tuple(int(n) for n in shape), dtype=data.dtype)
            major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            if fmt == "csr":
                dense[major, indices] = data
            elif fmt == "csc":
                dense[indices, major] = data
            else:
                raise KeyError(fmt)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DejavuError(f"unsupported sparse matrix in pickle ({exc})") from None
        return dense


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` limited to the stand-ins above (no ``base.__init__`` is run)."""
    if cls not in (ChArray, SparseArray) or base is not object:
        raise DejavuError("pickle refused: it rebuilds an object dejavu does not allow")
    return cls.__new__(cls)


def _newobj(cls, *args):
    if cls not in (ChArray, SparseArray):
        raise DejavuError("pickle refused: it creates an object dejavu does not allow")
    return cls.__new__(cls)


def _np_reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise DejavuError("pickle refused: numpy array of a non-ndarray type")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _np_scalar(dtype, data=None):
    return scalar(dtype, data) if data is not None else scalar(dtype)


def _codecs_encode(text, encoding="utf-8"):
    """Python 3 pickles of ``bytes`` at protocol < 3 call ``_codecs.encode(str, "latin1")``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DejavuError("pickle refused: unexpected _codecs.encode call")
    return text.encode("latin1")


_CH = ChArray
_SP = SparseArray
ALLOWED = {
    ("chumpy.ch", "Ch"): _CH, ("chumpy", "Ch"): _CH,
    ("scipy.sparse.csc", "csc_matrix"): _SP, ("scipy.sparse._csc", "csc_matrix"): _SP,
    ("scipy.sparse.csr", "csr_matrix"): _SP, ("scipy.sparse._csr", "csr_matrix"): _SP,
    ("scipy.sparse", "csc_matrix"): _SP, ("scipy.sparse", "csr_matrix"): _SP,
    ("copy_reg", "_reconstructor"): _reconstructor, ("copyreg", "_reconstructor"): _reconstructor,
    ("copy_reg", "__newobj__"): _newobj, ("copyreg", "__newobj__"): _newobj,
    ("__builtin__", "object"): object, ("builtins", "object"): object,
    ("__builtin__", "set"): set, ("builtins", "set"): set,
    ("__builtin__", "frozenset"): frozenset, ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_scalar, ("numpy._core.multiarray", "scalar"): _np_scalar,
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise DejavuError(f"pickle refused: it references {module}.{name}, which dejavu does not allow "
                              "(only arrays, chumpy.ch.Ch and scipy sparse matrices)") from None

    def persistent_load(self, pid):
        raise DejavuError("pickle refused: persistent ids are not allowed")


def to_array(obj):
    """Replace stand-ins by numpy arrays, recursively through dicts, lists and tuples."""
    if isinstance(obj, (ChArray, SparseArray)):
        return obj.array()
    if isinstance(obj, dict):
        return {k: to_array(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_array(v) for v in obj)
    return obj


def restricted_load(path_or_bytes: str | os.PathLike | bytes, what: str = "pickle"):
    """Load a (Python 2 or 3) pickle of arrays, Ch objects and sparse matrices; stand-ins become arrays."""
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        path = Path(path_or_bytes)
        if not path.is_file():
            raise DejavuError(f"{what} not found: {path}")
        data = path.read_bytes()
    try:
        obj = _Unpickler(io.BytesIO(data), encoding="latin1").load()
    except DejavuError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError) as exc:
        raise DejavuError(f"{what} is not a readable model pickle: {type(exc).__name__}: {exc}") from None
    return to_array(obj)
