"""``nirvana``: NIRVANA (Maiya et al., "NIRVANA: Neural Implicit Representations of Videos with
Adaptive Networks and Autoregressive Patch-wise Modeling", CVPR 2023).

The video is cut into groups of ``gop`` frames (the last one may be shorter). Each group gets a
small patch-wise network (:mod:`codec.families.nirvana.net`): patch coordinates in, that patch in
every frame of the group out. Groups are encoded in order, each one streamed: read its frames,
fit, write its chunk, drop it, so memory does not grow with the video's length.

* **Autoregressive initialisation**: group ``g`` starts from group ``g - 1``'s trained latents,
  decoders and entropy models; group 0 gets the long schedule (``--steps``, default the quality
  level's, :mod:`codec.families.nirvana.ladder`), later groups at most
  ``encode.LATER_STEPS_FRACTION`` of it.
* **Quantization in training** (:mod:`codec.tools.latents`): integer latents with learned
  per-layer decoders (scale/shift, and a per-kernel linear map for the convolutions),
  straight-through rounding, rate term = bits of the latents
  (group 0) or of their residual to the previous group (later groups).
* **Residual stream** (:mod:`bitstream.records.nirvana`): one ``CHUNK_GROUP`` chunk per group holding the group's training steps,
  its decoders only when they changed (group 0; they are frozen afterwards, a flag says so) and
  its latents minus the previous group's, each tensor entropy coded with the bitstream's cheapest
  model (an all-zero tensor costs a few bytes).
* **Adaptive effort**: a later group first measures the inherited network on its frames; if that
  already reaches group 0's quality (static content) it is not trained at all and its residual is
  zero. Otherwise it trains until it reaches that quality or its loss stops improving for
  ``encode.PATIENCE`` steps.
* **Random access**: decoding frames of group ``g`` adds the residuals of groups ``0..g``
  (integer adds, no rendering) and renders only the groups asked for.
"""

# The package itself is light (no torch, no numpy): what the command line and option checks need
# (codec.registry.Declaration). The family, networks and coders are in .family, loaded on first use.
from codec.families.nirvana.config import NirvanaOptions as OPTIONS

__all__ = ["OPTIONS", "SUMMARY", "STREAMS"]

#: What the family is for, in a line (``inrv encode --help``, docs).
SUMMARY = ("one small patch network per group of frames, each group stored as a residual of the one "
           "before: long videos, streamed group by group")
#: Whether the encoder reads its input group by group (True: memory bounded by a group).
STREAMS = True
