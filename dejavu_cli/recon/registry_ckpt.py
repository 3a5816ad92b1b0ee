"""Checkpoint entries of ``weights.toml`` and fetching them (Hugging Face hub or a plain URL).

The registry file is ``$DEJAVU_WEIGHTS_TOML`` when set, else the packaged ``dejavu_cli/weights.toml``.
Each entry is a table named after the entry; this module reads the ones with ``kind = "checkpoint"``
and ignores the others (head-model archives etc., owned by ``dejavu_cli/io/registry.py``)::

    [my-recon-ict-320]
    kind = "checkpoint"
    repo = "someone/dejavu-recon"   # Hugging Face model repo id ...
    filename = "recon-ict-320.pt"
    revision = "<40-hex commit>"    # pin a commit, not a branch
    # url = "https://.../recon.pt"  # ... or a plain HTTPS URL instead of repo/filename/revision
    sha256 = "<64 hex>"
    license = "CC-BY-NC-4.0"
    head = "ict"                    # head model it was trained for
    uv_size = 320
    layout = "<16 hex>"             # UVLayout.check of that head and S (`dejavu info`-style: build_layout(head, S).check)
    description = "..."

docs/weights.md documents the format. No public checkpoint for dejavu's UV layouts exists, so the
packaged registry has no checkpoint entry.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dejavu_cli.errors import DejavuError
from dejavu_cli.home import home_subdir
from dejavu_cli.io.atomic import atomic_path
from dejavu_cli.io.hub import cached_file, check_sha256, hub_download, hub_offline
from dejavu_cli.io.urls import check_url, opener

ENV_TOML = "DEJAVU_WEIGHTS_TOML"
NO_PUBLIC_CHECKPOINT = ("No public reconstruction-network checkpoint exists for dejavu's UV layouts (ICT-FaceKit "
                        "or FLAME, any UV size), so none is registered. Train one with `dejavu train-recon DATA "
                        "-o CKPT.pt` and pass it as --checkpoint CKPT.pt.")


@dataclass
class CheckpointEntry:
    name: str
    sha256: str
    head: str
    uv_size: int
    layout: str
    license: str
    repo: str | None = None
    filename: str | None = None
    revision: str = "main"
    url: str | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        if self.repo:
            return f"hf://{self.repo}/{self.filename}@{self.revision}"
        return str(self.url)


def registry_path() -> Path:
    env = os.environ.get(ENV_TOML)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "weights.toml"


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    if not path.exists():
        if os.environ.get(ENV_TOML):
            raise DejavuError(f"weights registry not found: {path} (from ${ENV_TOML})")
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DejavuError(f"weights registry {path} is not valid TOML: {exc}") from None


def _raw_entries(data: dict) -> list[tuple[str, dict]]:
    """(name, table) pairs from either ``[NAME]`` tables or a ``[[weights]]`` array with ``name`` keys."""
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and "kind" in value:
            out.append((key, value))
        elif isinstance(value, list):
            out += [(str(v.get("name")), v) for v in value if isinstance(v, dict) and "name" in v]
        elif isinstance(value, dict):  # one level of grouping, e.g. [checkpoints.NAME]
            out += [(k, v) for k, v in value.items() if isinstance(v, dict) and "kind" in v]
    return out


def _entry(name: str, t: dict, path: Path) -> CheckpointEntry:
    def need(key):
        if key not in t or t[key] in ("", None):
            raise DejavuError(f"weights registry {path}: checkpoint {name!r} lacks {key!r}")
        return t[key]

    sha = str(need("sha256")).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise DejavuError(f"weights registry {path}: checkpoint {name!r} sha256 is not 64 hex digits")
    if not t.get("url") and not (t.get("repo") and t.get("filename")):
        raise DejavuError(f"weights registry {path}: checkpoint {name!r} needs repo + filename or url")
    if t.get("url"):  # file:// only in a local registry named by $DEJAVU_WEIGHTS_TOML
        check_url(str(t["url"]), f"weights registry {path}: checkpoint {name!r}",
                  allow_file=bool(os.environ.get(ENV_TOML)))
    known = {"kind", "name", "sha256", "head", "uv_size", "layout", "license", "repo", "filename", "revision",
             "url", "description"}
    uv = need("uv_size")
    if not isinstance(uv, int) or isinstance(uv, bool) or not 8 <= uv <= 4096:
        raise DejavuError(f"weights registry {path}: checkpoint {name!r} field uv_size must be an integer "
                          f"8..4096 (got {uv!r})")
    if not re.fullmatch(r"[0-9a-f]{16}", str(need("layout"))):
        raise DejavuError(f"weights registry {path}: checkpoint {name!r} field layout is not 16 hex digits")
    return CheckpointEntry(name=name, sha256=sha, head=str(need("head")), uv_size=uv,
                           layout=str(need("layout")), license=str(need("license")), repo=t.get("repo"),
                           filename=t.get("filename"), revision=str(t.get("revision", "main")),
                           url=t.get("url"), description=str(t.get("description", "")),
                           extra={k: v for k, v in t.items() if k not in known})


def list_checkpoints() -> list[CheckpointEntry]:
    path = registry_path()
    return [_entry(n, t, path) for n, t in _raw_entries(_read_toml(path)) if t.get("kind") == "checkpoint"]


def all_entries() -> list[tuple[str, str]]:
    """(name, kind) of every registry entry, checkpoints or not."""
    return [(n, str(t.get("kind"))) for n, t in _raw_entries(_read_toml(registry_path()))]


def get_checkpoint(name: str) -> CheckpointEntry:
    entries = {e.name: e for e in list_checkpoints()}
    if name not in entries:
        msg = f"unknown checkpoint {name!r} (registered: {', '.join(sorted(entries)) or 'none'})"
        raise DejavuError(msg if entries else f"{msg}. {NO_PUBLIC_CHECKPOINT}")
    return entries[name]


def _url_cache(entry: CheckpointEntry) -> Path:
    fname = Path(entry.url.split("?")[0]).name or "checkpoint.pt"
    return home_subdir("weights") / f"{entry.sha256[:16]}-{fname}"


def cached_path(entry: CheckpointEntry) -> Path | None:
    """The local copy of a checkpoint if present (not hash-checked), without any network access."""
    if entry.repo:

        return cached_file(entry.repo, entry.filename, entry.revision)
    p = _url_cache(entry)
    return p if p.is_file() else None


def _download_url(entry: CheckpointEntry) -> Path:
    dest = _url_cache(entry)
    if dest.is_file():
        return check_sha256(dest, entry.sha256, f"checkpoint {entry.name!r}")
    if hub_offline():
        raise DejavuError(f"checkpoint {entry.name!r} is not cached ({dest}) and HF_HUB_OFFLINE is set")
    try:
        with atomic_path(dest) as tmp:
            with opener().open(entry.url, timeout=60) as resp, open(tmp, "wb") as fh:
                while block := resp.read(1 << 20):
                    fh.write(block)
            check_sha256(tmp, entry.sha256, f"checkpoint {entry.name!r}", discard=False)
    except OSError as exc:
        raise DejavuError(f"checkpoint {entry.name!r}: download from {entry.url} failed: {exc}") from None
    return dest


def fetch_checkpoint(entry: CheckpointEntry, quiet: bool = False) -> Path:
    """Local path of a registry checkpoint, downloading it if needed; always sha256-checked."""
    if entry.repo:

        return hub_download(entry.repo, entry.filename, entry.revision, entry.sha256,
                            what=f"checkpoint {entry.name!r}", quiet=quiet)
    return _download_url(entry)


def verify_checkpoint(entry: CheckpointEntry) -> str:
    """'ok', 'missing' or 'corrupt' for the cached copy (a corrupt copy is removed)."""
    path = cached_path(entry)
    if path is None:
        return "missing"
    try:
        check_sha256(path, entry.sha256, entry.name)
    except DejavuError:
        return "corrupt"
    return "ok"
