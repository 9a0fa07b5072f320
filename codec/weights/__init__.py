"""Pretrained weights: files named by their hash, shipped in this folder or given by the user.

A weights file is identified by the first :data:`ID_BYTES` bytes of its SHA-256 (its *id*,
written in every stream that needs it). :func:`find` looks for an id among the files given with
:func:`use` (``--weights FILE``), the folders of ``$INRV_WEIGHTS`` (``os.pathsep``-separated) and
the files shipped here, and fails with one line naming the id when none has it. Nothing is ever
downloaded. Loading reads tensors only (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from codec.errors import ConfigError

ID_BYTES = 8
SHIPPED = Path(__file__).parent
SUFFIX = ".pt"

_given: dict[bytes, Path] = {}


_hashed: dict[tuple[str, int, int], bytes] = {}


def sha256_file(path: str | os.PathLike) -> bytes:
    """The SHA-256 of a file, read in 1 MiB blocks (OSError passes through)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def file_id(path: str | os.PathLike) -> bytes:
    """The id of a weights file: the first :data:`ID_BYTES` bytes of its SHA-256. Ids are cached
    by (path, size, modification time), so one encode hashes its weights file once."""
    try:
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
        if key not in _hashed:
            _hashed[key] = sha256_file(path)[:ID_BYTES]
    except OSError as exc:
        raise ConfigError(f"cannot read weights {path}: {exc.strerror or exc}") from None
    return _hashed[key]


def use(path: str | os.PathLike) -> bytes:
    """Make a weights file findable by its id (what ``--weights FILE`` does); returns the id."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such weights file: {path}")
    wid = file_id(path)
    _given[wid] = path
    return wid


def _candidates(prefix: str) -> list[Path]:
    folders = [Path(p) for p in os.environ.get("INRV_WEIGHTS", "").split(os.pathsep) if p] + [SHIPPED]
    return [p for folder in folders if folder.is_dir() for p in sorted(folder.glob(f"{prefix}-*{SUFFIX}"))]


def shipped(prefix: str) -> list[Path]:
    """Weights files of one kind (``teconerv``) installed with the package, newest name last."""
    return sorted(SHIPPED.glob(f"{prefix}-*{SUFFIX}"))


def find(wid: bytes, prefix: str) -> Path:
    """The file whose id is ``wid``; ConfigError naming it when no known file has it."""
    if wid in _given:
        return _given[wid]
    for path in _candidates(prefix):
        if path.stem.endswith(wid.hex()) and file_id(path) == wid:
            return path
    raise ConfigError(f"this stream needs {prefix} weights {wid.hex()}, which are not installed: "
                      f"pass the file with --weights FILE (or put it in a folder named by $INRV_WEIGHTS)")
