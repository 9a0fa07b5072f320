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


def test_a_worker_tells_the_decoder_its_memory_limit(tmp_path):
    """The case's limit less what the worker holds: a family stating less than it uses is caught
    as "memory", not refused by the machine-wide default."""
    worker = Worker("tests.eval.fuzz_targets:limit", memory_mib=1024.0)
    path = tmp_path / "case"
    path.write_bytes(b"x")
    try:
        out = worker.run(path, time_limit=30.0, memory_mib=1024.0)
    finally:
        worker.kill()
    assert out.outcome == "clean" and out.message.startswith("limit ")
    assert 0 < int(out.message.split()[1]) < (1024 - 100) * 2**20


def test_reheaded_mutants_claim_large_frames_with_their_chunks_intact(tmp_path):
    from eval.fuzz import seed_streams

    seed = seed_streams(tmp_path, ["grid"])["grid"]
    rng = random.Random(1)
    mutants = [m for m in (mutate("grid", seed, rng) for _ in range(300)) if m.mutator == "rehead"]
    assert len(mutants) > 10
    with StreamReader(seed) as reader:
        chunks = [reader.read_chunk(i) for i in range(len(reader.chunks))]
    for m in mutants:
        with StreamReader(m.data) as reader:
            assert reader.header.width * reader.header.height >= 256 * 256
            assert [reader.read_chunk(i) for i in range(len(reader.chunks))] == chunks  # CRCs valid


def test_a_saved_run_reprints_its_report(tmp_path):
    from eval.fuzz import Case, Outcome, RunInfo, Summary, load, save, write_report

    summary = Summary()
    summary.add(Case("nerv", "rehead", b""), Outcome("clean", 0.1, 700.0, "over the limit"))
    summary.add(Case("grid", "payload", b""), Outcome("hang", 60.0, 720.0, "no answer in 60 s"))
    info = RunInfo(per_family=1, workers=1, seed=0, time_limit=60.0, memory_mib=1024.0, seconds=120.0)
    again, info2 = load(save(tmp_path / "results.json", summary, info))
    assert info2 == info and again.table() == summary.table() and again.mutator_table() == summary.mutator_table()
    text = write_report(tmp_path / "report.md", again, info2, "python scripts/fuzz.py --report-only").read_text()
    assert "grid payload: hang: no answer in 60 s" in text and "rehead" in text and "2 minutes" in text


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
