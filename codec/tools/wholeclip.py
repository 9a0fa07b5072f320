"""What NeRV and HNeRV share: one network for the whole clip, fitted by :func:`codec.tools.fit.fit`.

A family of this kind provides a decoder network, a trainable wrapper (decoder network + its
quantizers + any encoder that is not stored) and the inputs the decoder needs per frame. The
stream holds a ``CHUNK_NETWORK`` chunk (every parameter, quantized) and, for families with
per-frame content, a ``CHUNK_EMBEDDINGS`` chunk. The training side is imported by
:meth:`WholeVideoFamily.encode` only.

The options ``--sft``, ``--sin-block`` and ``--nervpp`` choose the upsampling trunk's variants
(Boosting-NeRV, Zhang et al., CVPR 2024; NeRV++, Ghorbel et al.; :mod:`codec.tools.blocks`),
written into the stream config's ``trunk`` bits; ``--loss`` chooses the training loss.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_NETWORK
from bitstream.records.tensorlist import unpack_tensors
from codec.config import EncodeConfig
from codec.device import autocast
from codec.family import ChunkSink, ChunkSource, Decoder, Family, FamilyStats, FrameSource, Geometry
from codec.tools.fitoptions import MAX_PARAMS, WholeOptions, quality_rung, rate_lambda, size_density, step_limit
from codec.tools.ladder import Ladder
from codec.tools.sizing import checked_shell, config_for_budget, param_budget
from codec.tools.decodememory import whole_clip_memory
from codec.tools.dequantize import check_shapes, load_quantized, to_uint8
from codec.tools.tiles import Canvas, Rows, batch_span, plan, render_rows, whole_prefix

#: Named sizes: total stored values (weights + biases), as a parameter budget.
PRESETS: dict[str, int] = {
    "xs": 20_000,
    "s": 60_000,
    "m": 180_000,
    "l": 500_000,
    "xl": 1_500_000,
}
#: The smallest network a density asks for (a preset or --params is taken as given).
MIN_VALUES = 1_000
#: Rate-control probes fit this share of the clip's frames, at least PROBE_MIN_FRAMES.
PROBE_SHARE = 0.25
PROBE_MIN_FRAMES = 8
RENDER_BATCH = 4


class WholeVideoFamily(Family):
    """Base of the families that fit one network to the whole clip."""

    options_cls = WholeOptions
    quick_options = {"preset": "xs", "steps": 20}
    serial_reason = "one network fits the whole clip: its training is one job (--threads spreads it)"
    #: What ``--quality`` means: rungs of (density per pixel of the clip, lambda, epochs).
    ladder: ClassVar[Ladder]
    lr: ClassVar[float] = 1e-3
    batch: ClassVar[int] = 2
    #: Fit under the divergence guards (:data:`codec.tools.phases.WHOLE_CLIP_GUARDS`); only a probe of
    #: what an unguarded fit does (``scripts/collapse_probe.py --unguarded``) switches them off.
    guarded: ClassVar[bool] = True

    @abstractmethod
    def build_net(self, config: Any, geometry: Geometry) -> nn.Module:
        """The decoder network (what the stream's network chunk parameterises)."""

    @abstractmethod
    def build_config(self, width: float, geometry: Geometry, trunk: int = 0) -> Any:
        """The config at width multiplier ``width`` (used to meet a parameter budget), with the
        ``trunk`` bits (:data:`codec.tools.blocks.TRUNK_BITS`)."""

    @abstractmethod
    def trainable(self, config: Any, geometry: Geometry, frames: torch.Tensor,
                  post_bits: int | None = None) -> nn.Module:
        """A :class:`codec.tools.fit.Fittable` that also has ``chunks(frames) -> list[(kind, bytes)]``.

        ``post_bits``: train in float and quantize afterwards (the baseline), see TensorQuantizer."""

    @abstractmethod
    def decoder_inputs(self, config: Any, geometry: Geometry, stream: ChunkSource,
                       device: torch.device) -> Callable[[int, int], tuple[torch.Tensor, ...]]:
        """A function giving the decoder network's inputs for frames ``start .. stop - 1``."""

    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> Any:
        opts = enc.options
        budget = param_budget(opts.params, opts.preset, PRESETS, bounds=(MIN_VALUES, MAX_PARAMS),
                              density=size_density(opts, quality_rung(enc, self.ladder)), pixels=geometry.pixels)
        return config_for_budget(lambda m: self.build_config(m, geometry, opts.trunk),
                                 lambda config: self.build_net(config, geometry), budget)

    def encode(self, config: Any, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
               device: torch.device) -> FamilyStats:
        from codec.tools.fit import FitConfig, fit
        from codec.tools.phases import WHOLE_CLIP_GUARDS

        geometry, opts = source.geometry, enc.options
        torch.manual_seed(enc.seed)
        frames = torch.from_numpy(source.read(0, geometry.num_frames))
        model = self.trainable(config, geometry, frames, opts.post_quant_bits).to(device)
        rung = quality_rung(enc, self.ladder)
        lmbda = rate_lambda(enc, rung)
        fit_cfg = FitConfig(
            steps=step_limit(opts, self.ladder_steps(rung.length, geometry.num_frames)),
            time_budget=opts.time_budget,
            lr=self.lr,
            batch=self.batch,
            loss=opts.loss or "mse",
            lmbda=lmbda,
            seed=enc.seed,
            progress=enc.progress,
            guards=WHOLE_CLIP_GUARDS if self.guarded else None,
            desc=f"{self.name} fit",
        )
        stats = fit(model, frames, fit_cfg, device)
        with torch.no_grad():
            for kind, payload in model.chunks(frames):
                sink(kind, payload)
        return FamilyStats(
            steps=stats.steps,
            seconds=stats.seconds,
            estimated_bits=stats.estimated_bits,
            train_psnr=stats.psnr,
            frame_steps_per_second=stats.frame_steps_per_second,
            lmbda=lmbda,
            best_psnr=stats.best_psnr,
            restarts=stats.restarts,
            restored=stats.restored,
        )

    def probe_frames(self, enc: EncodeConfig, count: int) -> int:
        """Frames of a rate-control probe fit (:mod:`codec.ratecontrol`): a quarter of the clip, at
        least 8: at the same density and epochs, about a sixteenth of the full fit's work."""
        return max(PROBE_MIN_FRAMES, math.ceil(count * PROBE_SHARE))

    def ladder_steps(self, epochs: float, frames: int) -> int:
        """Training steps for ``epochs`` passes over ``frames`` frames, :attr:`batch` frames a step."""
        return max(1, math.ceil(epochs * frames / self.batch))

    def ladder_length(self, steps: int, frames: int) -> float:
        """The epochs of ``steps`` on ``frames`` frames (the inverse of :meth:`ladder_steps`)."""
        return steps * self.batch / frames

    def load_network(self, config: Any, geometry: Geometry, stream: ChunkSource,
                     device: torch.device) -> nn.Module:
        """The decoder network with the stream's dequantized parameters (sizes and shapes are
        checked on the meta device, before anything is allocated)."""
        shell = checked_shell(lambda: self.build_net(config, geometry), MAX_PARAMS)
        index = find_chunk(stream, CHUNK_NETWORK)
        info = stream.chunks[index]
        shapes = [tuple(p.shape) for p in shell.parameters()]
        tensors = unpack_tensors(stream.read_chunk(index), shapes, index, info.payload_offset)
        try:
            check_shapes(shell, tensors)
            net = self.build_net(config, geometry)
            load_quantized(net, tensors)
        except ValueError as exc:
            raise BitstreamError(str(exc), chunk=index) from None
        return net.to(device).eval()

    def render_inputs(self, config: Any, geometry: Geometry, batch: int) -> tuple[torch.Tensor, ...]:
        """The decoder network's inputs for ``batch`` frames, as :meth:`decoder_inputs` gives them,
        made on the default device (the meta device when :meth:`decode_memory` sizes a pass):
        frame indices; a family with other per-frame inputs makes those too."""
        return (torch.arange(batch),)

    def stored_inputs(self, config: Any, geometry: Geometry) -> int:
        """Values of the per-clip inputs the stream stores besides the network (hnerv's embeddings)."""
        return 0

    def decode_memory(self, config: Any, geometry: Geometry) -> int:
        """The network's parameters and stored inputs, then :data:`RENDER_BATCH` frames through it
        (:func:`codec.tools.decodememory.whole_clip_memory`)."""
        return whole_clip_memory(lambda: self.build_net(config, geometry),
                                 lambda batch: self.render_inputs(config, geometry, batch), geometry.num_frames,
                                 geometry.height, geometry.width, RENDER_BATCH, MAX_PARAMS,
                                 self.stored_inputs(config, geometry))

    def decoder(self, config: Any, geometry: Geometry, stream: ChunkSource,
                device: torch.device) -> Decoder:
        net = self.load_network(config, geometry, stream, device)
        inputs = self.decoder_inputs(config, geometry, stream, device)
        return NetworkDecoder(net, inputs, device, geometry.num_frames)


class NetworkDecoder(Decoder):
    """Runs a decoder network over frame ranges, :data:`RENDER_BATCH` frames at a time.

    Batches are aligned (frames ``4k .. 4k + 3``) whatever range is asked for: a convolution's
    floating-point result can depend on the batch it runs in, so a frame is always rendered in the
    same batch (its trunk's input made for the whole batch, the trunk run over the frames asked
    for, two at least: :meth:`batch`) and a range decode gives exactly the frames of a full decode."""

    def __init__(self, net: nn.Module, inputs: Callable[[int, int], tuple[torch.Tensor, ...]],
                 device: torch.device, num_frames: int) -> None:
        self.net, self.inputs, self.device, self.num_frames = net, inputs, device, num_frames

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        with torch.inference_mode():
            for first in range(start - start % RENDER_BATCH, stop, RENDER_BATCH):
                last = min(self.num_frames, first + RENDER_BATCH)
                with autocast(self.device):
                    yield self.batch(self.inputs(first, last), max(start, first) - first, min(stop, last) - first)

    def batch(self, inputs: tuple[torch.Tensor, ...], lo: int, hi: int) -> np.ndarray:
        """Frames ``lo .. hi - 1`` of the batch the network renders from ``inputs``, (n, H, W, 3)
        uint8: the trunk's input made for the whole batch, then its trunk over those frames only
        (two at least: :func:`codec.tools.tiles.batch_span`; the whole batch for a trunk whose
        frames do not render apart, ``frames_apart``) in strips of rows (:mod:`codec.tools.tiles`;
        the trunk's first, small maps whole), each strip's rows written out as it finishes: the
        frames of the whole batch's render, bit for bit. A network without strip stages (or a
        trunk that is not strip-exact) renders the whole batch."""
        trunk = getattr(self.net, "trunk", None)
        try:
            x, t = self.net.trunk_input(*inputs)
            a, b = batch_span(lo, hi, len(x)) if trunk.frames_apart else (0, len(x))
            stages = trunk.strip_stages(x, t, slice(a, b))
        except (AttributeError, ValueError):
            return to_uint8(self.net(*inputs))[lo:hi]
        start, ops = whole_prefix(stages, x[a:b])
        canvas = Canvas(hi - lo, trunk.height, trunk.width)
        for top, bottom in plan(trunk.height, trunk.width, b - a):
            canvas.put(render_rows(ops, start.crop, Rows(top, bottom, trunk.height))[lo - a : hi - a], top)
        return canvas.frames


def find_chunk(stream: ChunkSource, kind: int) -> int:
    """Index of the one chunk of ``kind``; a stream without it (or with two) is malformed."""
    found = [i for i, c in enumerate(stream.chunks) if c.kind == kind]
    if len(found) != 1:
        raise BitstreamError(f"stream must hold exactly one chunk of kind {kind}, has {len(found)}")
    return found[0]
