"""The checks on a command's input and output paths, made before anything is read or trained, and
``-`` for the standard streams (as x264, x265 and ffmpeg take it).

Light on purpose (no numpy, no torch): the command line runs them before it imports the codec, so
that a missing input or an output in a folder that does not exist is one line in a fraction of a
second, not after seconds of imports or hours of training. :mod:`codec.api` and
:mod:`codec.video` raise the same messages from here.
"""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path

from codec.errors import ConfigError, VideoError

__all__ = ["STDIO", "is_stdio", "check_input", "check_stream", "check_output", "check_output_folder",
           "check_not_input"]

#: The path that means standard input (an input) or standard output (an output).
STDIO = "-"


def is_stdio(path: object) -> bool:
    """True for ``-`` (a string or a path), the standard stream."""
    return isinstance(path, (str, PathLike)) and os.fspath(path) == STDIO


def check_input(path: str | PathLike[str]) -> None:
    """A :class:`VideoError` when ``path`` (not ``-``) does not exist."""
    if not is_stdio(path) and not Path(path).exists():
        raise VideoError(f"no such file or folder: {Path(path)}")


def check_stream(path: str | PathLike[str]) -> None:
    """A :class:`ConfigError` when the ``.inrv`` file to read is not a file."""
    if not Path(path).is_file():
        raise ConfigError(f"no such file: {Path(path)}")


def check_output_folder(path: str | PathLike[str]) -> None:
    """A :class:`VideoError` when the folder an output is to be written in does not exist."""
    path = Path(path)
    if not path.parent.is_dir():
        raise VideoError(f"{path}: folder {path.parent} does not exist")


def check_not_input(src: object, dst: object) -> None:
    """A :class:`ConfigError` when ``dst`` is ``src`` itself (also through links): writing the output
    would destroy the input. Streams and other kinds of source are never the output."""
    if not isinstance(src, (str, PathLike)) or is_stdio(src) or is_stdio(dst):
        return
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise ConfigError(f"the output {dst} is the input: choose another name")


def check_output(dst: str | PathLike[str], src: object = None, *, folder_ok: bool = False) -> None:
    """The output of a command: ``-`` (standard output), or a path in a folder that exists, not
    the input, and not a folder unless ``folder_ok`` (a PNG output)."""
    if is_stdio(dst):
        return
    dst = Path(dst)
    if dst.is_dir() and not folder_ok:
        raise ConfigError(f"the output {dst} is a folder: give a file name")
    check_output_folder(dst)
    check_not_input(src, dst)
