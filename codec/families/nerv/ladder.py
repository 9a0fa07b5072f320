"""nerv's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (density per pixel of
the clip, lambda, epochs), from the points of ``docs/data/ladder/nerv.jsonl`` (measured by
``scripts/sweep_ladder.py --family nerv``; ``--report-only`` reprints their hulls)."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(0.02, 1e-2, 25),
        Rung(0.03, 6e-3, 40),
        Rung(0.04, 4e-3, 60),
        Rung(0.06, 2.5e-3, 80),
        Rung(0.08, 1.7e-3, 100),
        Rung(0.12, 1.2e-3, 150),
        Rung(0.16, 8e-4, 200),
        Rung(0.32, 4e-4, 300),
    ),
    measured="scripts/sweep_ladder.py --family nerv --results docs/data/ladder/nerv.jsonl --report-only",
)
