"""Checkpoint downloads through huggingface-hub, verified with our own sha256.

Uses the hub's own cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``) and
honours ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE``. huggingface_hub reads those variables once, at import; this
module re-reads them at every call and passes them explicitly (``endpoint=``, ``cache_dir=``,
``local_files_only=``), so a process whose environment changed after the import still does what the
environment says. Offline, a cached file is served with zero network requests.

The hub client only checks the file size. We hash the file after every download and on every use; a file
whose sha256 differs from the registry's is removed from the cache (blob and snapshot link) and refused,
so a bad download is never left in place as valid. huggingface_hub is imported inside the functions.

Unless ``HF_HUB_DISABLE_TELEMETRY`` is set, we switch the client's telemetry off: otherwise it fetches
``{endpoint}/api/agent-harnesses`` to fill its user agent, a request unrelated to the download.
"""

from __future__ import annotations

import os
from pathlib import Path

from tqdm import tqdm

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.download import sha256_file
from dejavu_cli.io.urls import check_url

_TRUE = {"1", "ON", "YES", "TRUE"}


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or the legacy ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(v, "").strip().upper() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    """``$HF_ENDPOINT`` or the public hub; https only (http for loopback hosts, :mod:`dejavu_cli.io.urls`)."""
    return check_url(os.environ.get("HF_ENDPOINT", "").rstrip("/") or "https://huggingface.co", "HF_ENDPOINT")


def hub_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def _discard(path: Path) -> None:
    """Remove a cached file: the blob a snapshot link points to, then the link itself."""
    blob = path.resolve()
    for p in (blob, path):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def check_sha256(path: Path, sha256: str | None, what: str, discard: bool = True) -> Path:
    """Raise (and drop the file from the cache) when ``path`` does not hash to ``sha256``."""
    if not sha256:
        return path
    got = sha256_file(path)
    if got != sha256.lower():
        if discard:
            _discard(path)
        raise DejavuError(f"{what}: sha256 mismatch (expected {sha256[:12]}..., got {got[:12]}...); "
                          f"the file was removed from the cache, download it again")
    return path


def cached_file(repo_id: str, filename: str, revision: str = "main") -> Path | None:
    """The cached copy of a hub file, or None; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo_id, filename, cache_dir=hub_cache_dir(), revision=revision)
    return Path(hit) if isinstance(hit, str) and Path(hit).is_file() else None


def hub_download(repo_id: str, filename: str, revision: str = "main", sha256: str | None = None,
                 what: str | None = None, quiet: bool = False) -> Path:
    """Download (or find in the cache) ``filename`` of model repo ``repo_id`` at ``revision``; sha256-checked.

    Raises :class:`DejavuError` with one line for a missing repository, revision or file, for an offline
    cache miss, an unreachable endpoint, and a hash mismatch.
    """
    import huggingface_hub
    from huggingface_hub import constants, errors

    if "HF_HUB_DISABLE_TELEMETRY" not in os.environ:
        constants.HF_HUB_DISABLE_TELEMETRY = True

    what = what or f"{repo_id}/{filename}"
    offline = hub_offline()
    where = f"{hub_endpoint()}/{repo_id} (revision {revision})"
    kwargs = dict(revision=revision, cache_dir=hub_cache_dir(), endpoint=hub_endpoint(), local_files_only=offline)
    if quiet:

        class _Silent(tqdm):
            def __init__(self, *a, **k):
                k["disable"] = True
                super().__init__(*a, **k)

        kwargs["tqdm_class"] = _Silent
    try:
        path = Path(huggingface_hub.hf_hub_download(repo_id, filename, **kwargs))
    except errors.RemoteEntryNotFoundError:
        raise DejavuError(f"{what}: file {filename!r} not found in {where}") from None
    except errors.RevisionNotFoundError:
        raise DejavuError(f"{what}: revision {revision!r} not found in {hub_endpoint()}/{repo_id}") from None
    except errors.RepositoryNotFoundError:
        raise DejavuError(f"{what}: repository {repo_id!r} not found at {hub_endpoint()} "
                          f"(or it is private/gated)") from None
    except errors.LocalEntryNotFoundError:
        if offline:
            raise DejavuError(f"{what} is not in the Hugging Face cache ({hub_cache_dir()}) and HF_HUB_OFFLINE "
                              f"is set; download it once with network access") from None
        raise DejavuError(f"{what}: cannot reach {hub_endpoint()} and the file is not cached") from None
    except errors.HfHubHTTPError as exc:
        raise DejavuError(f"{what}: download from {where} failed: {str(exc).splitlines()[0]}") from None
    except OSError as exc:  # size consistency check, disk full, permissions
        raise DejavuError(f"{what}: download failed: {str(exc).splitlines()[0]}") from None
    return check_sha256(path, sha256, what)
