"""grid's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (the synthesis's hidden
channels, lambda, the first group's steps; later groups train ``encode.LATER_STEPS_FRACTION`` of
it). The levels move lambda over a factor of 60 (with whole-frame training steps the rate follows
lambda; measured by scripts/bench_rd.py, docs/grid.md), and the steps stay within about ten
minutes of one CPU thread on 64 frames of 640x272 (8 groups: 4.5 x the first group's steps at 0.2
to 0.3 s a step)."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(12, 6e-2, 300),
        Rung(12, 3.5e-2, 300),
        Rung(16, 2e-2, 300),
        Rung(16, 1.1e-2, 350),
        Rung(16, 6e-3, 350),
        Rung(16, 3.5e-3, 400),
        Rung(16, 2e-3, 400),
        Rung(16, 1e-3, 400),
    ),
    measured="scripts/bench_rd.py --families grid (docs/grid.md)",
)
