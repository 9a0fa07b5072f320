"""hnerv's quality ladder (:mod:`codec.tools.ladder`): ``--quality`` 1..8 as (density per pixel of
the clip, lambda, epochs): for now nerv's rungs, which the points of
``docs/data/ladder/hnerv.jsonl`` (``scripts/sweep_ladder.py --family hnerv --report-only``)
support on carphone; checked level by level on carphone 32 by ``scripts/bench_rd.py``
(docs/quality.md), not yet on the other clips."""

from codec.families.nerv.ladder import LADDER as NERV_LADDER
from codec.tools.ladder import Ladder

LADDER = Ladder(
    rungs=NERV_LADDER.rungs,
    measured="scripts/sweep_ladder.py --family hnerv --results docs/data/ladder/hnerv.jsonl --report-only",
)
