"""``nerv``: NeRV, "Neural Representations for Videos" (Chen et al., NeurIPS 2021).

Frame index ``t`` -> positional encoding -> MLP stem to a ``c0 x h0 x w0`` map -> NeRV blocks
(Conv3x3 -> PixelShuffle -> GELU) -> RGB. Differences from the paper, all measured choices for
small clips on CPUs: the number of encoding levels follows the clip length (NeRV uses 40-80 for
hundreds of frames), channels shrink by 1.4 per stage (NeRV halves them, floor 96), and weights
are quantized during training (NeRV prunes and quantizes after training and writes no file).
"""

# The package itself is light (no torch, no numpy): what the command line and option checks need
# (codec.registry.Declaration). The family, networks and coders are in .family, loaded on first use.
from codec.tools.fitoptions import WholeOptions as OPTIONS

__all__ = ["OPTIONS", "SUMMARY", "STREAMS"]

#: What the family is for, in a line (``inrv encode --help``, docs).
SUMMARY = "one network for the whole clip, frame index in"
#: Whether the encoder reads its input group by group (False: it holds the whole clip).
STREAMS = False
