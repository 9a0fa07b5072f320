"""The fuzzer (eval/fuzz.py, scripts/fuzz.py): it tells each outcome apart, and decoding survives it."""

from __future__ import annotations

import random

import pytest

from bitstream import StreamReader
from eval.fuzz import FAILURES, MUTATORS, OUTCOMES, FuzzConfig, Worker, mutate, run


def test_a_worker_tells_every_outcome_apart(tmp_path):
    worker = Worker("tests.eval.fuzz_targets:behave")
    try:
        seen = {}
        for first in b"ABTHCMA":  # after a hang, a crash and a memory kill, a fresh worker answers
            path = tmp_path / "case"
            path.write_bytes(bytes([first]))
            seen[chr(first)] = worker.run(path, time_limit=3.0, memory_mib=400.0)
    finally:
        worker.kill()
    assert {k: v.outcome for k, v in seen.items()} == {
        "A": "accepted", "B": "clean", "T": "traceback", "H": "hang", "C": "crash", "M": "memory"}
    assert "escaped" in seen["T"].message and seen["M"].peak_mib > 400


def test_mutants_are_streams_or_damage_of_every_kind(tmp_path):
    from eval.fuzz import seed_streams

    seeds = seed_streams(tmp_path, ["nerv"])
    rng = random.Random(0)
    mutants = [mutate("nerv", seeds["nerv"], rng) for _ in range(200)]
    assert {m.mutator for m in mutants} == set(MUTATORS)
    framed = [m for m in mutants if m.mutator in ("chunks", "header", "config", "rehead", "payload")]
    readable = 0
    for m in framed:  # re-framed with their CRCs right: most reach the payloads
        try:
            with StreamReader(m.data) as reader:
                for i in range(len(reader.chunks)):
                    reader.read_chunk(i)
            readable += 1
        except ValueError:
            pass
    assert readable > 0.5 * len(framed)


def test_decoding_survives_the_fuzzer():
    summary = run(FuzzConfig(per_family=15, workers=1, progress=False))
    assert set(summary.counts)  # every family
    for family, counts in summary.counts.items():
        assert sum(counts.values()) == 15 and set(counts) <= set(OUTCOMES)
        assert not any(counts[o] for o in FAILURES), (family, summary.failures[:3])
    assert "peak MiB" in summary.table()


@pytest.mark.slow
def test_decoding_survives_thousands_of_cases():
    summary = run(FuzzConfig(per_family=2000, workers=2, progress=False, seed=1))
    assert not summary.failures, [(c.family, c.mutator, o.outcome, o.message) for c, o in summary.failures[:5]]
