"""Exceptions of the codec package. Every error a user can cause derives from :class:`InrvError`."""

from __future__ import annotations


class InrvError(Exception):
    """Base class: the CLI prints its message on one line and exits non-zero."""


class VideoError(InrvError):
    """A video that cannot be read or written: missing, unreadable, wrong geometry..."""


class ConfigError(InrvError):
    """Impossible or inconsistent options."""


class EncodeRejected(InrvError):
    """An encode whose written file failed the final check (:mod:`codec.finalcheck`): it decoded far
    under the best PSNR seen in training or under the clip's mean frame, twice. No file is left."""


class DecodeOutOfMemory(InrvError):
    """An allocation failed while decoding (``MemoryError``, torch's allocator errors): the message
    says which stream, its model and geometry, the frames asked for, and the levers (``--frames``,
    ``--max-pixels``, ``--max-memory``)."""


class EncodeError(InrvError):
    """An encode that could not finish for a reason outside its options: a worker process or a
    cluster task of a parallel encode lost (:mod:`codec.tools.workers`). No file is left."""
