"""The avatar file: one pickle-free NPZ, schema ``dejavu.avatar/1`` (docs/avatar-format.md).

Maps are texel lists ``[N, 13]`` over the layout of (head, uv_size); the stored ``layout_check`` must match
the layout rebuilt from the installed head model, so an avatar is never applied to the wrong texels.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dejavu_cli import __version__
from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.npz import Field, check_fields, load_npz, looks_like_npz, write_npz
from dejavu_cli.render.camera import DEFAULT_DISTANCE, DEFAULT_FOV_DEG, default_viewmat, focal_from_fov
from dejavu_cli.uv.maps import init_maps

SCHEMA = "dejavu.avatar/1"
SCHEMA_PREFIX = "dejavu.avatar/"
N_CHANNELS = 13
#: Optional per-avatar rest parameters (tracked means of the source video), used by reenactment.
NEUTRAL_FIELDS = {"neutral_expression": None, "neutral_jaw": 3, "neutral_eyes": 6, "canonical_rotvec": 3,
                  "canonical_translation": 3}


@dataclass
class Avatar:
    """A personalized (or template) avatar.

    head            head model name ("ict", "flame", "test");  identity [n_id] float32
    uv_size, layout_check   UV size S and the layout's check value (``UVLayout.check``)
    init            [N, 13] U_init (offset form);  mean_offsets [N, 13];  rectification [N, 13] (stage 1)
    blendmaps       [D, N, 13] (stage 2, D may be 0);  blend_drivers: D expression names (softmax drivers)
    fov_deg, distance, viewmat [4, 4], image_size: the tracking camera (K = ``intrinsics()``)
    dejavu_version, created (ISO 8601 UTC), source_video_sha256 ("" for templates)
    neutral_* / canonical_*: the source video's rest parameters (optional, zeros by default)
    texel_seen      [N] share of (sampled) training frames that saw each Gaussian (optional; 0 = guessed)
    blend_range     [2, D] low/high of the driver coefficients over the training frames (optional; beyond
                    it the blend falls back to the global map: ``gaussians.blend_keep``)
    """

    head: str
    identity: np.ndarray
    uv_size: int
    layout_check: str
    init: np.ndarray
    mean_offsets: np.ndarray
    rectification: np.ndarray
    blendmaps: np.ndarray
    blend_drivers: list[str]
    fov_deg: float = 20.0
    distance: float = 1.0
    viewmat: np.ndarray | None = None
    image_size: int = 512
    dejavu_version: str = ""
    created: str = ""
    source_video_sha256: str = ""
    neutral_expression: np.ndarray | None = None
    neutral_jaw: np.ndarray | None = None
    neutral_eyes: np.ndarray | None = None
    canonical_rotvec: np.ndarray | None = None
    canonical_translation: np.ndarray | None = None
    texel_seen: np.ndarray | None = None
    blend_range: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_gaussians(self) -> int:
        return int(self.init.shape[0])

    @property
    def n_blendmaps(self) -> int:
        return int(self.blendmaps.shape[0])

    def base_maps(self) -> np.ndarray:
        """U_init + mean offsets, plus the global rectification when there are no blendmaps [N, 13]."""
        base = self.init + self.mean_offsets
        return base + self.rectification if self.n_blendmaps == 0 else base

    def intrinsics(self, size: int | None = None) -> np.ndarray:
        """K [3, 3] of the tracking camera at ``size`` pixels (default ``image_size``)."""
        s = int(size or self.image_size)
        f = focal_from_fov(self.fov_deg, s)
        return np.array([[f, 0, s / 2], [0, f, s / 2], [0, 0, 1]], dtype=np.float32)


#: Every member of an avatar file: dtype kinds, shape (N texels, D blendmaps), finiteness, value range.
AVATAR_SCHEMA = {
    "schema": Field("U"), "head": Field("U"), "identity": Field("f", ("n_id",)),
    "uv_size": Field("iu", min=16, max=2048), "layout_check": Field("U"),
    "init": Field("f", ("N", N_CHANNELS)), "mean_offsets": Field("f", ("N", N_CHANNELS)),
    "rectification": Field("f", ("N", N_CHANNELS)), "blendmaps": Field("f", ("D", "N", N_CHANNELS)),
    "blend_drivers": Field("U", (None,)), "fov_deg": Field("fiu", min=1e-3, max=179.0),
    "distance": Field("fiu", min=1e-3, max=1e3), "viewmat": Field("f", (4, 4)),
    "image_size": Field("iu", min=1, max=16384), "K": Field("f", (3, 3), optional=True),
    "dejavu_version": Field("U", optional=True), "created": Field("U", optional=True),
    "source_video_sha256": Field("U", optional=True),
    **{name: Field("f", (n,), optional=True) for name, n in NEUTRAL_FIELDS.items()},
    "texel_seen": Field("f", ("N",), min=0.0, max=1.0, optional=True),
    "blend_range": Field("f", (2, "D"), optional=True),
}


def template_avatar(head, layout, opacity: str = "official") -> Avatar:
    """The initial avatar of a head model: U_init, zero offsets, no blendmaps, neutral identity."""
    init = init_maps(layout, opacity=opacity).cpu().numpy().astype(np.float32)
    zeros = np.zeros_like(init)
    return Avatar(head=head.name, identity=np.zeros(head.n_identity, np.float32), uv_size=layout.uv_size,
                  layout_check=layout.check, init=init, mean_offsets=zeros, rectification=zeros.copy(),
                  blendmaps=np.zeros((0, *init.shape), np.float32),
                  blend_drivers=[head.expression_names[i] for i in head.blend_drivers],
                  fov_deg=DEFAULT_FOV_DEG, distance=DEFAULT_DISTANCE, viewmat=default_viewmat().numpy(),
                  image_size=512)


def save_avatar(path: str | os.PathLike, avatar: Avatar, atomic: bool = True) -> Path:
    """Validate and write ``avatar`` atomically (compressed NPZ, no pickles); stamps version/date.
    ``atomic=False``: write ``path`` directly (a temp file of the caller's, :mod:`dejavu_cli.io.group`)."""
    arrays = avatar_arrays(avatar)
    if not atomic:
        write_npz(path, arrays)
        return Path(path)
    return save_npz_atomic(path, arrays)


def avatar_arrays(avatar: Avatar) -> dict[str, np.ndarray]:
    """The NPZ members of ``avatar`` (validated; version and creation date stamped)."""
    _validate(avatar, "avatar to save")
    arrays = {
        "schema": np.array(SCHEMA), "head": np.array(avatar.head),
        "identity": np.asarray(avatar.identity, np.float32), "uv_size": np.array(int(avatar.uv_size)),
        "layout_check": np.array(avatar.layout_check),
        "init": np.asarray(avatar.init, np.float32), "mean_offsets": np.asarray(avatar.mean_offsets, np.float32),
        "rectification": np.asarray(avatar.rectification, np.float32),
        "blendmaps": np.asarray(avatar.blendmaps, np.float32),
        "blend_drivers": np.array(list(avatar.blend_drivers), dtype="U64").reshape(-1),
        "fov_deg": np.array(float(avatar.fov_deg)), "distance": np.array(float(avatar.distance)),
        "viewmat": _viewmat(avatar), "image_size": np.array(int(avatar.image_size)),
        "K": avatar.intrinsics(),
        "dejavu_version": np.array(avatar.dejavu_version or __version__),
        "created": np.array(avatar.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")),
        "source_video_sha256": np.array(avatar.source_video_sha256 or ""),
    }
    for name in NEUTRAL_FIELDS:
        value = getattr(avatar, name)
        if value is not None:
            arrays[name] = np.asarray(value, np.float32).reshape(-1)
    if avatar.texel_seen is not None:
        arrays["texel_seen"] = np.asarray(avatar.texel_seen, np.float16).reshape(-1)
    if avatar.blend_range is not None:
        arrays["blend_range"] = np.asarray(avatar.blend_range, np.float32)
    return arrays


def load_avatar(path: str | os.PathLike) -> Avatar:
    """Read and validate an avatar file; one-line :class:`DejavuError` for anything that is not one."""
    path = Path(path)
    if path.is_file() and not looks_like_npz(path):
        raise DejavuError(f"{path} is not a dejavu avatar (.npz)")
    d = load_npz(path, what="avatar file", allowed=AVATAR_SCHEMA)
    schema = str(d["schema"]) if "schema" in d and d["schema"].ndim == 0 else ""
    if not schema.startswith(SCHEMA_PREFIX):
        what = f"a {schema.split('/')[0]} file" if schema.startswith("dejavu.") else "not a dejavu avatar"
        raise DejavuError(f"{path} is {what} (expected schema {SCHEMA})")
    if schema != SCHEMA:
        raise DejavuError(f"{path} has avatar schema {schema!r}; this dejavu reads {SCHEMA} (upgrade dejavu)")
    need = ("head", "identity", "uv_size", "layout_check", "init", "mean_offsets", "rectification", "blendmaps",
            "blend_drivers", "fov_deg", "distance", "viewmat", "image_size")
    missing = [k for k in need if k not in d]
    if missing:
        raise DejavuError(f"{path} is a damaged avatar file (missing {', '.join(missing)})")
    check_fields(d, AVATAR_SCHEMA, str(path))
    try:
        avatar = Avatar(
            head=str(d["head"]), identity=d["identity"].astype(np.float32), uv_size=int(d["uv_size"]),
            layout_check=str(d["layout_check"]), init=d["init"], mean_offsets=d["mean_offsets"],
            rectification=d["rectification"], blendmaps=d["blendmaps"],
            blend_drivers=[str(s) for s in d["blend_drivers"].reshape(-1)], fov_deg=float(d["fov_deg"]),
            distance=float(d["distance"]), viewmat=d["viewmat"].astype(np.float32),
            image_size=int(d["image_size"]), dejavu_version=str(d.get("dejavu_version", "")),
            created=str(d.get("created", "")), source_video_sha256=str(d.get("source_video_sha256", "")),
            **{k: d[k].astype(np.float32) for k in NEUTRAL_FIELDS if k in d},
            texel_seen=d["texel_seen"].astype(np.float32) if "texel_seen" in d else None,
            blend_range=d["blend_range"].astype(np.float32) if "blend_range" in d else None)
    except (TypeError, ValueError) as exc:
        raise DejavuError(f"{path} is a damaged avatar file ({exc})") from None
    _validate(avatar, str(path))
    return avatar


def _viewmat(avatar: Avatar) -> np.ndarray:
    if avatar.viewmat is not None:
        return np.asarray(avatar.viewmat, np.float32)

    return default_viewmat(avatar.distance).numpy()


def _validate(a: Avatar, where: str) -> None:
    """Shapes and values; DejavuError naming the first problem."""
    n = np.asarray(a.init).shape[0] if np.asarray(a.init).ndim == 2 else -1
    checks = [
        (np.asarray(a.init).shape == (n, N_CHANNELS) and n > 0, f"init must be [N, {N_CHANNELS}]"),
        (np.asarray(a.mean_offsets).shape == (n, N_CHANNELS), "mean_offsets must match init"),
        (np.asarray(a.rectification).shape == (n, N_CHANNELS), "rectification must match init"),
        (np.asarray(a.blendmaps).ndim == 3 and np.asarray(a.blendmaps).shape[1:] == (n, N_CHANNELS),
         "blendmaps must be [D, N, 13]"),
        (len(a.blend_drivers) == np.asarray(a.blendmaps).shape[0] or np.asarray(a.blendmaps).shape[0] == 0,
         "blend_drivers must name one expression per blendmap"),
        (np.asarray(a.identity).ndim == 1, "identity must be a vector"),
        (16 <= int(a.uv_size) <= 2048 and n <= int(a.uv_size) ** 2, "uv_size out of range"),
        (a.viewmat is None or np.asarray(a.viewmat).shape == (4, 4), "viewmat must be [4, 4]"),
        (0 < float(a.fov_deg) < 180 and int(a.image_size) > 0, "bad camera (fov/image size)"),
    ]
    if a.texel_seen is not None:
        checks.append((np.asarray(a.texel_seen).shape == (n,), "texel_seen must be [N]"))
    if a.blend_range is not None:
        checks.append((np.asarray(a.blend_range).shape == (2, np.asarray(a.blendmaps).shape[0]),
                       "blend_range must be [2, D]"))
    for ok, message in checks:
        if not ok:
            raise DejavuError(f"{where}: invalid avatar ({message})")
    for name in ("init", "mean_offsets", "rectification", "blendmaps", "identity"):
        if not np.isfinite(np.asarray(getattr(a, name))).all():
            raise DejavuError(f"{where}: invalid avatar ({name} has NaN or infinite values)")


def check_layout(avatar: Avatar, layout) -> None:
    """Raise when the avatar's maps were made for a different UV layout than ``layout``."""
    if avatar.layout_check != layout.check or avatar.n_gaussians != layout.n_texels:
        raise DejavuError(f"avatar layout {avatar.layout_check} ({avatar.n_gaussians} Gaussians) does not match "
                          f"the installed {avatar.head} head model's layout {layout.check} "
                          f"({layout.n_texels} texels at UV size {avatar.uv_size}); re-create the avatar or "
                          f"install the head model version it was made with")
