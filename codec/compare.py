"""A video for looking at what the codec changed (``inrv decode S -o OUT --compare SOURCE``).

Each frame of the stream is written beside the same frame of the source and an error map, in one
row: source | decoded | error. The error map is ``|decoded - source|`` per RGB sample, averaged over
the three channels and multiplied by :data:`ERROR_GAIN`, in grey: black where the two agree, white
from an error of ``255 / ERROR_GAIN`` up. Frame ``i`` of the stream is compared with frame ``i`` of
the source, so give the source the encode read (cut the same way when it was encoded with
``--frames START:COUNT``). Any output the decoder writes (``.mp4`` for viewing, ``.mkv`` lossless,
``.y4m``, PNG folders, ``-``); the frames are three times as wide as the stream's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codec.config import MAX_DECODE_PIXELS, frame_range
from codec.errors import ConfigError
from codec.metrics import psnr_rgb
from codec.paths import check_input, check_not_input

__all__ = ["ERROR_GAIN", "CompareResult", "side_by_side", "compare"]

#: How much the error map amplifies the mean absolute RGB error.
ERROR_GAIN = 4


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` wrote: frames ``first_frame ..`` (``num_frames``), their mean PSNR-RGB
    against the source, and the call's wall seconds."""

    path: Path
    first_frame: int
    num_frames: int
    psnr_rgb: float
    seconds: float


def side_by_side(source: np.ndarray, decoded: np.ndarray, gain: int = ERROR_GAIN) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 source and decoded frames -> ``(N, H, 3W, 3)``: source | decoded | error."""
    error = np.abs(decoded.astype(np.int16) - source.astype(np.int16)).mean(axis=-1) * gain
    grey = np.clip(np.rint(error), 0, 255).astype(np.uint8)
    return np.concatenate([source, decoded, np.repeat(grey[..., None], 3, axis=-1)], axis=2)


def compare(stream: str | os.PathLike, source: str | os.PathLike, dst: str | os.PathLike, *, start: int = 0,
            count: int | None = None, device: str = "auto", threads: int | None = None,
            weights: str | os.PathLike | None = None, max_pixels: int | None = MAX_DECODE_PIXELS) -> CompareResult:
    """Write ``stream``'s frames ``start .. start + count - 1`` beside ``source``'s to ``dst`` (see
    the module). A source of another size or with too few frames is a :class:`ConfigError`, before
    anything is written; ``max_pixels`` and the free disk space bound the output as for
    :func:`codec.decode` (three times the decoded pixels)."""
    from codec.api import CodedVideo, _check_decode_size
    from codec.device import configure_threads
    from codec.video import VideoWriter, open_video

    check_input(source)
    for original in (stream, source):
        check_not_input(original, dst)
    configure_threads(threads)
    t0 = time.perf_counter()
    with CodedVideo(stream, device, weights) as coded, open_video(source) as reader:
        info, seen = coded.info, reader.info
        if (seen.width, seen.height) != (info.width, info.height):
            raise ConfigError(f"{source} is {seen.width}x{seen.height}, the stream {info.width}x{info.height}: "
                              "compare with the video it was encoded from")
        first, n = frame_range(info.num_frames, start, count)
        if seen.num_frames < first + n:
            raise ConfigError(f"{source} has {seen.num_frames} frames, the comparison needs {first + n}")
        _check_decode_size(3 * info.width, info.height, n, Path(dst), max_pixels)
        scores = []
        position = first
        with VideoWriter(dst, width=3 * info.width, height=info.height, fps=info.fps) as writer:
            for decoded in coded.decoder.render(first, first + n):
                original = reader.read(position, len(decoded))
                scores.append(psnr_rgb(original, decoded))
                writer.write(side_by_side(original, decoded))
                position += len(decoded)
    return CompareResult(Path(dst), first, n, float(np.concatenate(scores).mean()), time.perf_counter() - t0)
