"""``motion``: a motion-compensated overfitted codec after Cool-chic video (Ladune et al.,
"Cool-chic video: learned video coding with 800 parameters", and Orange's Cool-chic 3.x-4.1,
"Overfitted image and video codecs", 2024-2025) and C3 (Kim et al., CVPR 2024).

Frames are coded one by one in a coding structure (:mod:`codec.tools.structure`): random access
(an intra frame every ``--intra-period`` frames, dyadic hierarchical B frames between them, HM's
coding order) or low-delay P. An intra frame is an image decoder of its own: a 2-D pyramid of
integer latents coded under the shared integer context model (:mod:`codec.tools.latentgrid`),
upsampled and turned into the frame by a synthesis of 1x1 layers and a 3x3 refinement. An inter
frame has two such decoders: a motion decoder (latents at a quarter of the frame's resolution ->
a motion field per reference and, for a B frame, a blending weight) and a residual decoder
(latents -> what the prediction misses). The prediction warps the *decoded* references with a
bicubic filter and blends them; the frame is the prediction plus the residual, rounded to 8 bits
as the decoder will have it, so that encoder and decoder never drift apart (closed loop).

Before rate-distortion training, an inter frame's motion decoder is fitted to a classical optical
flow (OpenCV's DIS) between the frame and its references. The networks (synthesis and context
model) of each frame type are trained and stored with the first frame of that type and shared by
the later ones, which store only their latents: at these frame sizes a network per frame costs
more than the frame's latents.
"""

# The package itself is light (no torch, no numpy): what the command line and option checks need
# (codec.registry.Declaration). The family, networks and coders are in .family, loaded on first use.
from codec.families.motion.config import MotionOptions as OPTIONS

__all__ = ["OPTIONS", "SUMMARY", "STREAMS"]

#: What the family is for, in a line (``inrv encode --help``, docs).
SUMMARY = ("frames predicted from decoded frames: per-frame latent grids for intra frames, motion and "
           "residual for inter frames, random access or low delay (Cool-chic video)")
#: Whether the encoder reads its input part by part (True: an intra period at a time).
STREAMS = True
