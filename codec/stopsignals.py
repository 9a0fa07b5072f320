"""Stop signals (SIGTERM, SIGHUP) that end a command as Ctrl-C does, and are never lost.

:func:`install` makes each stop signal raise :class:`Stopped` where the main thread is, so that
every ``with`` block and writer cleans up; the command line then exits 128 + N. Python runs the
handler between two bytecodes of whatever runs then, and a bare ``except:`` there swallows the
exception: the command would run on as if no signal had come. Such places are in the libraries a
command imports while it works: mpmath, which torch imports the first time a network is built on
the meta device (the start of every decode), probes for gmpy2 inside ``try: ... except: pass``; a
SIGHUP that arrived there left ``inrv decode`` writing frames a minute later (the flaky
``test_stop_signals_leave_no_debris[SIGHUP]`` on loaded machines, where those imports take
seconds); torch._dynamo has more, and an exception raised in a ``__del__`` is printed and dropped.

So the handler also records the stop, and the stop is answered twice more:

* :func:`check` raises it again where work goes on in steps (each chunk a video writer writes,
  each training step): a swallowed stop ends the command at its next step;
* a watchdog thread, started by the first signal, ends the process when the stop is not answered
  (:func:`install`'s restore, which the command line runs on its way out) within ``grace``
  seconds: it removes the temporary outputs registered with :func:`register` (the writers'
  ``.part`` files), says so on standard error and exits 128 + N without further clean-up.

A second stop signal while one is being answered is not raised again (it would cut the clean-up
short); the watchdog is its answer.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Stopped", "install", "check", "pending", "register", "unregister", "temporary", "GRACE_SECONDS"]

#: Seconds between a stop signal and the watchdog's forced exit when the command has not ended.
GRACE_SECONDS = 10.0


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP) raised where the program is, so that every ``with`` block
    and writer cleans up as it does for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _State:
    """The stop of one :func:`install` (one at a time: signal handlers are process-wide)."""

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.signum: int | None = None  # the first stop signal received since install()
        self.answered = threading.Event()  # set by restore(): the command is on its way out
        self.grace = grace


_state = _State()
_temporaries: set[Path] = set()
_lock = threading.Lock()


def pending() -> int | None:
    """The stop signal received and not yet answered, or None."""
    return _state.signum


def check() -> None:
    """Raise :class:`Stopped` if a stop signal came (its first exception may have been swallowed).
    Cheap: call it at every step of long work."""
    if _state.signum is not None:
        raise Stopped(_state.signum)


def register(path: Path | None) -> None:
    """A temporary output the watchdog removes if it has to end the process (a file or folder;
    None: nothing)."""
    if path is not None:
        with _lock:
            _temporaries.add(Path(path))


def unregister(path: Path | None) -> None:
    """The temporary output is gone or renamed onto its target (None: nothing)."""
    if path is not None:
        with _lock:
            _temporaries.discard(Path(path))


@contextmanager
def temporary(path: Path | None) -> Iterator[None]:
    """:func:`register` ``path`` for the ``with`` block."""
    register(path)
    try:
        yield
    finally:
        unregister(path)


def _remove_temporaries() -> None:
    with _lock:
        paths = list(_temporaries)
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass


def _watch(signum: int, answered: threading.Event, grace: float) -> None:
    """The watchdog: the command had ``grace`` seconds to end after ``signum``."""
    if answered.wait(grace):
        return
    _remove_temporaries()
    name = signal.Signals(signum).name
    try:
        sys.stderr.write(f"\ninrv: stopped by {name} (forced: no answer within {grace:g} s)\n")
        sys.stderr.flush()
    finally:
        os._exit(128 + signum)


def _on_stop_signal(signum: int, frame) -> None:
    if _state.signum is not None:
        return  # being answered: raising again could cut the clean-up short; the watchdog stands by
    _state.signum = signum
    threading.Thread(target=_watch, args=(signum, _state.answered, _state.grace), name="inrv-stop-watchdog",
                     daemon=True).start()
    raise Stopped(signum)


def install(signals: Iterable[str], grace: float = GRACE_SECONDS) -> Callable[[], None]:
    """Handle the named signals (those this platform has) as stops; returns the function that
    marks the stop answered (the watchdog stands down), forgets it and restores the previous
    handlers. Main thread only, like :func:`signal.signal`."""
    global _state
    state = _state = _State(grace)
    previous = {}
    for name in signals:
        if hasattr(signal, name):
            previous[name] = signal.signal(getattr(signal, name), _on_stop_signal)

    def restore() -> None:
        state.answered.set()
        state.signum = None
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)

    return restore
