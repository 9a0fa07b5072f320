"""grid's training presets, as data (:mod:`codec.tools.phases`, run by :mod:`codec.tools.runner`).

Quantization in training follows C3 (Kim et al., "C3: High-performance and low-complexity neural
compression from a single image or video", CVPR 2024), after Agustsson and Theis ("Universally
quantized neural compression", NeurIPS 2020): a soft phase, where the synthesis sees ``s(s(y) + u)``
(``s``: soft rounding at a temperature annealed linearly from 0.3 to 0.1 over the phase, ``u``:
uniform noise) and the rate term is the bits of ``s(y) + u`` under the context model, then a hard
tail of :data:`HARD_TAIL` of the run on the rounded latents (straight-through) with the rate of the
rounded values, what the stream will hold.

Three parameter groups: the latents (Adam at 0.1: they are integers at the end, a step of 1 is one
quantization step), the networks (synthesis weights, context model, entropy models: 1e-2) and the
synthesis's quantization steps (1e-2); all with a 5% warm-up and cosine decay over the run. The
first group of a video trains with :data:`FIRST`; later groups start from the previous group's
state with :data:`LATER`, which freezes the steps (later groups store residual codes against the
first group's steps) and runs :data:`LATER_STEPS_FRACTION` of the first group's steps.
"""

from __future__ import annotations

from dataclasses import replace

from codec.tools.phases import DEFAULT_GUARDS, Phase, Preset, Quantizer, Rate, Schedule

#: Share of a group's steps trained on hard-rounded latents at the end.
HARD_TAIL = 0.15
#: Later groups start from the previous group and train this share of the first group's steps.
LATER_STEPS_FRACTION = 0.5

_SCHEDULE = Schedule("cosine", warmup=0.05)

FIRST = Preset(
    phases=(
        Phase("soft", Quantizer("soft", temperature=(0.3, 0.1))),
        Phase("hard", Quantizer("hard"), share=HARD_TAIL),
    ),
    lr={"latents": Rate(1e-1, _SCHEDULE), "networks": Rate(1e-2, _SCHEDULE), "steps": Rate(1e-2, _SCHEDULE)},
    guards=DEFAULT_GUARDS,
)

LATER = replace(FIRST, phases=tuple(replace(p, frozen=frozenset({"steps"})) for p in FIRST.phases))

#: Later groups training their latents alone (the networks' residuals then are zero): measured
#: against :data:`LATER` in docs/grid.md, not used by the encoder.
LATER_LATENTS_ONLY = replace(FIRST, phases=tuple(replace(p, frozen=frozenset({"steps", "networks"}))
                                                 for p in FIRST.phases))
