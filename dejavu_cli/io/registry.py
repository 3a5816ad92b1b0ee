"""Head-model archive entries of the packaged ``dejavu_cli/weights.toml`` (pinned content hashes).

An entry (``kind = "head-archive"``) pins one upstream revision and the sha256 of every file dejavu reads
from its archive::

    [ict]
    kind = "head-archive"
    source = "https://github.com/<owner>/<repo>/archive/<commit>.zip"
    revision = "<commit>"
    license = "MIT"
    [ict.sha256]
    "FaceXModel/generic_neutral_mesh.obj" = "<64 hex>"   # path inside the archive's top folder

Pinned hashes always come from the packaged file (``$DEJAVU_WEIGHTS_TOML`` only adds checkpoints, see
``recon/registry_ckpt.py``), so an environment variable cannot loosen what a head archive must contain.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.urls import check_url

PACKAGED = Path(__file__).resolve().parents[1] / "weights.toml"


@dataclass
class ArchiveEntry:
    name: str
    source: str
    revision: str
    license: str
    sha256: dict[str, str] = field(default_factory=dict)
    title: str = ""

    def verify(self, rel: str, data: bytes) -> bytes:
        """Return ``data`` if its sha256 matches the pinned hash of ``rel``, else raise a one-line error."""
        want = self.sha256.get(rel)
        if want is None:
            raise DejavuError(f"{rel} is not a pinned file of {self.name} (weights.toml)")
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            raise DejavuError(f"{self.title or self.name}: {rel} does not match its pinned sha256 "
                              f"(expected {want[:12]}..., got {got[:12]}...): tampered or a different revision")
        return data


def read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise DejavuError(f"registry not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DejavuError(f"{path} is not valid TOML: {exc}") from None


def archive_entry(name: str, path: Path | None = None) -> ArchiveEntry:
    """The ``kind = "head-archive"`` entry ``name`` of the packaged registry (or ``path``)."""
    table = read_toml(path or PACKAGED).get(name)
    if not isinstance(table, dict) or table.get("kind") != "head-archive":
        raise DejavuError(f"no head-archive entry {name!r} in {path or PACKAGED}")
    hashes = table.get("sha256", {})
    bad = [k for k, v in hashes.items() if not (isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v))]
    if bad or not hashes:
        raise DejavuError(f"entry {name!r}: sha256 table missing or malformed ({', '.join(bad[:3])})")
    for key in ("source", "revision"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise DejavuError(f"entry {name!r} in {path or PACKAGED}: field {key} missing or not text")
    check_url(table["source"], f"entry {name!r} in {path or PACKAGED}")
    return ArchiveEntry(name=name, source=str(table["source"]), revision=str(table["revision"]),
                        license=str(table.get("license", "")), sha256=dict(hashes), title=str(table.get("title", "")))
