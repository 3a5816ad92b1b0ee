"""Which URLs dejavu fetches from: https only, plus two narrow exceptions.

* ``http://`` only for loopback hosts (``127.0.0.0/8``, ``::1``, ``localhost``): traffic that never leaves
  this machine cannot be read or changed on the way, and the offline tests serve their files from a local
  ``http.server`` on 127.0.0.1. Any other plain-http host is refused: a man in the middle could swap the
  file (pinned sha256 hashes catch that too, but not every fetch has one, e.g. an HF endpoint).
* ``file://`` only where the caller allows it explicitly: a checkpoint entry of a local registry named by
  ``$DEJAVU_WEIGHTS_TOML`` (never the packaged registry).

Redirects are held to the same rule (:func:`opener`), so an https URL cannot bounce to plain http.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
import urllib.request

from dejavu_cli.errors import DejavuError

RULE = "only https:// URLs are fetched (http:// only from this machine: 127.0.0.1, ::1, localhost)"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (IPv4 127/8, IPv6 ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str, allow_file: bool = False) -> str:
    """``url`` when dejavu may fetch it (see the module docstring), else a one-line DejavuError."""
    try:
        parts = urllib.parse.urlsplit(str(url))
        host = parts.hostname or ""
    except ValueError:
        raise DejavuError(f"{what}: {url!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and is_loopback(host):
        return url
    if scheme == "file" and allow_file:
        return url
    extra = "; file:// only in a local registry ($DEJAVU_WEIGHTS_TOML)" if scheme == "file" else ""
    raise DejavuError(f"{what}: refusing {url!r}: {RULE}{extra}")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl, f"redirect from {req.full_url}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def opener() -> urllib.request.OpenerDirector:
    """A urllib opener whose redirects obey :func:`check_url`."""
    return urllib.request.build_opener(_CheckedRedirects)
