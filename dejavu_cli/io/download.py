"""Download a URL to a file: progress on stderr, timeout, optional sha256, atomic write.

The destination only appears once the whole body arrived (and matched ``sha256`` when given); an
interrupted or failed download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from dejavu_cli.errors import DejavuError
from dejavu_cli.io.atomic import atomic_path
from dejavu_cli.io.urls import check_url, opener

CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """Hex sha256 of a file's content, read in chunks (videos and checkpoints can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, timeout: float = 60.0,
             progress: bool = True, what: str | None = None) -> Path:
    """Fetch ``url`` into ``dest`` (atomically); return ``dest``.

    Only https URLs (http for loopback hosts; :mod:`dejavu_cli.io.urls`), redirects included.
    ``timeout`` applies to connecting and to each read. Raises :class:`DejavuError` (one line) on network
    errors, HTTP errors, a truncated body (fewer bytes than Content-Length) or a sha256 mismatch.
    """
    dest = Path(dest)
    what = what or dest.name
    check_url(url, f"download of {what}")
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "dejavu-cli"})
        with opener().open(request, timeout=timeout) as response, atomic_path(dest) as tmp:
            total = int(response.headers.get("Content-Length") or 0)
            bar = _bar(total, what) if progress else None
            received = 0
            with open(tmp, "wb") as fh:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            if bar is not None:
                bar.close()
            if total and received != total:
                raise DejavuError(f"download of {what} truncated: {received} of {total} bytes from {url}")
            if sha256 and digest.hexdigest() != sha256.lower():
                raise DejavuError(f"download of {what} does not match its sha256 "
                                  f"(expected {sha256[:12]}..., got {digest.hexdigest()[:12]}...)")
    except DejavuError:
        raise
    except urllib.error.HTTPError as exc:
        raise DejavuError(f"download of {what} failed: HTTP {exc.code} {exc.reason} from {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DejavuError(f"download of {what} failed ({reason}) from {url}; check the network or pass a "
                          f"local file instead") from None
    return dest


def _bar(total: int, what: str):
    return tqdm(total=total or None, unit="B", unit_scale=True, unit_divisor=1024, desc=what, file=sys.stderr,
                leave=False, disable=None)
