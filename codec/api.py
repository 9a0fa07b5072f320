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
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream import BitstreamError
from bitstream.container import StreamReader
from codec.config import MAX_DECODE_PIXELS, EncodeConfig, frame_range
from codec.device import configure_threads, resolve_device
from codec.encoder import encode_once
from codec.errors import ConfigError, DecodeOutOfMemory
from codec.family import Decoder, Family, Geometry
from codec.paths import check_not_input, check_output, check_stream, is_stdio
from codec.memory import format_bytes, is_out_of_memory, memory_limit
from codec.ratecontrol import encode_to_target
from codec.registry import family_by_id
from codec.results import DecodeResult, EncodeResult, StreamInfo
from codec.timing import Timed
from codec.tools.structure import CodingStructure
from codec.video import VideoInput, VideoWriter, open_input
from codec.weights import use as use_weights

PathLike = str | os.PathLike
#: A decode memory limit: ``"auto"`` (half of this machine's memory, :func:`codec.memory.default_max_memory`),
#: bytes, or None / 0 for no limit.
MemoryLimit = int | str | None
#: Bytes per pixel of the raw outputs (4:2:0 for .y4m and .yuv, RGB for a PNG folder at most),
#: checked against the free space of the target's disk before anything is written.
RAW_BYTES_PER_PIXEL = {"y4m": 1.5, "raw-yuv": 1.5, "png": 3.0}


def _check_decode_size(width: int, height: int, frames: int, dst: Path, max_pixels: int | None) -> None:
    """The pixel cap (``max_pixels`` 0 or None: none) and, for raw outputs, the free disk space."""
    from codec.video.writer import kind_for_path

    pixels = width * height * frames
    if max_pixels and pixels > max_pixels:
        raise ConfigError(f"the stream decodes to {frames} frames of {width}x{height} ({pixels:.3g} pixels), "
                          f"over the limit of {max_pixels:.3g}: --max-pixels N (0: no limit) lifts it")
    per_pixel = None if is_stdio(dst) else RAW_BYTES_PER_PIXEL.get(kind_for_path(dst))
    if per_pixel is not None:
        need = int(pixels * per_pixel)
        parent = next((p for p in dst.absolute().parents if p.exists()), Path.cwd())
        free = shutil.disk_usage(parent).free
        if need > free:
            raise ConfigError(f"{dst} needs {need / 1e9:.3g} GB, {free / 1e9:.3g} GB are free there")


def encode(src: PathLike | VideoInput, dst: PathLike, config: EncodeConfig | None = None) -> EncodeResult:
    """Encode ``src`` into ``dst`` (a ``.inrv`` file), then measure it honestly: one fit
    (:func:`codec.encoder.encode_once`), or rate control's probes and fits for a target bpp or PSNR
    (:func:`codec.ratecontrol.encode_to_target`). ``src``: a video file, a
    :class:`codec.video.VideoFile` (with the geometry a raw file does not state) or a
    :class:`codec.video.Y4mPipe` (Y4M on standard input). ``dst`` must lie in a folder that exists
    and must not be the input (checked before anything is read)."""
    config = config or EncodeConfig()
    src = src if isinstance(src, VideoInput) else Path(src)
    dst = Path(dst)
    check_output(dst, src)
    if getattr(config.options, "target", None) is None:
        return encode_once(src, dst, config)
    with open_input(src) as reader:
        start, count = frame_range(reader.info.num_frames, config.start, config.count)
    return encode_to_target(src, dst, config, start, count)


class CodedVideo:
    """An open ``.inrv`` file: ``.info`` and ``.frames(start, stop)`` (see :func:`open`).
    ``max_memory``: what its decoder may need (:meth:`decode_memory`), checked before the decoder
    is built (:meth:`check_memory`)."""

    def __init__(self, path: PathLike, device: str | object = "auto", weights: PathLike | None = None,
                 max_memory: MemoryLimit = "auto") -> None:
        self.path = Path(path)
        self.max_memory = max_memory
        self._need: int | None = None
        check_stream(self.path)
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
        """The family's decoder, built on first use after :meth:`check_memory`."""
        if self._decoder is None:
            self.check_memory()
            self._decoder = self.family.decoder(self.config, self.geometry, self._stream, self.device)
        return self._decoder

    def decode_memory(self) -> int:
        """Bytes decoding this stream needs at its peak, as its family states them from the header
        and config (:meth:`codec.family.Family.decode_memory`); nothing is allocated."""
        if self._need is None:
            self._need = int(self.family.decode_memory(self.config, self.geometry))
        return self._need

    def check_memory(self) -> None:
        """ConfigError when :meth:`decode_memory` is over ``max_memory``, before anything is allocated."""
        limit = memory_limit(self.max_memory)
        if limit is not None and self.decode_memory() > limit:
            info = self.info
            raise ConfigError(f"decoding needs about {format_bytes(self.decode_memory())} of memory ({info.model}, "
                              f"{info.width}x{info.height}), over the limit of {format_bytes(limit)}: "
                              "--max-memory SIZE (0: no limit) lifts it")

    def what(self, start: int, stop: int) -> str:
        """The stream, its model, geometry and a frame range, for a message."""
        info = self.info
        return (f"{self.path.name} ({info.model}, {info.num_frames} frames of {info.width}x{info.height}, "
                f"frames {start}..{stop - 1}"
                + (f", about {format_bytes(self._need)} by its family's figure" if self._need else "") + ")")

    @contextmanager
    def out_of_memory(self, start: int, stop: int) -> Iterator[None]:
        """An allocation failure in the block (:func:`codec.memory.is_out_of_memory`) becomes one
        :class:`DecodeOutOfMemory` naming what was decoded and the levers."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - only allocation failures are translated
            if not is_out_of_memory(exc):
                raise
            raise DecodeOutOfMemory(f"out of memory decoding {self.what(start, stop)}: decode fewer frames at once "
                                    "(--frames START:COUNT), or refuse such streams before decoding "
                                    "(--max-pixels N, --max-memory SIZE)") from None

    def read_chunk(self, index: int) -> bytes:
        """Chunk ``index``'s payload, its CRC checked (BitstreamError on damage)."""
        return self._stream.read_chunk(index)

    def describe_chunks(self, values: bool = False) -> str | None:
        """What the family adds about the chunks for ``inrv info`` (a table per group, say), or None;
        ``values``: also what needs the values decoded (after :meth:`check_memory`)."""
        if values:
            self.check_memory()
        return self.family.describe_chunks(self.config, self.geometry, self._stream, values)

    def structure(self) -> CodingStructure | None:
        """The stream's coding structure (:mod:`codec.tools.structure`), or None for a family without one."""
        return self.family.structure(self.config, self.geometry, self._stream)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield decoded frames ``start .. stop - 1`` one by one, (H, W, 3) uint8."""
        stop = self.info.num_frames if stop is None else stop
        if not 0 <= start < stop <= self.info.num_frames:
            raise ConfigError(f"frame range {start}..{stop} outside 0..{self.info.num_frames}")
        with self.out_of_memory(start, stop):
            for chunk in self.decoder.render(start, stop):
                yield from chunk
                del chunk  # not held while the next frames are rendered (a caller may still hold its last)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "CodedVideo":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open(path: PathLike, device: str = "auto", weights: PathLike | None = None,  # noqa: A001
         max_memory: MemoryLimit = "auto") -> CodedVideo:
    """Open a ``.inrv`` file for reading: header info, lazy decoding of frame ranges.
    ``weights``: a pretrained weights file the stream needs (``teconerv``) when it is not installed.
    ``max_memory``: refuse to decode a stream whose family states a larger need (bytes; ``"auto"``:
    half of this machine's memory; None or 0: no limit), checked when frames are first asked for."""
    return CodedVideo(path, device, weights, max_memory)


def decode(src: PathLike, dst: PathLike, *, start: int = 0, count: int | None = None,
           device: str = "auto", threads: int | None = None,
           max_pixels: int | None = MAX_DECODE_PIXELS, weights: PathLike | None = None,
           max_memory: MemoryLimit = "auto") -> DecodeResult:
    """Decode ``src`` (``.inrv``) to ``dst``: .y4m, .mkv (lossless FFV1), .mp4, .yuv, a folder
    of PNGs, or ``-`` (Y4M on standard output, written as the frames are rendered). ``start``/``count`` select a frame range; only those frames are rendered.
    ``threads``: CPU threads (``None``: every core, or ``INRV_THREADS``); rendering with another
    count can move a rare sample by one level (the demo's file: ``render_samples_changed`` in
    docs/data/demo.json, written by scripts/demo_figures.py).
    ``max_pixels``: refuse to decode more pixels than this (None or 0: no limit); raw outputs
    (.y4m, .yuv, PNG) must also fit in the free space of the target's disk. ``weights``: a
    pretrained weights file the stream needs (``teconerv``) when it is not installed.
    ``max_memory``: refuse a stream whose family states a larger decode memory need (bytes;
    ``"auto"``: half of this machine's memory; None or 0: no limit). Running out of memory while
    decoding is one :class:`codec.errors.DecodeOutOfMemory`."""
    check_not_input(src, dst)
    configure_threads(threads)
    with CodedVideo(src, device, weights, max_memory) as coded:
        first, n = frame_range(coded.info.num_frames, start, count)
        coded.check_memory()  # what the stream asks of this machine, then whether its output fits the disk
        _check_decode_size(coded.info.width, coded.info.height, n, Path(dst), max_pixels)
        t0 = time.perf_counter()
        with coded.out_of_memory(first, first + n), VideoWriter(dst, width=coded.info.width,
                                                                 height=coded.info.height, fps=coded.info.fps) as writer:
            frames = Timed(coded.decoder.render(first, first + n))  # the network is built before: not render time
            for chunk in frames:
                writer.write(chunk)
                del chunk  # the frames written go before the next are rendered (an 8K frame: 192 MB)
        seconds = time.perf_counter() - t0
    return DecodeResult(path=Path(dst), first_frame=first, num_frames=n, seconds=seconds,
                        render_seconds=frames.seconds)
