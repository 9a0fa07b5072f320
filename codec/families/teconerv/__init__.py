"""``teconerv``: TeCoNeRV (Padmanabhan et al., 2026), an encoder that predicts a video's networks
with a pretrained hypernetwork instead of fitting them.

The video is cut into segments of ``frames`` frames and each segment into tubelets (a segment x a
``tile_h x tile_w`` patch, :mod:`codec.tools.tubelets`: overlapping and blended, or padded and
cropped). A transformer hypernetwork (:mod:`.hyper`) reads a tubelet and predicts modulation
vectors for a shared NeRV-style hyponetwork (:mod:`.net`) that renders the tubelet from time
alone. Only the modulations travel: quantized per layer, the first segment's coded directly,
each later one as its difference from the previous segment's decoded codes (closed loop), or
directly where that is cheaper, entropy coded by the bitstream's cheapest model.

The pretrained weights (hypernetwork and hyponetwork base, made by ``inrv pretrain``) ship with
the package under ``codec/weights/``; a stream names the file it needs by its hash prefix, and
decoding without it fails with one line naming it. ``--weights FILE`` chooses other weights.
"""

# The package itself is light (no torch, no numpy): what the command line and option checks need
# (codec.registry.Declaration). The family, networks and coders are in .family, loaded on first use.
from codec.families.teconerv.config import TeconervOptions as OPTIONS

__all__ = ["OPTIONS", "SUMMARY", "STREAMS"]

#: What the family is for, in a line (``inrv encode --help``, docs).
SUMMARY = "a pretrained hypernetwork predicts the networks in a forward pass: seconds, not minutes"
#: Whether the encoder reads its input group by group (True: memory bounded by a group).
STREAMS = True
