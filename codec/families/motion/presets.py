"""``motion``'s training presets, as data (:mod:`codec.tools.phases`, run by :mod:`codec.tools.runner`),
and how lambda and the steps follow a frame's type and depth.

Each frame trains as C3 (Kim et al., CVPR 2024) and Cool-chic (Ladune et al.) train: soft rounding
of the latents at a temperature annealed from 0.3 to 0.1 with uniform noise, then a hard-rounding
tail (:data:`HARD_TAIL`) on what the stream will hold. The first frame of each type trains its
part networks too (:data:`FIRST`: latents at 0.1, networks and quantization steps at 1e-2); later
frames of the type train their latents alone (:data:`LATER`). An inter frame's motion decoder is
first fitted to an optical flow (:data:`GUIDE`: float latents, no rate). Deeper frames of the
hierarchy get a larger lambda (Cool-chic video: x1.5 per depth) and fewer steps.
"""

from __future__ import annotations

from codec.tools.phases import DEFAULT_GUARDS, Phase, Preset, Quantizer, Rate, Schedule

#: Share of a frame's steps trained on hard-rounded latents at the end.
HARD_TAIL = 0.15
#: Lambda of a frame at depth ``d`` of the hierarchy: ``lambda * LAMBDA_PER_DEPTH ** d``.
LAMBDA_PER_DEPTH = 1.5
#: An inter frame's steps: the level's intra steps times this, times :data:`STEPS_PER_DEPTH` per depth.
INTER_STEPS = 0.5
#: The steps of the first P and the first B frame (they train their type's networks): the level's
#: intra steps times this. Measured on bigbuckbunny 320x180, 32 frames (quality 4, 400 intra steps
#: then): an intra frame of twice the steps, 9,746 -> 9,998 bytes and 24.61 -> 25.44 dB; the other
#: inter frames at twice their steps too, 9,833 bytes and 25.56 dB (quality 8: 41,581 bytes at
#: 29.48 dB -> 41,575 at 29.97); the first P and B frames at twice their steps as well, more bytes
#: for little (10,205 bytes, 25.43 dB with the intra frame's alone doubled).
NETWORK_STEPS = 0.5
STEPS_PER_DEPTH = 0.85
#: Fewest steps of an inter frame.
MIN_INTER_STEPS = 20
#: Steps of the motion decoder's fit to the optical flow, per inter frame.
GUIDE_STEPS = 150

#: Learning rates. Measured on bigbuckbunny's frame 0 (320x180), an intra frame of 600 steps at
#: lambda 4e-3: latents 0.1 / networks 0.01 (grid's) 26.01 dB at 0.488 bpp; 0.05 / 0.02 26.01 dB
#: at 0.307 bpp; 0.2 / 0.02 26.66 at 0.514; 0.03 / 0.02 25.60 at 0.273 (x265 medium intra: 26.56 dB
#: at 0.251 bpp, 28.44 at 0.451).
LATENTS_LR, NETWORKS_LR = 5e-2, 2e-2

_SCHEDULE = Schedule("cosine", warmup=0.05)
_SOFT = Phase("soft", Quantizer("soft", temperature=(0.3, 0.1)))
_HARD = Phase("hard", Quantizer("hard"), share=HARD_TAIL)

FIRST = Preset(
    phases=(_SOFT, _HARD),
    lr={"latents": Rate(LATENTS_LR, _SCHEDULE), "networks": Rate(NETWORKS_LR, _SCHEDULE),
        "steps": Rate(NETWORKS_LR, _SCHEDULE)},
    guards=DEFAULT_GUARDS,
)
LATER = Preset(phases=(_SOFT, _HARD), lr={"latents": Rate(LATENTS_LR, _SCHEDULE)}, guards=DEFAULT_GUARDS)
#: The motion decoder fitted to the optical flow: float latents (and, in the first frame of its
#: type, its synthesis), no rate term.
GUIDE = Preset(phases=(Phase("flow", Quantizer("none")),),
               lr={"latents": Rate(1e-1, _SCHEDULE), "networks": Rate(1e-2, _SCHEDULE)}, guards=None)
GUIDE_LATER = Preset(phases=(Phase("flow", Quantizer("none")),), lr={"latents": Rate(1e-1, _SCHEDULE)},
                     guards=None)


def frame_lambda(lmbda: float, depth: int) -> float:
    """The lambda of a frame at ``depth``."""
    return lmbda * LAMBDA_PER_DEPTH**depth


def frame_steps(intra_steps: int, intra: bool, depth: int, networks: bool = False) -> int:
    """The steps of a frame: ``intra_steps`` for an intra frame, :data:`NETWORK_STEPS` of them for
    the first frame of an inter type (``networks``: it trains the networks the later ones reuse),
    fewer for other inter frames, fewer again the deeper they lie."""
    if intra:
        return intra_steps
    if networks:
        return max(1, round(intra_steps * NETWORK_STEPS))
    return max(MIN_INTER_STEPS, round(intra_steps * INTER_STEPS * STEPS_PER_DEPTH**depth))
