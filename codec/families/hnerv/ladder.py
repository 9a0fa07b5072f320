"""hnerv's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (density per pixel of
the clip, lambda, epochs): for now nerv's rungs, which the points of
``docs/data/ladder/hnerv.jsonl`` (``scripts/sweep_ladder.py --family hnerv --report-only``)
support on carphone; checked level by level on carphone 32 by ``scripts/bench_rd.py``
(docs/quality.md), not yet on the other clips."""

from codec.tools.ladder import Ladder, Rung

LADDER = Ladder(
    rungs=(
        Rung(0.015, 1.2e-2, 60),
        Rung(0.02, 8e-3, 80),
        Rung(0.03, 5e-3, 100),
        Rung(0.04, 3.5e-3, 120),
        Rung(0.06, 2.5e-3, 150),
        Rung(0.08, 1.7e-3, 200),
        Rung(0.12, 1e-3, 250),
        Rung(0.2, 5e-4, 300),
    ),
    measured="scripts/sweep_ladder.py --family hnerv --results docs/data/ladder/hnerv.jsonl --report-only",
)
