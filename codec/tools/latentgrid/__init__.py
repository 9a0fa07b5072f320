"""Latent grids, a part that any family can use: multi-resolution latents coded under a learned
context model and upsampled to the frame, after C3 (Kim et al., "C3: High-performance and
low-complexity neural compression from a single image or video", CVPR 2024) and Cool-chic (Ladune
et al., "COOL-CHIC: Coordinate-based Low Complexity Hierarchical Image Codec", ICCV 2023).

Decoder side (this package's namespace; nothing here trains):

* :mod:`~codec.tools.latentgrid.pyramid`: :class:`Pyramid`, the levels' shapes and upsampling
  factors of a 3-D pyramid (a group of frames) or a 2-D one (one image);
* :mod:`~codec.tools.latentgrid.schemes`: decoding orders (:data:`SCHEMES`, :data:`IMAGE_SCHEMES`);
* :mod:`~codec.tools.latentgrid.context`: the integer context model, its fixed-point constants and
  tables (:class:`IntegerContext`, :func:`context_shapes`);
* :mod:`~codec.tools.latentgrid.coding`: a level to ANS words and back (:func:`encode_level`,
  :func:`decode_level`, :func:`max_words`; :func:`decode_levels`: a pyramid's levels decoded
  together, pass by pass; :func:`encode_pyramid` / :func:`decode_pyramid`: a pyramid's levels in
  one ANS stream);
* :mod:`~codec.tools.latentgrid.upsampling`: a pyramid upsampled to the frame (:func:`upsample`,
  :func:`upsample_image`), or to a strip of its rows (:func:`upsample_rows`).

Encoder side, imported by encoders only: :mod:`~codec.tools.latentgrid.crops` (training windows
and their exact upsampling) and :mod:`~codec.tools.latentgrid.training` (soft rounding and noise,
the Laplace rate, the float context network, the trainable latents). docs/latentgrid.md is the
reference page; docs/bitstream.md specifies the coding.
"""

from __future__ import annotations

from codec.tools.latentgrid.coding import (
    decode_level,
    decode_levels,
    decode_pyramid,
    encode_level,
    encode_pyramid,
    max_words,
)
from codec.tools.latentgrid.context import (
    ACT_LIMIT,
    ACT_SHIFT,
    ALPHABET,
    LOG_SCALE_MAX,
    LOG_SCALE_MIN,
    MAX_WEIGHT,
    MEAN_RES,
    NUM_SCALES,
    NUM_TABLES,
    Q,
    RHO_Q,
    SCALE_RES,
    WEIGHT_SHIFT,
    IntegerContext,
    context_macs,
    context_shapes,
    layer_shapes,
    tables,
)
from codec.tools.latentgrid.pyramid import Pyramid
from codec.tools.latentgrid.schemes import IMAGE_SCHEMES, PAD, SCHEMES, Scheme
from codec.tools.latentgrid.upsampling import upsample, upsample_image, upsample_level, upsample_rows

__all__ = [
    "ACT_LIMIT", "ACT_SHIFT", "ALPHABET", "IMAGE_SCHEMES", "LOG_SCALE_MAX", "LOG_SCALE_MIN", "MAX_WEIGHT",
    "MEAN_RES", "NUM_SCALES", "NUM_TABLES", "PAD", "Q", "RHO_Q", "SCALE_RES", "SCHEMES", "WEIGHT_SHIFT",
    "IntegerContext", "Pyramid", "Scheme", "context_macs", "context_shapes", "decode_level", "decode_levels",
    "decode_pyramid", "encode_level", "encode_pyramid",
    "layer_shapes", "max_words", "tables", "upsample", "upsample_image", "upsample_level", "upsample_rows",
]
