"""Where a SIGTERM may interrupt the worker's main thread, and where it must wait.

A signal handler runs between two bytecodes of the main thread, wherever that thread is.
Raised anywhere, Shutdown lands inside SQLAlchemy now and then, and that is unsafe: a
pooled SQLite connection went back to the pool still holding the write lock (every
later transaction of the machine then waited on it, the worker's own hand-back too), and
a rollback hook turned the Shutdown into an Exception that failed the job. So the
handler raises Shutdown only inside `interruptible()` regions (the engine's generate, the
idle waits: pure compute or sleeping) and never inside a `shielded()` part of one (a
progress write the engine's callback makes); anywhere else it only marks the request,
the worker's loop sees its `stop` between stages, and the next region entered (or the
shield left) raises at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType


class Shutdown(BaseException):
    """Raised in the worker's main thread by SIGTERM/SIGINT: hand the job back, exit."""


class Interrupts:
    """The main thread's interruptible regions and shields (other threads: no-ops)."""

    def __init__(self) -> None:
        self._open = 0  # interruptible regions the main thread is in
        self._shields = 0  # shielded parts it is in (they win over the regions)
        self._requested = False  # a signal came (the first is the one that counts)
        self._pending = False  # ... and was not raised as Shutdown yet

    def request(self) -> None:
        """The signal's part: raise Shutdown now if the main thread may be interrupted
        here, else leave it pending. A second signal adds nothing."""
        if self._requested:
            return
        self._requested = self._pending = True
        self._raise_if_pending()

    def interruptible(self) -> _Region:
        return _Region(self)

    def shielded(self) -> _Shield:
        return _Shield(self)

    def _raise_if_pending(self) -> None:
        if self._pending and self._open > 0 and self._shields == 0:
            self._pending = False
            raise Shutdown

    def forget(self) -> None:
        """Drop a pending request (a new worker run in the same process: tests)."""
        self._requested = self._pending = False


class _Region:
    def __init__(self, owner: Interrupts):
        self.owner = owner
        self.main = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.main:
            self.owner._open += 1
            try:
                self.owner._raise_if_pending()  # a signal that came just before
            except Shutdown:
                self.owner._open -= 1
                raise

    def __exit__(self, *_exc: object) -> None:
        if self.main:
            self.owner._open -= 1


class _Shield:
    def __init__(self, owner: Interrupts):
        self.owner = owner
        self.main = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.main:
            self.owner._shields += 1

    def __exit__(
        self, kind: type[BaseException] | None, _exc: object, _tb: TracebackType | None
    ) -> None:
        if self.main:
            self.owner._shields -= 1
            if kind is None:  # a signal that came inside: now, in the region around us
                self.owner._raise_if_pending()


INTERRUPTS = Interrupts()  # signals are the process's: one for all


def install(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    """SIGTERM and SIGINT set `stop` and interrupt the worker where that is safe."""

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()
        INTERRUPTS.request()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return on_signal
