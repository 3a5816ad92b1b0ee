"""glTF 2.0 binary (``.glb``) with the ratified Khronos extension KHR_gaussian_splatting, through pygltflib.

One node, one mesh, one ``POINTS`` primitive whose attributes are the Gaussians (all float32, tightly packed,
one buffer view each):

- ``POSITION`` (VEC3, with the min/max glTF requires), metres;
- ``KHR_gaussian_splatting:ROTATION`` (VEC4) unit quaternion in glTF's (x, y, z, w) order;
- ``KHR_gaussian_splatting:SCALE`` (VEC3) linear standard deviations, exp(log-scale) ("Scale values are linear
  and MUST NOT be negative": the ratified text; drafts had log-space);
- ``KHR_gaussian_splatting:OPACITY`` (SCALAR) in [0, 1], the sigmoid applied;
- ``KHR_gaussian_splatting:SH_DEGREE_0_COEF_0`` (VEC3) the SH DC coefficients (colour = 0.5 + C0 * coef);
- ``COLOR_0`` (VEC4, unsigned byte normalized) the diffuse colour and opacity, for viewers that fall back to a
  point cloud.

Extension object: kernel ``ellipse``, colorSpace ``srgb_rec709_display`` (what the avatar is trained in),
projection ``perspective``, sortingMethod ``cameraDistance``. glTF's own frame is y up with the asset's front
towards +z, which is ours, so the file is written in it whatever ``--convention`` says.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pygltflib as gltf

from dejavu_cli.avatar.gaussians import SH_C0
from dejavu_cli.export.gaussians import as_export_dict
from dejavu_cli.io.atomic import atomic_path

EXTENSION = "KHR_gaussian_splatting"
_TYPES = {1: "SCALAR", 3: "VEC3", 4: "VEC4"}


def glb_attributes(g: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The primitive's attributes {semantic: [N, C] array} from an export dict (pre-activation, y-up)."""
    q = np.asarray(g["quats"], np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    opacity = 1.0 / (1.0 + np.exp(-np.asarray(g["opacity_logits"], np.float64)))
    sh = np.asarray(g["sh_dc"], np.float32)
    rgba = np.concatenate([np.clip(0.5 + SH_C0 * sh, 0, 1), opacity[:, None]], 1)
    return {"POSITION": np.asarray(g["means"], np.float32),
            f"{EXTENSION}:ROTATION": q[:, [1, 2, 3, 0]].astype(np.float32),
            f"{EXTENSION}:SCALE": np.exp(np.asarray(g["log_scales"], np.float64)).astype(np.float32),
            f"{EXTENSION}:OPACITY": opacity.astype(np.float32)[:, None],
            f"{EXTENSION}:SH_DEGREE_0_COEF_0": sh,
            "COLOR_0": np.round(rgba * 255).astype(np.uint8)}


def glb_document(g: dict[str, np.ndarray]) -> gltf.GLTF2:
    """The glTF document (JSON part and binary blob) of an export dict."""
    blob = bytearray()
    accessors, views, attributes = [], [], gltf.Attributes()
    for semantic, data in glb_attributes(g).items():
        data = np.ascontiguousarray(data)
        blob.extend(b"\0" * (-len(blob) % 4))                     # every view 4-byte aligned
        views.append(gltf.BufferView(buffer=0, byteOffset=len(blob), byteLength=data.nbytes,
                                     target=gltf.ARRAY_BUFFER))
        blob.extend(data.tobytes())
        ubyte = data.dtype == np.uint8
        acc = gltf.Accessor(bufferView=len(views) - 1, componentType=gltf.UNSIGNED_BYTE if ubyte else gltf.FLOAT,
                            normalized=True if ubyte else None, count=len(data), type=_TYPES[data.shape[1]])
        if semantic == "POSITION":
            acc.min, acc.max = data.min(axis=0).tolist(), data.max(axis=0).tolist()
        accessors.append(acc)
        setattr(attributes, semantic, len(accessors) - 1)
    splats = {"kernel": "ellipse", "colorSpace": "srgb_rec709_display", "projection": "perspective",
              "sortingMethod": "cameraDistance"}
    prim = gltf.Primitive(attributes=attributes, mode=gltf.POINTS, extensions={EXTENSION: splats})
    doc = gltf.GLTF2(asset=gltf.Asset(version="2.0", generator="dejavu"), extensionsUsed=[EXTENSION],
                     scene=0, scenes=[gltf.Scene(nodes=[0])], nodes=[gltf.Node(mesh=0, name="avatar")],
                     meshes=[gltf.Mesh(primitives=[prim], name="gaussians")], accessors=accessors,
                     bufferViews=views, buffers=[gltf.Buffer(byteLength=len(blob))])
    doc.set_binary_blob(bytes(blob))
    return doc


def write_glb(source, path: str | os.PathLike, expression: str | None = None) -> Path:
    """Write a ``.glb`` atomically from an Avatar (static, at ``expression``) or an export dict (y-up)."""
    doc = glb_document(as_export_dict(source, expression))
    with atomic_path(path, suffix=".glb") as tmp:
        doc.save_binary(str(tmp))
    return Path(path)
