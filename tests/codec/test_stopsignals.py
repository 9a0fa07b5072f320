"""codec.stopsignals: a stop signal is raised where the program is, raised again at the next step
when a bare ``except:`` swallowed it, and ends the process through the watchdog when nothing
answers it (the end-to-end cases are in test_reliability.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from codec import stopsignals
from codec.stopsignals import Stopped


@pytest.fixture
def installed():
    restore = stopsignals.install(["SIGHUP"], grace=60)
    yield
    restore()


def _swallowed_sighup() -> None:
    try:
        os.kill(os.getpid(), signal.SIGHUP)
    except:  # noqa: E722 - as a library's bare except does
        pass


def test_a_stop_is_raised_where_the_program_is(installed):
    with pytest.raises(Stopped) as caught:
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(5)  # not reached
    assert caught.value.signum == signal.SIGHUP and isinstance(caught.value, KeyboardInterrupt)


def test_a_swallowed_stop_is_raised_again_at_the_next_check(installed):
    stopsignals.check()  # nothing pending
    _swallowed_sighup()
    assert stopsignals.pending() == signal.SIGHUP
    with pytest.raises(Stopped):
        stopsignals.check()
    with pytest.raises(Stopped):  # until the command is on its way out
        stopsignals.check()


def test_a_second_signal_does_not_cut_the_clean_up_short(installed):
    cleaned = False
    with pytest.raises(Stopped):
        try:
            os.kill(os.getpid(), signal.SIGHUP)
        finally:
            os.kill(os.getpid(), signal.SIGHUP)  # during the clean-up: not raised
            cleaned = True
    assert cleaned


def test_restore_forgets_the_stop_and_the_handler():
    before = signal.getsignal(signal.SIGHUP)
    restore = stopsignals.install(["SIGHUP", "NOSUCHSIGNAL"], grace=60)
    assert signal.getsignal(signal.SIGHUP) is not before
    _swallowed_sighup()
    restore()
    stopsignals.check()
    assert stopsignals.pending() is None and signal.getsignal(signal.SIGHUP) is before


#: A process that swallows its stop and never checks: the watchdog removes its registered
#: temporary output and ends it, 128 + N.
UNANSWERED = """
import os, signal, sys, time
from pathlib import Path
from codec import stopsignals
stopsignals.install(["SIGHUP"], grace=0.5)
part = Path(sys.argv[1])
part.write_bytes(b"half")
stopsignals.register(part)
Path(sys.argv[2]).write_bytes(b"kept")  # not registered: left alone
try:
    os.kill(os.getpid(), signal.SIGHUP)
except:  # noqa: E722
    pass
time.sleep(60)
"""


def test_the_watchdog_ends_an_unanswered_stop(tmp_path):
    part, kept = tmp_path / ".out.part", tmp_path / "kept"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", UNANSWERED, str(part), str(kept)], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 128 + signal.SIGHUP, proc.stderr
    assert time.monotonic() - start < 20
    assert proc.stderr.strip().splitlines()[-1] == "inrv: stopped by SIGHUP (forced: no answer within 0.5 s)"
    assert not part.exists() and kept.read_bytes() == b"kept"
