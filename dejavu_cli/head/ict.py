"""ICT-FaceKit (ICT Face Model Light, MIT): setup (verify + convert) and the linear head model.

``setup_ict(archive)`` reads the GitHub archive of commit :data:`ICT_COMMIT`, checks the sha256 of every
file it uses against ``dejavu_cli/weights.toml`` and writes ``$DEJAVU_HOME/heads/ict.npz``:

- ``template`` [26719, 3] neutral mesh in metres (the OBJs are in centimetres);
- ``id_basis`` [100, V*3] = ``identityNNN.obj - neutral``; ``exp_basis`` [53, V*3] = ``<shape>.obj - neutral``
  for the 53 ARKit-named shapes in the order of ``FaceXModel/vertex_indices.json`` (the two
  ``PupilDilate`` shapes are left out);
- ``faces`` [52220, 3] triangles (quads split a-b-c / a-c-d), ``uv`` [28911, 2] raw UDIM UVs (tile =
  ``floor(u)``, see docs/head-models.md), ``uv_faces``;
- ``face_region`` [F] (``base.REGION_NAMES``) and ``face_part`` [F] (README geometry ordinal, :data:`PARTS`);
- ``landmarks68`` (README Multi-PIE list), ``blend_drivers`` (:data:`BLEND_DRIVERS`).

Model: ``v = template + identity @ id_basis + expression @ exp_basis`` (no joints: the jaw is blendshapes).
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dejavu_cli.errors import DejavuError
from dejavu_cli.head.base import REGION_NAMES, HeadModel, HeadParams
from dejavu_cli.head.obj import read_mesh, read_positions
from dejavu_cli.head.paths import head_path
from dejavu_cli.home import home_subdir
from dejavu_cli.io.atomic import save_npz_atomic
from dejavu_cli.io.download import download
from dejavu_cli.io.registry import archive_entry

ICT_COMMIT = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
ICT_URL = f"https://github.com/ICT-VGL/ICT-FaceKit/archive/{ICT_COMMIT}.zip"
ENV_ARCHIVE = "DEJAVU_ICT_ARCHIVE"
SCHEMA = "dejavu.head.ict/1"
CM = 0.01  # ICT-FaceKit is in centimetres
N_VERTICES, N_IDENTITY, N_EXPRESSION = 26719, 100, 53
NEUTRAL, INDICES = "FaceXModel/generic_neutral_mesh.obj", "FaceXModel/vertex_indices.json"

#: README "Face Model Topology": (geometry name, first polygon, last polygon, region)
PARTS = [
    ("Face", 0, 9229, "face"), ("Head and Neck", 9230, 11143, "scalp"),
    ("Mouth socket", 11144, 13225, "mouth"), ("Eye socket left", 13226, 13629, "other"),
    ("Eye socket right", 13630, 14033, "other"), ("Gums and tongue", 14034, 17005, "mouth"),
    ("Teeth", 17006, 21495, "teeth"), ("Eyeball left", 21496, 23093, "eyeballs"),
    ("Eyeball right", 23094, 24691, "eyeballs"), ("Lacrimal fluid left", 24692, 24854, "other"),
    ("Lacrimal fluid right", 24855, 25017, "other"), ("Eye blend left", 25018, 25032, "other"),
    ("Eye blend right", 25033, 25047, "other"), ("Eye occlusion left", 25048, 25175, "other"),
    ("Eye occlusion right", 25176, 25303, "other"), ("Eyelashes left", 25304, 25843, "other"),
    ("Eyelashes right", 25844, 26383, "other"),
]
#: README "Facial Landmarks": Multi-PIE 68 vertex indices (0-based)
LANDMARKS68 = [1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924, 2608, 3272, 4088,
               3443, 268, 493, 1914, 2044, 1401, 3615, 4240, 4114, 2734, 2509, 978, 4527, 4942, 4857, 1140, 2075,
               1147, 4269, 3360, 1507, 1542, 1537, 1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708,
               5695, 2081, 0, 4275, 6200, 6213, 6346, 6461, 5518, 5957, 5841, 5702, 5711, 5533, 6216, 6207, 6470,
               5517, 5966]
#: README "Right extended jawline" (subject's right, -x), used for the face/neck split
JAWLINE_RIGHT = [1280, 1278, 1275, 1272, 1248, 12, 820, 1834, 1902, 243, 844, 781, 1673, 2199, 801, 1447, 800]
#: 10 expressions whose softmax weights the blendmaps (paper eq. 10); why: docs/head-models.md
BLEND_DRIVERS = ["jawOpen", "mouthSmile_L", "mouthSmile_R", "eyeBlink_L", "eyeBlink_R", "browInnerUp_L",
                 "browDown_L", "mouthFunnel", "mouthPucker", "mouthStretch_L"]
# Geometric splits, in the OBJ's centimetres (docs/head-models.md#ict-regions)
NECK_BACK_Y = -3.5       # "Head and Neck" triangles below this height are neck, above are scalp
JAW_MARGIN = 1.0         # "Face" triangles more than this below the jawline (and below NECK_FACE_Y) are neck
NECK_FACE_Y = -4.0
EAR_BOX = ((6.8, 99.0), (-3.5, 5.0), (-3.5, 1.5))  # |x|, y, z ranges of "Face" triangles that are ears


def setup_ict(archive: str | os.PathLike | None = None, progress: bool = True, force: bool = False) -> Path:
    """Verify and convert ICT-FaceKit; return the path of the cached ``ict.npz``.

    ``archive``: a local zip of commit :data:`ICT_COMMIT` (default ``$DEJAVU_ICT_ARCHIVE``); without one it
    is downloaded from GitHub into ``$DEJAVU_HOME/downloads``. A cache converted by this dejavu version
    from the same commit is kept unless ``force``.
    """

    dest = head_path("ict")
    archive = archive or os.environ.get(ENV_ARCHIVE) or None
    if archive is not None and not Path(archive).expanduser().is_file():
        raise DejavuError(f"ICT-FaceKit archive not found: {archive}" if not Path(archive).expanduser().exists()
                          else f"ICT-FaceKit archive {archive} is not a file")
    if not force and is_current(dest):
        return dest
    if archive is None:
        archive = _download(progress)
    arrays = convert_ict(Path(archive).expanduser(), progress=progress)
    return save_npz_atomic(dest, arrays)


def is_current(path: Path) -> bool:
    """True if ``path`` is an ``ict.npz`` of this schema and commit."""
    if not path.exists():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return str(data["schema"]) == SCHEMA and str(data["revision"]) == ICT_COMMIT
    except Exception:  # unreadable cache: convert again
        return False


def _download(progress: bool) -> Path:
    entry = archive_entry("ict")
    dest = home_subdir("downloads") / f"ICT-FaceKit-{entry.revision}.zip"
    if not dest.exists():
        # the archive bytes are not pinned (GitHub may re-create them); its files are, in convert_ict
        try:
            download(entry.source, dest, progress=progress, what="ICT-FaceKit archive", timeout=60)
        except DejavuError as exc:
            reason = str(exc) if len(str(exc)) <= 160 else str(exc)[:157] + "..."
            raise DejavuError(f"cannot download ICT-FaceKit ({reason}). Without network: get "
                              f"ICT-FaceKit-{entry.revision[:8]}.zip elsewhere, then `dejavu setup ict --archive "
                              f"ZIP` or set {ENV_ARCHIVE}=ZIP") from None
    return dest


def convert_ict(archive: Path, progress: bool = True) -> dict[str, np.ndarray]:
    """Read, verify and convert the archive into the arrays of ``ict.npz``."""
    entry = archive_entry("ict")
    zf, prefix = _open_archive(archive)
    with zf:
        def read(rel: str) -> bytes:
            try:
                data = zf.read(prefix + rel)
            except KeyError:
                raise DejavuError(f"{archive} lacks {rel}: not an ICT-FaceKit archive of {ICT_COMMIT[:8]}") from None
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DejavuError(f"{archive}: cannot read {rel} ({exc})") from None
            return entry.verify(rel, data)

        mesh = read_mesh(read(NEUTRAL), what=NEUTRAL)
        neutral = mesh["v"]
        if len(neutral) != N_VERTICES:
            raise DejavuError(f"{NEUTRAL} has {len(neutral)} vertices, expected {N_VERTICES}")
        names = json.loads(read(INDICES))["expressions"]
        files = [f"FaceXModel/identity{i:03d}.obj" for i in range(N_IDENTITY)] + [f"FaceXModel/{n}.obj" for n in names]
        basis = np.empty((len(files), N_VERTICES * 3), np.float32)
        bar = _bar(len(files), progress)
        for k, rel in enumerate(files):
            pos = read_positions(read(rel), what=rel)
            if pos.shape != neutral.shape:
                raise DejavuError(f"{rel} has {len(pos)} vertices, expected {N_VERTICES}")
            basis[k] = ((pos - neutral) * CM).reshape(-1)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    region, part = ict_regions(neutral, mesh["faces"], mesh["polygon"])
    return {
        "schema": np.array(SCHEMA), "revision": np.array(entry.revision),
        "counts": np.array([N_VERTICES, N_IDENTITY, len(names)], np.int64),  # read by `dejavu setup`
        "template": (neutral * CM).astype(np.float32),
        "faces": mesh["faces"].astype(np.int32), "uv": mesh["vt"].astype(np.float32),
        "uv_faces": mesh["uv_faces"].astype(np.int32), "face_region": region.astype(np.int8),
        "face_part": part.astype(np.int8), "landmarks68": np.array(LANDMARKS68, np.int32),
        "id_basis": basis[:N_IDENTITY], "exp_basis": basis[N_IDENTITY:],
        "expression_names": np.array(names),
        "blend_drivers": np.array([names.index(n) for n in BLEND_DRIVERS], np.int32),
    }


def ict_regions(v: np.ndarray, faces: np.ndarray, polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Region [F] and README part [F] of each triangle.  v [V, 3] in centimetres (the OBJ's units)."""
    part = np.full(len(faces), -1)
    region = np.full(len(faces), -1)
    for k, (_, first, last, name) in enumerate(PARTS):
        sel = (polygon >= first) & (polygon <= last)
        part[sel] = k
        region[sel] = REGION_NAMES.index(name)
    if (part < 0).any():
        raise DejavuError("ICT-FaceKit polygon count differs from the README tables")
    c = v[faces].mean(1)
    ax = np.abs(c[:, 0])
    head_neck, face = part == 1, part == 0
    region[head_neck & (c[:, 1] < NECK_BACK_Y)] = REGION_NAMES.index("neck")
    jaw = v[JAWLINE_RIGHT]
    order = np.argsort(-jaw[:, 0])  # by |x| ascending (right side has x < 0)
    y_jaw = np.interp(ax, -jaw[order, 0], jaw[order, 1])
    region[face & (c[:, 1] < np.minimum(y_jaw, NECK_FACE_Y) - JAW_MARGIN)] = REGION_NAMES.index("neck")
    (x0, x1), (y0, y1), (z0, z1) = EAR_BOX
    ears = face & (ax > x0) & (ax < x1) & (c[:, 1] > y0) & (c[:, 1] < y1) & (c[:, 2] > z0) & (c[:, 2] < z1)
    region[ears] = REGION_NAMES.index("ears")
    return region, part


def _open_archive(path: Path) -> tuple[zipfile.ZipFile, str]:
    if not path.exists():
        raise DejavuError(f"ICT-FaceKit archive not found: {path}")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DejavuError(f"{path} is not a zip archive ({exc})") from None
    hits = [n for n in zf.namelist() if n.endswith(NEUTRAL)]
    if not hits:
        zf.close()
        raise DejavuError(f"{path} is not an ICT-FaceKit archive (no {NEUTRAL})")
    return zf, hits[0][: -len(NEUTRAL)]


def _bar(total: int, progress: bool):
    if not progress:
        return None

    return tqdm(total=total, desc="ICT-FaceKit shapes", unit="obj", file=sys.stderr, leave=False, disable=None)


class ICTHead(HeadModel):
    """ICT-FaceKit as a linear model: ``template + identity @ id_basis + expression @ exp_basis``."""
    has_jaw = False   # the jaw is the jawOpen/jawLeft/jawRight/jawForward blendshapes
    has_neck = False
    has_eyes = False  # eye gaze is the eyeLook* blendshapes

    def __init__(self, arrays: dict[str, np.ndarray], device="cpu"):
        super().__init__()
        if str(arrays.get("schema", "")) != SCHEMA:
            raise DejavuError("the cached ICT-FaceKit model is from another dejavu version: run `dejavu setup ict`")
        self.name = "ict"
        f32 = lambda k: torch.as_tensor(np.asarray(arrays[k], np.float32), device=device)  # noqa: E731
        i64 = lambda k: torch.as_tensor(np.asarray(arrays[k], np.int64), device=device)  # noqa: E731
        for key in ("template", "uv", "id_basis", "exp_basis"):
            self.register_buffer(key, f32(key))
        for key in ("faces", "uv_faces", "face_region", "face_part", "landmarks68"):
            self.register_buffer(key, i64(key))
        self.expression_names = [str(s) for s in arrays["expression_names"]]
        self.blend_drivers = [int(i) for i in arrays["blend_drivers"]]
        self.part_names = [p[0] for p in PARTS]
        self.n_identity = int(self.id_basis.shape[0])
        self.n_expression = int(self.exp_basis.shape[0])

    def forward(self, params: HeadParams) -> torch.Tensor:
        """Model-space vertices [B, V, 3] (metres); jaw/neck/eyes are ignored (ICT has no joints)."""
        B = self.batch_of(params)
        out = self.template.expand(B, -1, -1).reshape(B, -1)
        if params.identity is not None:
            out = out + params.identity.to(self.id_basis.dtype) @ self.id_basis
        if params.expression is not None:
            out = out + params.expression.to(self.exp_basis.dtype) @ self.exp_basis
        return out.reshape(B, -1, 3)
