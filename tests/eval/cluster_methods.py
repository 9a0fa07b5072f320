"""A method for the Ray tests that fails every time, counting its attempts in a file (workers
import it by name: the tests put the repository on their PYTHONPATH)."""

from __future__ import annotations

from pathlib import Path

from eval.anchors import ANCHOR_SPECS, FfmpegAnchor


class Failing(FfmpegAnchor):
    """x264-medium whose encode raises, after writing one line to ``attempts``."""

    def __init__(self, attempts: Path) -> None:
        super().__init__(ANCHOR_SPECS["x264-medium"])
        self.name = "failing"
        self.attempts = attempts

    def encode(self, seq, setting, workdir):
        with open(self.attempts, "a") as f:
            f.write("attempt\n")
        raise RuntimeError("this encoder always fails")
