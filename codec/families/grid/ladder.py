"""grid's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (the synthesis's hidden
channels, lambda, the first group's steps; later groups train ``encode.LATER_STEPS_FRACTION`` of
it)."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(12, 2e-2, 300),
        Rung(12, 1.2e-2, 300),
        Rung(16, 7e-3, 400),
        Rung(16, 4e-3, 400),
        Rung(16, 2.5e-3, 500),
        Rung(16, 1.5e-3, 500),
        Rung(16, 8e-4, 600),
        Rung(16, 4e-4, 600),
    ),
    measured="scripts/sweep_ladder.py --family grid",
)
