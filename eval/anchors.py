"""Conventional anchors: x264, x265, SVT-AV1 and VVenC from the ffmpeg that imageio-ffmpeg ships.

Every anchor is one :class:`FfmpegAnchor` built from an :class:`AnchorSpec` (encoder, preset, rate
knob, low-delay or default GOP); there is no per-codec class. How a point is made:

* **Input**: the sequence's own 8-bit 4:2:0 frames, read by the harness and piped raw to ffmpeg
  (VVenC only takes 10-bit input: samples are shifted left by 2, exactly what ffmpeg itself does).
* **Rate**: the bytes of the *elementary stream* file: Annex-B ``.264``/``.265``/``.266`` and the AV1
  low-overhead OBU stream ``.obu`` (no container, so nothing to subtract). Informational SEI that the
  encoders add and no decoder needs (x264's option string, about 0.7 kB; x265's version info, about
  2.4 kB) is left out: x264's by the ``filter_units`` bitstream filter, x265's with ``info=0``.
* **Decoding**: ffmpeg's decoders, timed once to ``null``; the frames for measurement are read as
  raw yuv420p (10-bit output is brought back to 8 bits by rounding, ``(x + 2) >> 2``, never dithered).
* **Threads**: the encoders' own choice (all cores), or ``threads`` as each takes it (x264 and
  VVenC ffmpeg's ``-threads``, x265 ``pools=N``, SVT-AV1 ``lp=N``; decoders ``-threads``); recorded
  in the result files when given.
* **GOP**: the encoders' defaults (x264/x265: keyint 250 with B-frames; SVT-AV1: its random-access
  structure; VVenC: random access, intra period 1 s). ``-ld`` variants disable B-frames (low delay).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from codec.errors import ConfigError
from codec.video.ffmpeg import FfmpegProcess
from codec.video.frames import YUVFrames, i420_frame_bytes
from eval import ffmpeg
from eval.base import DecodedChunk, Decoded, Encoded, Setting, spread

if TYPE_CHECKING:
    from eval.datasets import Sequence

__all__ = ["AnchorSpec", "FfmpegAnchor", "ANCHOR_SPECS", "anchor_specs"]


@dataclass(frozen=True)
class AnchorSpec:
    """One conventional encoder configuration.

    ``knob`` is ffmpeg's rate option (``crf`` or ``qp``) swept from ``high`` (lowest rate) to ``low``;
    ``options`` are the fixed encoder options; ``gop`` describes the GOP structure for reports.
    """

    name: str
    codec: str
    encoder: str
    preset: str
    knob: Literal["crf", "qp"]
    low: int
    high: int
    limits: tuple[int, int]
    muxer: str
    suffix: str
    gop: str
    options: tuple[str, ...] = ()
    bit_depth: int = 8


#: B-frames the x264/x265 presets use (their documented preset tables), for the GOP description.
_PRESET_BFRAMES = {("x264", "medium"): 3, ("x264", "veryslow"): 8, ("x265", "medium"): 4, ("x265", "veryslow"): 8}


def _x26x(codec: str, preset: str, low_delay: bool) -> AnchorSpec:
    """x264 / x265 at ``preset`` with CRF, default GOP or low delay (no B-frames)."""
    name = f"{codec}-{preset}" + ("-ld" if low_delay else "")
    bframes = _PRESET_BFRAMES[(codec, preset)]
    if codec == "x264":
        options = ("-preset", preset) + (("-bf", "0") if low_delay else ()) + ("-bsf:v", "filter_units=remove_types=6")
        return AnchorSpec(
            name, "x264", "libx264", preset, "crf", 20, 44, (0, 51), "h264", ".264",
            "keyint 250, no B-frames (low delay)" if low_delay else f"keyint 250, up to {bframes} B-frames (preset default)",
            options,
        )
    params = "log-level=error:info=0" + (":bframes=0" if low_delay else "")
    return AnchorSpec(
        name, "x265", "libx265", preset, "crf", 20, 44, (0, 51), "hevc", ".265",
        "keyint 250, no B-frames (low delay)" if low_delay else f"keyint 250, up to {bframes} B-frames (preset default)",
        ("-preset", preset, "-x265-params", params),
    )


def _build_specs() -> dict[str, AnchorSpec]:
    specs = [_x26x(c, p, ld) for c in ("x264", "x265") for p in ("medium", "veryslow") for ld in (False, True)]
    specs += [
        AnchorSpec(
            "svtav1", "SVT-AV1", "libsvtav1", "8", "crf", 24, 60, (1, 63), "obu", ".obu",
            "SVT-AV1 default random access (keyframe interval about 5 s)", ("-preset", "8"),
        ),
        AnchorSpec(
            "svtav1-ld", "SVT-AV1", "libsvtav1", "8", "crf", 24, 60, (1, 63), "obu", ".obu",
            "low delay (pred-struct=1, no backward references)", ("-preset", "8", "-svtav1-params", "pred-struct=1"),
        ),
        AnchorSpec(
            "vvenc", "VVenC", "libvvenc", "medium", "qp", 22, 47, (0, 63), "vvc", ".266",
            "VVenC default random access, intra period 1 s; QPA off (objective tuning)",
            ("-preset", "medium", "-qpa", "0"), bit_depth=10,
        ),
    ]
    return {s.name: s for s in specs}


#: Every anchor by name (``x265-medium``, ``x264-veryslow-ld``, ``svtav1``, ``vvenc`` ...).
ANCHOR_SPECS: dict[str, AnchorSpec] = _build_specs()


def anchor_specs() -> list[AnchorSpec]:
    """All anchor configurations, in a stable order."""
    return list(ANCHOR_SPECS.values())


#: Encoders told their thread count by a key of their own parameter list, not ffmpeg's -threads.
_THREAD_PARAMS = {"libx265": ("-x265-params", "pools"), "libsvtav1": ("-svtav1-params", "lp")}


def thread_options(options: tuple[str, ...], encoder: str, threads: int) -> tuple[str, ...]:
    """``options`` with ``encoder`` told to use ``threads`` threads (merged into its parameter list
    when the options already hold one: ffmpeg keeps only the last)."""
    if encoder not in _THREAD_PARAMS:
        return (*options, "-threads", str(threads))
    flag, key = _THREAD_PARAMS[encoder]
    if flag in options:
        i = options.index(flag) + 1
        return (*options[:i], f"{options[i]}:{key}={threads}", *options[i + 1:])
    return (*options, flag, f"{key}={threads}")


class FfmpegAnchor:
    """A :class:`~eval.base.Method` encoding with one :class:`AnchorSpec` through ffmpeg;
    ``threads``: the encoder's and decoder's thread count (None: their own choice)."""

    kind: Literal["anchor"] = "anchor"

    def __init__(self, spec: AnchorSpec, threads: int | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.threads = threads

    def describe(self) -> dict:
        s = self.spec
        return {
            "encoder": s.encoder,
            "preset": s.preset,
            "rate-control": s.knob,
            "gop": s.gop,
            "options": list(s.options),
            "input": f"yuv420p{'' if s.bit_depth == 8 else '10le (8-bit samples << 2)'} raw pipe",
            "bitstream": f"{s.muxer} elementary stream ({s.suffix})",
            "rate": "elementary stream file bytes",
            "ffmpeg": ffmpeg.version(),
            **({"threads": self.threads} if self.threads is not None else {}),
        }

    def description(self) -> str:
        s = self.spec
        threads = f"{self.threads} thread{'s' if self.threads > 1 else ''}" if self.threads else "the encoder's threads"
        return (f"{s.codec} ({s.encoder}) preset {s.preset}, {s.knob.upper()} sweep, {s.gop}, {threads}; "
                f"ffmpeg {ffmpeg.version()}")

    def settings(self, points: int) -> list[Setting]:
        values = spread(self.spec.high, self.spec.low, points, integer=True)
        return [Setting(self.spec.knob, v) for v in values]

    def parse_setting(self, text: str) -> Setting:
        lo, hi = self.spec.limits
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{self.name}: {self.spec.knob} must be an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise ConfigError(f"{self.name}: {self.spec.knob} must be in {lo}..{hi}, got {value}")
        return Setting(self.spec.knob, float(value))

    # -- frames in and out ------------------------------------------------------------------------

    def _feed(self, seq: "Sequence") -> Iterator[bytes]:
        for block in seq.yuv_chunks():
            packed = block.to_i420()
            if self.spec.bit_depth == 10:
                packed = packed.astype("<u2") << 2
            yield packed.tobytes()

    def _decoder_threads(self) -> list[str]:
        return [] if self.threads is None else ["-threads", str(self.threads)]

    def _pix_fmt(self) -> str:
        return "yuv420p" if self.spec.bit_depth == 8 else "yuv420p10le"

    def encode(self, seq: "Sequence", setting: Setting, workdir: Path) -> Encoded:
        s = self.spec
        out = workdir / f"{self.name}_{setting.key.replace('=', '')}{s.suffix}"
        args = ffmpeg.raw_input_args(seq.width, seq.height, seq.fps)
        if s.bit_depth != 8:
            args[args.index("yuv420p")] = self._pix_fmt()
        options = s.options if self.threads is None else thread_options(s.options, s.encoder, self.threads)
        args += ["-i", "-", "-an", "-c:v", s.encoder, *options, f"-{s.knob}", str(int(setting.value))]
        args += ["-f", s.muxer, str(out)]
        proc = ffmpeg.run(args, what=f"{self.name} encode of {seq.name}", feed=self._feed(seq))
        return Encoded(path=out, num_bytes=out.stat().st_size, seconds=proc.seconds, peak_mb=proc.peak_mb)

    def decode(self, encoded: Encoded, seq: "Sequence", workdir: Path) -> Decoded:
        args = [*self._decoder_threads(), "-i", str(encoded.path), "-fps_mode", "passthrough", "-f", "null", "-"]
        proc = ffmpeg.run(args, what=f"{self.name} decode of {encoded.path.name}")
        return Decoded(seconds=proc.seconds, num_frames=seq.num_frames, peak_mb=proc.peak_mb)

    def frames(self, encoded: Encoded, seq: "Sequence", chunk: int) -> Iterator[DecodedChunk]:
        depth_bytes = 1 if self.spec.bit_depth == 8 else 2
        frame = i420_frame_bytes(seq.width, seq.height)
        args = [*self._decoder_threads(), "-i", str(encoded.path), "-fps_mode", "passthrough", "-f", "rawvideo",
                "-pix_fmt", self._pix_fmt(), "-"]
        with FfmpegProcess(args, what=f"{self.name} decode of {encoded.path.name}") as proc:
            while True:
                buf = np.empty(chunk * frame * depth_bytes, dtype=np.uint8)
                got = proc.read_into(buf)
                if got % (frame * depth_bytes):
                    raise proc.error(f"partial frame at the end of the decoded stream ({got} bytes)")
                if got:
                    block = buf[:got].reshape(-1, frame * depth_bytes)
                    if depth_bytes == 2:
                        ten = block.view("<u2").astype(np.uint16)
                        block = np.minimum((ten + 2) >> 2, 255).astype(np.uint8)
                    yield YUVFrames.from_i420(block, seq.width, seq.height)
                if got < buf.size:
                    break
            proc.finish()
