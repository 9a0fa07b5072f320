"""``grid``: a low-complexity overfitted codec after C3 (Kim et al., "C3: High-performance and
low-complexity neural compression from a single image or video", CVPR 2024) and Cool-chic
(Ladune et al., "COOL-CHIC: Coordinate-based Low Complexity Hierarchical Image Codec", ICCV 2023).

The video is cut into groups of ``gop`` frames. Each group is a stack of latent grids at
``levels`` resolutions (level ``k``: ``2**-k`` of the frame's width and height, and of the group's
frames up to ``temporal`` halvings), upsampled trilinearly to every pixel and turned into RGB by a
synthesis network of 1x1 convolutions and a small 3x3 refinement (about a thousand multiply-adds
per pixel against the NeRV family's tens of thousands). The latents are integers, coded with
constriction's ANS coder under a learned context model that predicts each latent's Laplace from
already decoded neighbours (the shared :mod:`codec.tools.latentgrid`, run in integer arithmetic so
that any machine decodes the same bits). Groups are encoded in order: each starts from the previous
group's latents and networks, and its chunk stores the networks as residuals to the previous
group's codes (NIRVANA's autoregressive idea, Maiya et al., CVPR 2023).
"""

# The package itself is light (no torch, no numpy): what the command line and option checks need
# (codec.registry.Declaration). The family, networks and coders are in .family, loaded on first use.
from codec.families.grid.config import GridOptions as OPTIONS

__all__ = ["OPTIONS", "SUMMARY", "STREAMS"]

#: What the family is for, in a line (``inrv encode --help``, docs).
SUMMARY = ("latent grids and a tiny synthesis network per group of frames, a learned context model "
           "for the entropy coder: low decoding cost, many cheap training steps")
#: Whether the encoder reads its input group by group (True: memory bounded by a group).
STREAMS = True
