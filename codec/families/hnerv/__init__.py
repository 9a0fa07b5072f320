"""``hnerv``: HNeRV, "A Hybrid Neural Representation for Videos" (Chen et al., CVPR 2023).

A ConvNeXt-style encoder (patchify convs with kernel = stride, Liu et al. 2022) turns each frame
into a tiny embedding (``embed_dim x h0 x w0``); the decoder maps it through HNeRV blocks
(Conv(k) -> PixelShuffle -> GELU, channels divided by 1.2 per stage) to RGB with
``tanh * 0.5 + 0.5``. The stream holds the decoder's weights and every frame's quantized
embedding; the encoder is not stored. Differences from the paper: kernels are
``min(1 + 2i, 3)`` instead of ``min(1 + 2i, 5)`` (cheaper on CPUs), the strides follow the
frame size (HNeRV crops UVG to 960x1920), and everything is quantized during training with a
rate term (HNeRV rounds to 8-bit weights / 6-bit embeddings after training).
"""

# The package itself is light (no torch, no numpy): what the command line and option checks need
# (codec.registry.Declaration). The family, networks and coders are in .family, loaded on first use.
from codec.tools.fitoptions import WholeOptions as OPTIONS

__all__ = ["OPTIONS", "SUMMARY", "STREAMS"]

#: What the family is for, in a line (``inrv encode --help``, docs).
SUMMARY = "one network for the whole clip, a small learned embedding per frame"
#: Whether the encoder reads its input group by group (False: it holds the whole clip).
STREAMS = False
