"""A stand-in decode for the fuzzer's own tests: the case file's first byte says how it behaves."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bitstream import BitstreamError

HOLD = []


def behave(path: str) -> str:
    first = Path(path).read_bytes()[:1]
    if first == b"B":
        raise BitstreamError("a clean error")
    if first == b"T":
        raise ValueError("an escaped exception")
    if first == b"H":
        time.sleep(3600)
    if first == b"C":
        os.abort()
    if first == b"M":
        HOLD.append(bytearray(600 * 2**20))  # 600 MiB, touched
        time.sleep(3600)
    return "ok"


def limit(path: str) -> str:
    """The decode memory limit the worker was given (:data:`eval.fuzz.CASE_MEMORY`), as a clean error."""
    import eval.fuzz

    raise BitstreamError(f"limit {eval.fuzz.CASE_MEMORY}")
