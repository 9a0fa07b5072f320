"""Encoder side of ``teconerv``: a forward pass of the hypernetwork per segment, optional
refinement, quantization, closed-loop residual coding.

Per segment of ``frames`` frames (the last one padded by repeating its last frame): cut the
tubelets, predict their modulations, optionally refine them with ``--finetune N`` Adam steps on
the tubelets' MSE (the hyponetwork base stays fixed: only modulations travel), quantize each
layer with its step (set once, from the first segment: :data:`config.STEP_SCALES` x the RMS of
that layer's modulations) and write the cheaper of the residual to the previous segment's codes
and the codes themselves. Residuals are taken against the previous segment's *codes*, i.e. its
decoded modulations: the loop is closed, errors do not accumulate.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bitstream.records.kinds import CHUNK_SEGMENT
from bitstream.records.teconerv import SEG_DIRECT, SegmentRecord, write_segment
from codec.config import EncodeConfig
from codec.families.teconerv.config import STEP_SCALES, TeconervConfig
from codec.families.teconerv.decode import check_weights, segment_shapes
from codec.families.teconerv.hyper import HyperNet, HyperSpec
from codec.families.teconerv.presets import REFINE
from codec.families.teconerv.pretrained import Pretrained, load_id
from codec.family import ChunkSink, FamilyStats, FrameSource
from codec.results import GroupResult
from codec.tools.structure import group_sizes, groups
from codec.tools.phases import Limits
from codec.tools.runner import StepAt, StepLoss, run
from codec.tools.tubelets import TubeletGrid

PREDICT_BATCH = 32


def hypernet(weights: Pretrained, device: torch.device) -> HyperNet:
    net = HyperNet(HyperSpec(**weights.hyper), weights.hypo)
    net.load_state_dict(weights.hyper_state)
    return net.to(device).eval()


def predict(net: HyperNet, tiles: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """Modulations of (count, T, 3, th, tw) tubelets, one (count, n, row) tensor per layer."""
    parts = []
    with torch.inference_mode():
        for first in range(0, len(tiles), PREDICT_BATCH):
            parts.append(net(tiles[first : first + PREDICT_BATCH].to(device)))
    return [torch.cat([p[i] for p in parts]).float().cpu() for i in range(len(parts[0]))]


class _Refinement:
    """One batch of tubelets' modulations under refinement, as the runner's
    :class:`codec.tools.runner.Trainee`: the loss is the tubelets' MSE through the fixed hyponetwork."""

    def __init__(self, hypo, params: list[torch.Tensor], target: torch.Tensor) -> None:
        self.hypo, self.params, self.target = hypo, params, target

    def parameter_groups(self) -> dict[str, list[torch.Tensor]]:
        return {"modulations": self.params}

    def step(self, at: StepAt) -> StepLoss:
        loss = torch.mean((self.hypo(self.params) - self.target) ** 2)
        value = float(loss.detach())
        return StepLoss(loss, value, value, 0.0)

    def after_step(self) -> None:
        pass

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {str(i): p for i, p in enumerate(self.params)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for i, p in enumerate(self.params):
                p.copy_(state[str(i)])


def finetune(hypo, mods: list[torch.Tensor], tiles: torch.Tensor, steps: int, device: torch.device) -> list[torch.Tensor]:
    """``steps`` Adam steps (:data:`codec.families.teconerv.presets.REFINE`) on the modulations
    alone, :data:`PREDICT_BATCH` tubelets at a time (each tubelet's modulations are its own, and
    Adam's steps do not depend on the loss's scale, so batching changes nothing but memory)."""
    for p in hypo.parameters():
        p.requires_grad_(False)
    out: list[list[torch.Tensor]] = [[] for _ in mods]
    for first in range(0, len(tiles), PREDICT_BATCH):
        params = [m[first : first + PREDICT_BATCH].clone().to(device).requires_grad_(True) for m in mods]
        target = tiles[first : first + PREDICT_BATCH].to(device)
        run(_Refinement(hypo, params, target), REFINE, Limits(steps), whole=True, desc="teconerv refine",
            progress=False)
        for i, p in enumerate(params):
            out[i].append(p.detach().cpu())
    return [torch.cat(parts) for parts in out]


def layer_steps(mods: list[torch.Tensor], quality: int) -> tuple[float, ...]:
    """The per-layer quantization steps for ``--quality``: a share of each layer's RMS."""
    scale = STEP_SCALES[quality - 1]
    return tuple(float(max(torch.sqrt(torch.mean(m.double() ** 2)).item(), 1e-6) * scale) for m in mods)


def encode(config: TeconervConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
           device: torch.device) -> FamilyStats:
    from tqdm.auto import tqdm

    opts = enc.options
    weights = load_id(config.weights_id)  # make_config registered the file it named
    check_weights(config, weights)
    geometry = source.geometry
    grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
    hyper, hypo = hypernet(weights, device), weights.hyponet(device)
    shapes = segment_shapes(weights.hypo, grid.count)
    n_ft = opts.finetune or 0
    key = opts.key_interval or 0
    t_seg = config.frames
    # segments of t_seg frames; the first and every --key-interval-th coded directly (the others too
    # where that is cheaper, chosen below)
    segments = len(group_sizes(geometry.num_frames, t_seg))
    plan = groups(geometry.num_frames, t_seg, direct=range(0, segments, key) if key else (0,), params=0)
    previous = [np.zeros(s, dtype=np.int64) for s in shapes]
    steps: tuple[float, ...] | None = None
    results, total_bytes, t_start = [], 0, time.perf_counter()
    bar = tqdm(total=segments, desc="teconerv", unit="segment", disable=not enc.progress, dynamic_ncols=True)
    try:
        for chunk in plan.chunks:
            t0 = time.perf_counter()
            s, first, count = chunk.index, chunk.first, chunk.count
            frames = source.read(first, count)
            padded = np.concatenate([frames, np.repeat(frames[-1:], t_seg - count, axis=0)]) if count < t_seg else frames
            clip = torch.from_numpy(padded).permute(0, 3, 1, 2).float() / 255
            tiles = grid.cut(clip)
            mods = predict(hyper, tiles, device)
            if n_ft:
                mods = finetune(hypo, mods, tiles, n_ft, device)
            if steps is None:
                steps = layer_steps(mods, enc.quality_level)
            codes = [np.rint(m.numpy().astype(np.float64) / step).astype(np.int64) for m, step in zip(mods, steps)]
            residual = SegmentRecord(tuple(c - p for c, p in zip(codes, previous)), direct=False, finetune=n_ft)
            direct = SegmentRecord(tuple(codes), direct=True, steps=steps if s == 0 else None, finetune=n_ft)
            payload = write_segment(direct)
            if not chunk.direct:
                payload = min(payload, write_segment(residual), key=len)
            sink(CHUNK_SEGMENT, payload)
            stored = codes if payload[0] & SEG_DIRECT else residual.values
            nonzero = sum(int(np.count_nonzero(v)) for v in stored) / max(1, sum(v.size for v in stored))
            total_bytes += len(payload)
            results.append(GroupResult(group=s, first=first, frames=count, key=bool(payload[0] & SEG_DIRECT), steps=n_ft,
                                       stopped="steps" if n_ft else "predicted", seconds=time.perf_counter() - t0,
                                       bytes=len(payload), bpp=len(payload) * 8 / (geometry.width * geometry.height * count),
                                       nonzero=nonzero, psnr=float("nan")))
            previous = codes
            bar.update(1)
            bar.set_postfix(kbytes=f"{total_bytes / 1000:.1f}", nonzero=f"{nonzero:.0%}")
    finally:
        bar.close()
    seconds = time.perf_counter() - t_start
    return FamilyStats(steps=n_ft * segments, seconds=seconds, estimated_bits=total_bytes * 8.0,
                       train_psnr=float("nan"),
                       frame_steps_per_second=n_ft * geometry.num_frames / max(seconds, 1e-9),
                       groups=tuple(results))
