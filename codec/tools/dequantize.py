"""Stream values to torch tensors on the decoder side: dequantized tensor records, the weights of a
group record's latents, and rendered frames back to 8 bits. Nothing here trains."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bitstream.records.nirvana import LayerDecoder
from bitstream.tensor import QuantizedTensor


def dequantize(t: QuantizedTensor) -> np.ndarray:
    """float32 values of a stream tensor, computed like the encoder's ``round(w/s) * s``."""
    return t.dequantize().astype(np.float32)


def check_shapes(net: nn.Module, tensors: list[QuantizedTensor]) -> None:
    """ValueError unless the stream's tensors have the shapes of ``net``'s parameters, in order
    (``net`` may live on the meta device: nothing is read but shapes)."""
    params = list(net.named_parameters())
    if len(params) != len(tensors):
        raise ValueError(f"stream holds {len(tensors)} tensors, network needs {len(params)}")
    for (name, p), t in zip(params, tensors):
        if tuple(p.shape) != tuple(t.shape):
            raise ValueError(f"tensor {name}: stream shape {t.shape}, network {tuple(p.shape)}")


def load_quantized(net: nn.Module, tensors: list[QuantizedTensor]) -> None:
    """Set ``net``'s parameters to the dequantized stream tensors (decoder side).

    Dequantization is ``codes * step`` in float32, the same product the encoder trained with.
    """
    check_shapes(net, tensors)
    with torch.no_grad():
        for p, t in zip(net.parameters(), tensors):
            p.copy_(torch.from_numpy(dequantize(t)))


def apply_kernel(q: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``M q`` for every kernel of ``q`` (a conv latent, kernels on its last two axes)."""
    k = matrix.shape[0]
    return (q.reshape(-1, k) @ matrix.T).reshape(q.shape)


def layer_weights(decoder: LayerDecoder, codes: np.ndarray) -> torch.Tensor:
    """The float32 weights ``scale * (M q) + shift`` of integer latents ``codes`` (what decoding
    computes; the encoder trains against the same product)."""
    q = torch.from_numpy(codes).float()
    if decoder.kernel is not None:
        q = apply_kernel(q, torch.from_numpy(decoder.kernel.astype(np.float32)))
    return q * torch.tensor(decoder.scale, dtype=torch.float32) + torch.tensor(decoder.shift, dtype=torch.float32)


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(B,3,H,W) float in [0,1] -> (B,H,W,3) uint8, rounding to nearest."""
    x = frames.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()
