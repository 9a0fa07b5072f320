"""Public API: :func:`encode`, :func:`decode` and :func:`open` (``codec.encode`` etc.).

:func:`encode` checks the paths and dispatches: to rate control (:mod:`codec.ratecontrol`) for a
target bpp or PSNR, else to the single-fit encoder (:mod:`codec.encoder`). Rate is always the
written file's size; quality is always measured on frames decoded back from that file, never on
the encoder's own reconstruction.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream import BitstreamError
from bitstream.container import StreamReader
from codec.config import MAX_DECODE_PIXELS, EncodeConfig, frame_range
from codec.device import configure_threads, resolve_device
from codec.encoder import encode_once
from codec.errors import ConfigError
from codec.family import Decoder, Family, Geometry
from codec.ratecontrol import encode_to_target
from codec.registry import family_by_id
from codec.results import DecodeResult, EncodeResult, StreamInfo
from codec.tools.structure import CodingStructure
from codec.video import VideoWriter, open_video
from codec.weights import use as use_weights

PathLike = str | os.PathLike
#: Bytes per pixel of the raw outputs (4:2:0 for .y4m and .yuv, RGB for a PNG folder at most),
#: checked against the free space of the target's disk before anything is written.
RAW_BYTES_PER_PIXEL = {"y4m": 1.5, "raw-yuv": 1.5, "png": 3.0}


def _check_not_input(src: PathLike, dst: PathLike) -> None:
    """ConfigError when ``dst`` is ``src`` itself (also through links), before any work: writing
    the output would destroy the input."""
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise ConfigError(f"the output {dst} is the input: choose another name")


def _check_output_file(dst: Path) -> None:
    """ConfigError when a file output is an existing folder, before hours of training."""
    if dst.is_dir():
        raise ConfigError(f"the output {dst} is a folder: give a file name")


def _check_decode_size(width: int, height: int, frames: int, dst: Path, max_pixels: int | None) -> None:
    """The pixel cap (``max_pixels`` 0 or None: none) and, for raw outputs, the free disk space."""
    from codec.video.writer import kind_for_path

    pixels = width * height * frames
    if max_pixels and pixels > max_pixels:
        raise ConfigError(f"the stream decodes to {frames} frames of {width}x{height} ({pixels:.3g} pixels), "
                          f"over the limit of {max_pixels:.3g}: --max-pixels N (0: no limit) lifts it")
    per_pixel = RAW_BYTES_PER_PIXEL.get(kind_for_path(dst))
    if per_pixel is not None:
        need = int(pixels * per_pixel)
        parent = next((p for p in dst.absolute().parents if p.exists()), Path.cwd())
        free = shutil.disk_usage(parent).free
        if need > free:
            raise ConfigError(f"{dst} needs {need / 1e9:.3g} GB, {free / 1e9:.3g} GB are free there")


def encode(src: PathLike, dst: PathLike, config: EncodeConfig | None = None) -> EncodeResult:
    """Encode video file ``src`` into ``dst`` (a ``.inrv`` file), then measure it honestly: one fit
    (:func:`codec.encoder.encode_once`), or rate control's probes and fits for a target bpp or PSNR
    (:func:`codec.ratecontrol.encode_to_target`)."""
    config = config or EncodeConfig()
    src, dst = Path(src), Path(dst)
    _check_not_input(src, dst)
    _check_output_file(dst)
    if getattr(config.options, "target", None) is None:
        return encode_once(src, dst, config)
    with open_video(src) as reader:
        start, count = frame_range(reader.info.num_frames, config.start, config.count)
    return encode_to_target(src, dst, config, start, count)


class CodedVideo:
    """An open ``.inrv`` file: ``.info`` and ``.frames(start, stop)`` (see :func:`open`)."""

    def __init__(self, path: PathLike, device: str | object = "auto", weights: PathLike | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"no such file: {self.path}")
        if weights is not None:
            use_weights(weights)
        self._stream = StreamReader(self.path)
        try:
            header = self._stream.header
            try:
                self.family: Family = family_by_id(header.family_id)
            except KeyError:
                raise BitstreamError(f"unknown model family id {header.family_id}") from None
            self.config = self.family.unpack(header.model_config)
            self.geometry = Geometry(header.width, header.height, header.num_frames,
                                     Fraction(header.fps_num, header.fps_den))
            self.device = device if not isinstance(device, str) else resolve_device(device)
            self._decoder: Decoder | None = None
            self.info = StreamInfo(
                path=self.path,
                model=self.family.name,
                family_id=header.family_id,
                width=header.width,
                height=header.height,
                num_frames=header.num_frames,
                fps=self.geometry.fps,
                file_bytes=self._stream.file_size,
                header_bytes=self._stream.header_bytes,
                chunk_bytes=tuple(c.total for c in self._stream.chunks),
                config=self.family.describe(self.config),
            )
        except BaseException:
            self._stream.close()
            raise

    @property
    def chunks(self) -> list:
        return self._stream.chunks

    @property
    def decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = self.family.decoder(self.config, self.geometry, self._stream, self.device)
        return self._decoder

    def read_chunk(self, index: int) -> bytes:
        """Chunk ``index``'s payload, its CRC checked (BitstreamError on damage)."""
        return self._stream.read_chunk(index)

    def describe_chunks(self) -> str | None:
        """What the family adds about the chunks for ``inrv info`` (a table per group, say), or None."""
        return self.family.describe_chunks(self.config, self.geometry, self._stream)

    def structure(self) -> CodingStructure | None:
        """The stream's coding structure (:mod:`codec.tools.structure`), or None for a family without one."""
        return self.family.structure(self.config, self.geometry, self._stream)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield decoded frames ``start .. stop - 1`` one by one, (H, W, 3) uint8."""
        stop = self.info.num_frames if stop is None else stop
        if not 0 <= start < stop <= self.info.num_frames:
            raise ConfigError(f"frame range {start}..{stop} outside 0..{self.info.num_frames}")
        for chunk in self.decoder.render(start, stop):
            yield from chunk

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "CodedVideo":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open(path: PathLike, device: str = "auto", weights: PathLike | None = None) -> CodedVideo:  # noqa: A001
    """Open a ``.inrv`` file for reading: header info, lazy decoding of frame ranges.
    ``weights``: a pretrained weights file the stream needs (``teconerv``) when it is not installed."""
    return CodedVideo(path, device, weights)


def decode(src: PathLike, dst: PathLike, *, start: int = 0, count: int | None = None,
           device: str = "auto", threads: int | None = None,
           max_pixels: int | None = MAX_DECODE_PIXELS, weights: PathLike | None = None) -> DecodeResult:
    """Decode ``src`` (``.inrv``) to ``dst``: .y4m, .mkv (lossless FFV1), .mp4, .yuv or a folder
    of PNGs. ``start``/``count`` select a frame range; only those frames are rendered.
    ``threads``: CPU threads (``None``: every core, or ``INRV_THREADS``); rendering with another
    count can move a rare sample by one level (measured: 4 in a million on the demo's file).
    ``max_pixels``: refuse to decode more pixels than this (None or 0: no limit); raw outputs
    (.y4m, .yuv, PNG) must also fit in the free space of the target's disk. ``weights``: a
    pretrained weights file the stream needs (``teconerv``) when it is not installed."""
    _check_not_input(src, dst)
    configure_threads(threads)
    with CodedVideo(src, device, weights) as coded:
        first, n = frame_range(coded.info.num_frames, start, count)
        _check_decode_size(coded.info.width, coded.info.height, n, Path(dst), max_pixels)
        t0 = time.perf_counter()
        with VideoWriter(dst, width=coded.info.width, height=coded.info.height,
                         fps=coded.info.fps) as writer:
            for chunk in coded.decoder.render(first, first + n):
                writer.write(chunk)
        seconds = time.perf_counter() - t0
    return DecodeResult(path=Path(dst), first_frame=first, num_frames=n, seconds=seconds)
