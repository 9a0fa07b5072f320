"""Exceptions of the codec package. Every error a user can cause derives from :class:`InrvError`."""

from __future__ import annotations


class InrvError(Exception):
    """Base class: the CLI prints its message on one line and exits non-zero."""


class VideoError(InrvError):
    """A video that cannot be read or written: missing, unreadable, wrong geometry..."""


class ConfigError(InrvError):
    """Impossible or inconsistent options."""
