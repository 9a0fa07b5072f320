"""Coverage-guided fuzzing of the bitstream parser with atheris (libFuzzer for Python, what
OSS-Fuzz runs): ``eval.fuzz.parse_all`` on inputs grown from the golden streams.

    pip install atheris          # or: pip install ".[fuzz]"; wheels for CPython on x86-64 Linux
    python scripts/fuzz_atheris.py -max_total_time=600 -rss_limit_mb=1024 fuzz-corpus/

Any exception other than BitstreamError, a crash or a run over the memory limit stops it with
the input that did it (libFuzzer writes ``crash-*`` / ``oom-*`` files). The corpus folder keeps
what it found; it starts from ``tests/codec/data/*.inrv``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import bitstream  # noqa: F401  (instrumented for coverage)
    from eval.fuzz import parse_all


def main() -> None:
    args = sys.argv[1:]
    corpus = next((Path(a) for a in args if not a.startswith("-")), None)
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        for golden in (Path(__file__).resolve().parents[1] / "tests" / "codec" / "data").glob("*.inrv"):
            shutil.copy(golden, corpus / golden.name)
    atheris.Setup([sys.argv[0], *args], lambda data: parse_all(bytes(data)))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
