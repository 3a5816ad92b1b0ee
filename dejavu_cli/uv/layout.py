"""The UV Gaussian map layout of a head model: which texels hold a Gaussian and where it sits.

Built once per (head model, UV size) by rasterizing the head's UVs (no per-frame rasterization):
every valid texel is bound to a fixed combination of up to 4 mesh vertices (a triangle and its
barycentric coordinates, or the FLAME mouth funnel's interpolation weights) plus a constant model-space
offset, so the Gaussian centres of a batch of posed meshes are one gather: :meth:`UVLayout.surface`.
Rules and defaults: docs/conventions.md#uv.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import REGION_NAMES
from dejavu_cli.head.geometry import vertex_normals
from dejavu_cli.head.registry import default_uv_size, spec
from dejavu_cli.home import home_subdir
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.npz import load_npz
from dejavu_cli.uv.atlas import pack_atlas
from dejavu_cli.uv.flame_rule import flame_layout_arrays, is_flame_template
from dejavu_cli.uv.raster import INSIDE_EPS, _candidates, barycentric, rasterize, uv_to_pixel

#: Regions that get Gaussians (neck and "other" helpers do not).
KEPT_REGIONS = ("face", "scalp", "ears", "eyeballs", "mouth", "teeth")
#: Relative texel density per region when an atlas is packed (Gaussians per cm^2, face = 1).
DENSITY = {"face": 1.0, "ears": 0.6, "scalp": 0.6, "eyeballs": 0.8, "mouth": 0.3, "teeth": 0.6}
#: Position-regularization weight (paper's M_mu): high where the mesh is right, low where hair grows.
POS_WEIGHT_HIGH, POS_WEIGHT_LOW = 10.0, 0.1
#: Regions with the low weight and zero initial opacity logit (everything else: high weight, logit 1).
LOOSE_REGIONS = ("scalp",)
#: Width of the ramp between the two values, metres (measured on the neutral template).
RAMP = 0.02
#: Landmarks (iBUG 68) of brows, nose, eyes and lips, and the radius around them of the features mask.
FEATURE_LANDMARKS = tuple(range(17, 68))
FEATURE_RADIUS = 0.012
#: Mask names :meth:`UVLayout.mask` knows.
MASKS = ("face", "scalp", "ears", "mouth", "eyes", "teeth", "features", "locked")


class UVLayout(nn.Module):
    """Valid texels of an ``S x S`` UV Gaussian map and their binding to the mesh (buffers only).

    texel      [N]    long   row-major index ``row * S + col`` (increasing: the texel-list order)
    vidx       [N, 4] long   mesh vertices each Gaussian centre is made of
    vweight    [N, 4] float  their weights (triangle barycentrics, 4th weight 0)
    voffset    [N, 3] float  constant model-space offset (FLAME mouth funnel depth), else 0
    face       [N]    long   triangle of the texel, -1 for synthetic texels (FLAME mouth funnel)
    bary       [N, 3] float  barycentric coordinates in ``face``
    region     [N]    long   index into :data:`dejavu_cli.head.base.REGION_NAMES`
    pos_weight [N]    float  position-regularization weight (paper's M_mu)
    opacity_init [N]  float  initial opacity logit (the official init-opacity weight map)
    features   [N]    bool   brows, eyes, nose, lips, mouth interior (the stage-2 facial-features mask)
    locked     [N]    bool   position offsets ignored (FLAME mouth funnel, as the official code)
    valid_mask [S, S] bool
    atlas_uv [T, 2], atlas_uv_faces [F', 3], atlas_face [F']: the rasterized UV triangles (packed atlas)
    """

    def __init__(self, head_name: str, uv_size: int, arrays: dict[str, np.ndarray]):
        super().__init__()
        self.head_name = head_name
        self.uv_size = int(uv_size)
        for key, value in arrays.items():
            self.register_buffer(key, torch.as_tensor(value), persistent=False)
        self.check = layout_check(head_name, uv_size, arrays)

    @property
    def n_texels(self) -> int:
        return int(self.texel.shape[0])

    def mask(self, name: str) -> torch.Tensor:
        """Bool [N] region mask: face, scalp, ears, mouth, eyes (eyeballs), teeth, features, locked."""
        if name == "features":
            return self.features
        if name == "locked":
            return self.locked
        region = {"eyes": "eyeballs"}.get(name, name)
        if region not in REGION_NAMES:
            raise KeyError(f"unknown mask {name!r}; known: {', '.join(MASKS)}")
        return self.region == REGION_NAMES.index(region)

    def surface(self, verts: torch.Tensor) -> torch.Tensor:
        """Gaussian base positions [B, N, 3] on meshes ``verts`` [B, V, 3] (a gather, differentiable)."""
        picked = verts[:, self.vidx]                                          # [B, N, 4, 3]
        w = self.vweight.to(verts.dtype)
        return (picked * w[None, :, :, None]).sum(-2) + self.voffset.to(verts.dtype)

    def normals(self, verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """Unit surface normals [B, N, 3] of the texels on meshes ``verts`` [B, V, 3] with triangles ``faces``
        [F, 3]: the area-weighted vertex normals interpolated like :meth:`surface` (without its offset)."""
        n = vertex_normals(verts, faces)[:, self.vidx]                            # [B, N, 4, 3]
        return torch.nn.functional.normalize((n * self.vweight.to(n.dtype)[None, :, :, None]).sum(-2), dim=-1)

    def to_image(self, values: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Texel list [..., N, C] -> image [..., S, S, C] (invalid texels = ``fill``)."""
        S = self.uv_size
        out = values.new_full((*values.shape[:-2], S * S, values.shape[-1]), fill)
        out[..., self.texel, :] = values
        return out.reshape(*values.shape[:-2], S, S, values.shape[-1])

    def from_image(self, image: torch.Tensor) -> torch.Tensor:
        """Image [..., S, S, C] -> texel list [..., N, C]."""
        S = self.uv_size
        return image.reshape(*image.shape[:-3], S * S, image.shape[-1])[..., self.texel, :]

    def extra_repr(self) -> str:
        return f"head={self.head_name}, uv_size={self.uv_size}, n_texels={self.n_texels}, check={self.check}"


def layout_check(head_name: str, uv_size: int, arrays: dict[str, np.ndarray]) -> str:
    """16 hex digits: sha256 over the head name, S and the texel -> (vertices, weights) table."""
    h = hashlib.sha256(f"{head_name}|{int(uv_size)}|".encode())
    h.update(np.ascontiguousarray(arrays["texel"], dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(arrays["vidx"], dtype=np.int64).tobytes())
    h.update(np.round(np.asarray(arrays["vweight"], np.float64) * 1e5).astype(np.int64).tobytes())
    h.update(np.round(np.asarray(arrays["voffset"], np.float64) * 1e5).astype(np.int64).tobytes())
    return h.hexdigest()[:16]


def build_layout(head, uv_size: int | None = None) -> UVLayout:
    """The :class:`UVLayout` of ``head`` (a HeadModel) at ``uv_size`` (default per head), on its device."""
    S = int(uv_size or default_uv_size(head.name))
    if not 16 <= S <= 2048:
        raise DejavuError(f"UV size must be between 16 and 2048, got {S}")
    mesh = _mesh_arrays(head)
    arrays = _build_cached(head.name, S, _mesh_key(mesh), _Frozen(mesh))
    layout = UVLayout(head.name, S, arrays)
    return layout.to(head.template.device)


class _Frozen:
    """Carries the mesh arrays through ``lru_cache`` (hashed by the key, not by content)."""
    def __init__(self, mesh):
        self.mesh = mesh

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return isinstance(other, _Frozen)


def _mesh_arrays(head) -> dict:
    cpu = lambda t: t.detach().cpu().numpy()  # noqa: E731
    return {"verts": cpu(head.template).astype(np.float64), "faces": cpu(head.faces).astype(np.int64),
            "uv": cpu(head.uv).astype(np.float64), "uv_faces": cpu(head.uv_faces).astype(np.int64),
            "region": cpu(head.face_region).astype(np.int64), "landmarks": cpu(head.landmarks68).astype(np.int64)}


def _mesh_key(mesh: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(mesh):
        h.update(np.ascontiguousarray(np.round(mesh[k] * 1e6) if mesh[k].dtype.kind == "f" else mesh[k]).tobytes())
    return h.hexdigest()


def _code_key() -> str:
    """Hash of the layout code itself, so a cached layout never outlives a change of the rules."""
    h = hashlib.sha256()
    for name in ("layout.py", "atlas.py", "raster.py", "flame_rule.py"):
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


#: Arrays a cached layout must hold (others are optional); a cache without them is rebuilt.
CACHE_KEYS = {"texel", "vidx", "vweight", "voffset", "face", "bary", "region", "pos_weight", "opacity_init",
              "features", "locked", "valid_mask"}


@functools.lru_cache(maxsize=8)
def _build_cached(name: str, S: int, key: str, frozen: _Frozen) -> dict[str, np.ndarray]:
    """Layout arrays, memoized in-process and on disk under ``$DEJAVU_HOME/layouts`` (the ICT atlas
    takes seconds to build; the cache file is keyed by head name, S, mesh content and layout code)."""

    digest = hashlib.sha256(f"{name}|{S}|{key}|{_code_key()}".encode()).hexdigest()[:20]
    path = home_subdir("layouts") / f"{name}-{S}-{digest}.npz"
    if path.exists():
        try:
            cached = load_npz(path, what="UV layout cache")
            if CACHE_KEYS <= set(cached):
                return cached
        except DejavuError:
            pass  # corrupt or truncated cache: rebuild and overwrite
    arrays = _build_layout_arrays(name, S, frozen.mesh)
    try:
        save_npz_atomic(path, arrays, compressed=False)
    except OSError:
        pass  # a read-only cache folder only costs the rebuild
    return arrays


def _build_layout_arrays(name: str, S: int, mesh: dict) -> dict[str, np.ndarray]:
    if spec(name).uv_rule == "flame_rule" and is_flame_template(mesh):
        arrs = flame_layout_arrays(mesh, S)
        atlas = (mesh["uv"], mesh["uv_faces"], np.arange(len(mesh["faces"])))
        return _finish(mesh, *arrs[:7], S, locked=arrs[7], atlas=atlas)
    *arrs, atlas = _generic_texels(mesh, S)
    return _finish(mesh, *arrs, S, atlas=atlas)


def _generic_texels(mesh: dict, S: int):
    """Kept regions, atlas-packed when the UVs leave the unit square or overlap; folds resolved."""
    keep = np.isin(mesh["region"], [REGION_NAMES.index(r) for r in KEPT_REGIONS])
    fidx = np.where(keep)[0]
    uv, uvf = mesh["uv"], mesh["uv_faces"][fidx]
    in_square = uv[uvf].min() >= 0 and uv[uvf].max() <= 1
    if not in_square or (rasterize(uv, uvf, S).overlap > 1).any():
        dens = np.array([DENSITY[REGION_NAMES[r]] for r in mesh["region"][fidx]])
        uv, uvf = pack_atlas(mesh["verts"], mesh["faces"][fidx], uv, uvf, dens)
    for _ in range(8):  # drop the losing triangle of every folded texel until no fold is left
        ras = rasterize(uv, uvf, S)
        if not (ras.overlap > 1).any():
            break
        drop = _fold_losers(uv, uvf, ras)
        alive = ~np.isin(np.arange(len(fidx)), drop)
        fidx, uvf = fidx[alive], uvf[alive]
    texel = np.where(ras.valid)[0]
    face = fidx[ras.face[texel]]
    bary = ras.bary[texel]
    return texel, face, bary, mesh["faces"][face], np.c_[bary, np.zeros(len(texel))], np.zeros((len(texel), 3)), \
        mesh["region"][face], (uv, uvf, fidx)


def _fold_losers(uv: np.ndarray, uvf: np.ndarray, ras) -> np.ndarray:
    """Triangles (indices into ``uvf``) that strictly contain a folded texel they did not win."""
    S = ras.size
    px = uv_to_pixel(uv, S)[uvf]
    tri, row, col = _candidates(px, S)
    flat = row * S + col
    sel = ras.overlap[flat] > 1
    tri, flat = tri[sel], flat[sel]
    p = np.stack([flat % S + 0.5, flat // S + 0.5], -1).astype(np.float64)
    inside = barycentric(p, px[tri, 0], px[tri, 1], px[tri, 2]).min(1) > INSIDE_EPS
    return np.unique(tri[inside & (tri != ras.face[flat])])


def _finish(mesh, texel, face, bary, vidx, vweight, voffset, region, S, locked=None,
            atlas=None) -> dict[str, np.ndarray]:
    """Per-texel maps that depend on the binding: weights, masks, validity image."""
    verts, faces = mesh["verts"], mesh["faces"]
    vidx = np.c_[vidx, np.zeros((len(texel), 4 - vidx.shape[1]), np.int64)] if vidx.shape[1] < 4 else vidx
    pos = (verts[vidx] * vweight[:, :, None]).sum(1) + voffset                # neutral surface [N, 3]
    # ramps: per-vertex distance (neutral template) to the nearest vertex of a tight region, interpolated
    loose_f = np.isin(mesh["region"], [REGION_NAMES.index(r) for r in LOOSE_REGIONS])
    keep_f = np.isin(mesh["region"], [REGION_NAMES.index(r) for r in KEPT_REGIONS])
    tight_v = np.unique(faces[keep_f & ~loose_f])
    loose_v = np.setdiff1d(np.unique(faces[keep_f & loose_f]), tight_v)
    dist = np.zeros(len(verts))
    if len(loose_v) and len(tight_v):
        # the ramp only needs ~mm accuracy: one tight vertex per 2 mm voxel keeps the cdist small
        _, pick = np.unique(np.floor(verts[tight_v] / 0.002).astype(np.int64), axis=0, return_index=True)
        dist[loose_v] = _nearest_distance(verts[loose_v], verts[tight_v[np.sort(pick)]])
    vert_tight = np.clip(1.0 - dist / RAMP, 0.0, 1.0)                         # 1 on tight regions
    tight = (vert_tight[vidx] * vweight).sum(1) / np.maximum(vweight.sum(1), 1e-12)
    pos_weight = POS_WEIGHT_LOW + (POS_WEIGHT_HIGH - POS_WEIGHT_LOW) * tight
    lm = verts[mesh["landmarks"][list(FEATURE_LANDMARKS)]]
    face_like = np.isin(region, [REGION_NAMES.index(r) for r in ("face", "mouth", "teeth", "eyeballs")])
    features = face_like & (_nearest_distance(pos, lm, chunk=16384) < FEATURE_RADIUS)
    features |= np.isin(region, [REGION_NAMES.index(r) for r in ("mouth", "teeth", "eyeballs")])
    valid = np.zeros(S * S, bool)
    valid[texel] = True
    return {"texel": texel.astype(np.int64), "vidx": vidx.astype(np.int64),
            "vweight": vweight.astype(np.float32), "voffset": voffset.astype(np.float32),
            "face": face.astype(np.int64), "bary": bary.astype(np.float32), "region": region.astype(np.int64),
            "pos_weight": pos_weight.astype(np.float32), "opacity_init": tight.astype(np.float32),
            "features": features, "locked": np.zeros(len(texel), bool) if locked is None else locked,
            "valid_mask": valid.reshape(S, S),
            # the UV triangles that were rasterized (after atlas packing): uv [T, 2], corners [F', 3] and
            # the mesh triangle of each, for inspection and tests
            "atlas_uv": atlas[0].astype(np.float64), "atlas_uv_faces": atlas[1].astype(np.int64),
            "atlas_face": atlas[2].astype(np.int64)}


def _nearest_distance(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Distance [Na] from each point of ``a`` [Na, 3] to the nearest of ``b`` [Nb, 3] (chunked cdist)."""
    tb = torch.as_tensor(b, dtype=torch.float32)
    out = [torch.cdist(torch.as_tensor(a[i:i + chunk], dtype=torch.float32), tb).min(1).values
           for i in range(0, len(a), chunk)]
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)
