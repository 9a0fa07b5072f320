"""nirvana's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (density per pixel of
a group, lambda, the first group's steps; later groups train ``encode.LATER_STEPS_FRACTION`` of
it), from the points of ``docs/data/ladder/nirvana.jsonl`` (measured by
``scripts/sweep_ladder.py --family nirvana``; ``--report-only`` reprints their hulls)."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(0.03, 1.5e-2, 300),
        Rung(0.04, 1e-2, 400),
        Rung(0.06, 7e-3, 500),
        Rung(0.08, 4.5e-3, 700),
        Rung(0.12, 3e-3, 1000),
        Rung(0.18, 1.7e-3, 1400),
        Rung(0.25, 1e-3, 2000),
        Rung(0.5, 4e-4, 3200),
    ),
    measured="scripts/sweep_ladder.py --family nirvana --results docs/data/ladder/nirvana.jsonl --report-only",
)
