"""teconerv's refinement preset (``--finetune N``), as data (:mod:`codec.tools.phases`).

Encoding is a forward pass of the hypernetwork; ``--finetune N`` then refines each segment's
modulations alone (the hyponetwork base stays fixed) with N Adam steps on the tubelets' MSE, in
float (quantized afterwards): one phase, one parameter group at a constant rate, guarded
(:data:`GUARDS`; each step sees its whole batch of tubelets: the guards watch the step's own loss).
"""

from __future__ import annotations

from codec.tools.phases import Guards, Phase, Preset, Quantizer, Rate, Schedule

#: Adam learning rate of --finetune; carphone 16 frames, 50 steps: 1e-2 17.46 dB, 5e-2 20.09, 0.2 21.83,
#: 0.5 22.20, 1.0 21.77 (the forward pass alone: 15.5)
FINETUNE_LR = 0.5

#: At this constant rate Adam's first step overshoots by design: carphone 8 frames, quality 6, the
#: loss of step 1 is 6.7 times the forward pass's, back below it by step 14 (0.75 of it at step 30).
#: The spike guard therefore stands at 10 (a divergence, not that bump); no collapse guard (there
#: is no rate term: the loss is the MSE).
GUARDS = Guards(spike=10.0, collapse=None)

REFINE = Preset(
    phases=(Phase("refine", Quantizer("none")),),
    lr={"modulations": Rate(FINETUNE_LR, Schedule("constant"))},
    guards=GUARDS,
)
