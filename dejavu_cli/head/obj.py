"""Fast Wavefront OBJ reading with numpy (positions, UVs, polygons -> triangles).

Only what head models need: ``v``, ``vt`` and ``f v/vt[/vn]`` records. Polygons are fan-triangulated
(quad a b c d -> a b c, a c d) and each triangle remembers the polygon it came from.
"""

from __future__ import annotations

import numpy as np

from dejavu_cli.errors import DejavuError


def _block(data: bytes, tag: bytes) -> bytes:
    """From the first to the last line starting with ``tag`` (e.g. b"v "), as one bytes string."""
    data = b"\n" + data
    first = data.find(b"\n" + tag)
    if first < 0:
        return b""
    last = data.rfind(b"\n" + tag)
    end = data.find(b"\n", last + 1)
    return data[first + 1:end if end >= 0 else len(data)].replace(b"\r", b"")


def _floats(block: bytes, tag: bytes, width: int, what: str) -> np.ndarray:
    values = np.fromstring(block.replace(tag.strip(), b" "), dtype=np.float64, sep=" ")  # noqa: NPY201
    if values.size % width:
        raise DejavuError(f"{what}: malformed {tag.decode().strip()!r} records")
    return values.reshape(-1, width)


def read_positions(data: bytes, what: str = "OBJ") -> np.ndarray:
    """Vertex positions ``[V, 3]`` (float64) of an OBJ given as bytes; the ``v`` lines must be contiguous."""
    block = _block(data, b"v ")
    if (b"\n" + data).count(b"\nv ") != block.count(b"\n") + 1:
        raise DejavuError(f"{what}: vertex records are not contiguous")
    return _floats(block, b"v ", 3, what)


def read_mesh(data: bytes, what: str = "OBJ") -> dict[str, np.ndarray]:
    """Positions, UVs and triangulated faces of an OBJ (bytes).

    Returns ``v`` [V, 3], ``vt`` [T, 2], ``faces`` [F, 3] and ``uv_faces`` [F, 3] (0-based, -1 when the
    file has no UVs) and ``polygon`` [F] (index of the source polygon of each triangle).
    """
    v = read_positions(data, what)
    vt_block = _block(data, b"vt ")
    vt = _floats(vt_block, b"vt ", 2, what) if vt_block else np.zeros((0, 2))
    faces, uv_faces, polygon = [], [], []
    lines = [ln for ln in data.replace(b"\r", b"").split(b"\n") if ln.startswith(b"f ")]
    for k, line in enumerate(lines):
        corners = line.split()[1:]
        if len(corners) < 3:
            raise DejavuError(f"{what}: face {k} has fewer than 3 corners")
        idx = [c.split(b"/") for c in corners]
        vi = [int(c[0]) for c in idx]
        ti = [int(c[1]) if len(c) > 1 and c[1] else 0 for c in idx]
        for j in range(1, len(vi) - 1):
            faces.append((vi[0], vi[j], vi[j + 1]))
            uv_faces.append((ti[0], ti[j], ti[j + 1]))
            polygon.append(k)
    faces = np.asarray(faces, np.int64)
    uv_faces = np.asarray(uv_faces, np.int64)
    faces = np.where(faces < 0, faces + len(v), faces - 1)  # OBJ is 1-based; negatives count from the end
    uv_faces = np.where(uv_faces < 0, uv_faces + len(vt), uv_faces - 1)
    if faces.size and (faces.min() < 0 or faces.max() >= len(v)):
        raise DejavuError(f"{what}: face index out of range")
    if len(vt) and uv_faces.size and (uv_faces.min() < 0 or uv_faces.max() >= len(vt)):
        raise DejavuError(f"{what}: UV index out of range")
    return {"v": v, "vt": vt, "faces": faces, "uv_faces": uv_faces, "polygon": np.asarray(polygon, np.int64)}
