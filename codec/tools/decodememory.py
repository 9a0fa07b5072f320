"""The parts of a family's decode memory figure (:meth:`codec.family.Family.decode_memory`).

A decoder's peak is the largest of its phases: reading a unit's state from the chunks (codes,
dequantized weights), rendering it, and handing its frames on (the 8-bit frames of a unit, and the
unit before, still in the writer's hands). Rendering is bounded by the strips of
:mod:`codec.tools.tiles`: a frame larger than a strip renders strip by strip, so what a network's
feature maps take is that of one strip (with its halo rows), plus the small first maps computed
whole. Each family adds these parts from its config and geometry; a network's working set is
measured by running it on the meta device (shapes only, nothing allocated) and taking its largest
single operation (what it reads plus what it writes), :data:`HELD` times over for what a block
holds meanwhile (a skip, a residual), scaled to a strip's share of the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from codec.tools import tiles

FLOAT32 = 4
#: Bytes per value of a stream's integer codes as the records give them (int64) and of the
#: float32 weights made from them.
CODE_BYTES, WEIGHT_BYTES = 8, 4
#: Bytes per value at the peak of entropy-decoding one integer array (:func:`bitstream.entropy.decode_ints`,
#: its ANS methods: an int64 index and the int32 values; measured 12, a constant array 4). A
#: RAW-coded array takes more (about 60), but needs a bit of the chunk per value.
ENTROPY_BYTES = 12
#: A block holds its input (a skip or residual) while its largest operation runs: the network
#: part is this many times that operation's bytes.
HELD = 3
#: What a decoder's first frames take besides their data, whatever the stream: oneDNN's kernels and
#: scratch space, torch's and the allocator's first-use caches (measured: 40-60 MB more resident on
#: a process's first strip-rendered decode than on a second one of the same stream). Every family's
#: figure includes it.
RUNTIME = 128 * 2**20
#: A strip's rows and the halo rows its layers recompute at its edges, against its own rows: a
#: deep trunk's halo reaches several rows per layer (tiles.MIN_ROWS keeps strips at least 32 rows).
STRIP_HALO = 3


def frame_bytes(frames: int, height: int, width: int, channels: int = 3, itemsize: int = 1) -> int:
    """Bytes of ``frames`` frames of ``height x width`` with ``channels`` values of ``itemsize``."""
    return frames * height * width * channels * itemsize


def to_uint8_bytes(frames: int, height: int, width: int) -> int:
    """What :func:`codec.tools.dequantize.to_uint8` of ``(frames, 3, H, W)`` float frames allocates
    beside its input: two float copies (clamp, scale, round) and two 8-bit ones (the cast, the
    channels-last copy) at most."""
    return 2 * frame_bytes(frames, height, width, itemsize=FLOAT32) + 2 * frame_bytes(frames, height, width)


def strip_share(height: int, width: int, frames: int = 1) -> float:
    """The share of ``frames`` frames of ``height x width`` one strip of :func:`codec.tools.tiles.plan`
    renders at once, its halo included (:data:`STRIP_HALO`); 1 where the frames render whole."""
    strips = tiles.plan(height, width, frames)
    rows = max(hi - lo for lo, hi in strips)
    return min(1.0, STRIP_HALO * rows / height) if len(strips) > 1 else 1.0


def whole_prefix_bytes() -> int:
    """The first maps of a trunk that :func:`codec.tools.tiles.whole_prefix` computes whole: up to
    :data:`codec.tools.tiles.WHOLE_PER_PIXEL` values per strip pixel (at least
    :data:`codec.tools.tiles.WHOLE_VALUES`), a map and the next one."""
    budget = tiles.budget()
    return 0 if budget is None else HELD * FLOAT32 * max(tiles.WHOLE_VALUES, tiles.WHOLE_PER_PIXEL * budget)


def _nbytes(value) -> int:
    return value.numel() * value.element_size() if isinstance(value, torch.Tensor) else 0


class _LargestOp(TorchDispatchMode):
    """Records the most bytes one operation reads and writes."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        moved = sum(_nbytes(t) for t in tree_leaves((args, kwargs or {}))) + sum(_nbytes(t) for t in tree_leaves(out))
        self.peak = max(self.peak, moved)
        return out


def network_bytes(run: Callable[[], object]) -> int:
    """The working set of ``run()``, a forward pass built and run on the meta device (``run``
    creates its network and inputs; it is called under ``torch.device("meta")``): :data:`HELD`
    times the largest operation's bytes read and written."""
    probe = _LargestOp()
    with torch.device("meta"), torch.inference_mode(), probe:
        run()
    return HELD * probe.peak


def values_bytes(shapes, per_value: int) -> int:
    """``per_value`` bytes for every value of tensors of ``shapes``."""
    return per_value * sum(math.prod(s) for s in shapes)


def whole_clip_memory(net_of: Callable[[], torch.nn.Module], inputs_of: Callable[[int], tuple],
                      frames: int, height: int, width: int, batch: int, limit: int, stored: int = 0) -> int:
    """What a whole-clip network decoder (:class:`codec.tools.wholeclip.NetworkDecoder`) needs: the
    network's parameters read from their records (integer codes and float32 weights: a BitstreamError
    past ``limit`` parameters, as the decoder refuses them), ``stored`` per-clip input values
    (hnerv's embeddings) likewise, then ``batch`` frames (``inputs_of(batch)``, made on the meta
    device) through the network: one strip's share of its working set when its trunk renders in
    strips (``strip_stages``), all of it when it renders whole, and the batch's 8-bit frames, the
    batch before still held by the writer's loop."""
    from codec.tools.sizing import checked_shell, count_params

    values = count_params(checked_shell(net_of, limit)) + stored
    batch = min(batch, frames)
    state = (CODE_BYTES + 2 * WEIGHT_BYTES) * values  # codes, their float32 copy, the weights
    share = 1.0
    with torch.device("meta"):
        net = net_of()
        try:
            net.trunk.strip_stages(*net.trunk_input(*inputs_of(batch)))
            share = strip_share(height, width, batch)
        except (AttributeError, ValueError, NotImplementedError, RuntimeError):  # no strip stages, a
            pass  # trunk that renders whole (or one the meta device cannot plan): the whole frame
    working = network_bytes(lambda: net_of()(*inputs_of(batch)))
    if share < 1.0:
        working = int(working * share) + whole_prefix_bytes()
    rendering = working + to_uint8_bytes(batch, height, width) * min(1.0, share) + frame_bytes(batch, height, width)
    return RUNTIME + WEIGHT_BYTES * values + max(state, int(rendering)) + frame_bytes(batch, height, width)
