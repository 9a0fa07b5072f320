"""grid's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (the synthesis's hidden
channels, lambda, the first group's steps; later groups train ``encode.LATER_STEPS_FRACTION`` of
it). A first ladder from single-group fits on carphone (docs/grid.md): steps buy little rate-distortion
at a fixed lambda there (600 -> 1,800 steps at lambda 1e-3: +0.3 dB for 50% more bits, docs/grid.md), so the levels
move lambda, and the steps stay within ten minutes of one CPU thread on 64 frames of 640x272
(8 groups: about 4.5 x the first group's steps at about 0.3 s a step)."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(12, 2e-2, 300),
        Rung(12, 1.2e-2, 300),
        Rung(16, 7e-3, 300),
        Rung(16, 4e-3, 350),
        Rung(16, 2.5e-3, 350),
        Rung(16, 1.5e-3, 400),
        Rung(16, 8e-4, 400),
        Rung(16, 4e-4, 400),
    ),
    measured="scripts/bench_rd.py --families grid (docs/grid.md)",
)
