"""The parts of a family's decode memory figure (:meth:`codec.family.Family.decode_memory`).

A decoder's peak is the largest of its phases: reading a unit's state from the chunks (codes,
dequantized weights), rendering it (the feature maps alive at once: a whole frame's today, a
tile's once rendering is tiled), and handing its frames on (float frames converted to 8 bits, the
output of a unit, the reference frames kept). Each family adds these parts from its config and
geometry; the network part is measured by running the network on the meta device (shapes only,
nothing allocated) and taking the largest single operation (what it reads plus what it writes),
twice over for the tensors a block holds meanwhile (a skip, a residual).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

FLOAT32 = 4
#: Bytes per value of a stream's integer codes as the records give them (int64) and of the
#: float32 weights made from them.
CODE_BYTES, WEIGHT_BYTES = 8, 4
#: A block holds its input (a skip or residual) while its largest operation runs: the network
#: part is this many times that operation's bytes.
HELD = 2


def frame_bytes(frames: int, height: int, width: int, channels: int = 3, itemsize: int = 1) -> int:
    """Bytes of ``frames`` frames of ``height x width`` with ``channels`` values of ``itemsize``."""
    return frames * height * width * channels * itemsize


def to_uint8_bytes(frames: int, height: int, width: int) -> int:
    """What :func:`codec.tools.dequantize.to_uint8` of ``(frames, 3, H, W)`` float frames allocates
    beside its input: two float copies (clamp, scale, round) and two 8-bit ones (the cast, the
    channels-last copy) at most."""
    return 2 * frame_bytes(frames, height, width, itemsize=FLOAT32) + 2 * frame_bytes(frames, height, width)


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
    (hnerv's embeddings) likewise, then the network over ``batch`` frames (``inputs_of(batch)``,
    called on the meta device) and those frames in float and in 8 bits, the batch before still held
    by the writer's loop."""
    from codec.tools.sizing import checked_shell, count_params

    values = count_params(checked_shell(net_of, limit)) + stored
    batch = min(batch, frames)
    state = (CODE_BYTES + 2 * WEIGHT_BYTES) * values  # codes, their float32 copy, the weights
    rendering = (network_bytes(lambda: net_of()(*inputs_of(batch)))
                 + frame_bytes(batch, height, width, itemsize=FLOAT32) + to_uint8_bytes(batch, height, width))
    return WEIGHT_BYTES * values + max(state, rendering) + frame_bytes(batch, height, width)
