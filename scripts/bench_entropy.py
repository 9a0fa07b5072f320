"""Benchmark bitstream.entropy: coded size against the empirical entropy, and speed.

For each test distribution prints the coded bytes (all side information included),
the empirical (plug-in) entropy of the sample in bytes, their ratio (goal: within 1%),
the method chosen, and encode/decode throughput in M symbols/s (goal: >= 10 each way).
Throughput uses the best of ``--repeats`` runs of this process's CPU time (the coder is
single-threaded, so this equals wall time on an idle machine and is robust on a busy one).
The "x10" Zipf row shows how the side information (exact counts) amortises with size.

    python scripts/bench_entropy.py [--n 100000] [--repeats 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bitstream import decode_ints, encode_ints, peek_method  # noqa: E402


@dataclass(frozen=True)
class BenchResult:
    name: str
    count: int
    coded_bytes: int
    entropy_bytes: float
    method: str
    encode_msym_s: float
    decode_msym_s: float

    @property
    def ratio(self) -> float:
        return self.coded_bytes / self.entropy_bytes


def empirical_entropy_bytes(x: np.ndarray) -> float:
    """Plug-in entropy of the sample, in bytes (no model cost)."""
    _, counts = np.unique(x, return_counts=True)
    return float(-(counts * np.log2(counts / x.size)).sum() / 8)


def zipf_sample(rng: np.random.Generator, n: int, alphabet: int = 4000, s: float = 1.1) -> np.ndarray:
    """Zipf-like skew over ``alphabet`` symbols (symbol k has weight (k+1)**-s)."""
    p = np.arange(1, alphabet + 1, dtype=np.float64) ** -s
    return rng.choice(alphabet, size=n, p=p / p.sum()).astype(np.int32)


def bench(name: str, x: np.ndarray, repeats: int) -> BenchResult:
    """Best-of-``repeats`` CPU timings; checks the round trip."""
    enc_t, dec_t = [], []
    data = b""
    for _ in range(repeats):
        t0 = time.process_time()
        data = encode_ints(x)
        t1 = time.process_time()
        y = decode_ints(data, x.size)
        t2 = time.process_time()
        enc_t.append(max(t1 - t0, 1e-9))
        dec_t.append(max(t2 - t1, 1e-9))
    if not np.array_equal(y, x):
        raise AssertionError(f"{name}: round trip failed")
    method = peek_method(data)
    return BenchResult(
        name,
        x.size,
        len(data),
        empirical_entropy_bytes(x),
        method.name if method is not None else "-",
        x.size / min(enc_t) / 1e6,
        x.size / min(dec_t) / 1e6,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="symbols per test array")
    parser.add_argument("--repeats", type=int, default=10, help="timing repeats (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n = args.n
    cases = [
        ("laplace scale 2", np.round(rng.laplace(0, 2, n)).astype(np.int32)),
        ("laplace scale 20", np.round(rng.laplace(0, 20, n)).astype(np.int32)),
        ("gaussian sigma 8", np.round(rng.normal(0, 8, n)).astype(np.int32)),
        ("zipf 4000 symbols", zipf_sample(rng, n)),
        ("zipf 4000 symbols x10", zipf_sample(rng, 10 * n)),
    ]
    header = f"{'distribution':<24}{'n':>9}{'coded B':>10}{'entropy B':>11}{'ratio':>8}  {'method':<10}{'enc M/s':>8}{'dec M/s':>8}"
    print(header)
    print("-" * len(header))
    for name, x in cases:
        r = bench(name, x, args.repeats)
        print(
            f"{r.name:<24}{r.count:>9}{r.coded_bytes:>10}{r.entropy_bytes:>11.0f}{r.ratio:>8.4f}  "
            f"{r.method:<10}{r.encode_msym_s:>8.1f}{r.decode_msym_s:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
