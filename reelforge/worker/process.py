"""Running the worker as a child process of `reelforge serve`: the API process never
loads a model, the API starts only once the worker has loaded its engine, and a worker
that dies later is started again, backing off while it keeps dying.

The child tells its parent how its start went through a pipe (`--ready-fd`): one line,
`ready`, or the reason it cannot serve (startup.py), after which it exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from reelforge.settings import Settings
from reelforge.worker.faults import Backoff

log = logging.getLogger("reelforge.serve")

READY = "ready"
RESTART_FIRST_SECONDS = 1.0  # a worker that died: restart after 1 s, 2 s, 4 s ...
RESTART_MAX_SECONDS = 60.0  # ... up to a minute between tries
STABLE_SECONDS = 60.0  # a worker that stayed up this long had its earlier crashes forgiven
PR_SET_PDEATHSIG = 1


class WorkerFailed(Exception):
    """The worker could not start; the message says why, in one line."""


def announce(fd: int, line: str) -> None:
    """The child's side: tell `serve` we are ready, or why we cannot be."""
    with contextlib.suppress(OSError):  # a parent gone already cannot be told
        os.write(fd, (" ".join(line.split()) + "\n").encode())


def die_with_parent(parent_pid: int) -> None:
    """The child's side, first thing: the kernel kills this worker when `serve` dies, even
    by SIGKILL (Linux), so no orphan keeps a GPU busy; its job's lease then expires and
    the job runs again. (A SIGTERM or SIGINT to `serve` stops the worker properly first:
    see stop().) A parent already gone before that took effect: exit at once.

    The child asks for this itself rather than through Popen's `preexec_fn`: Python code
    between fork and exec in a process with threads (serve's API and supervisor) can
    deadlock on a lock another thread held at the fork, and the child then hangs, never
    ready, before it even runs the worker."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


class WorkerProcess:
    """One `reelforge worker` child, kept running until `stop()`."""

    def __init__(self, settings: Settings):
        self.env = {
            **os.environ,
            "REELFORGE_DATA_DIR": str(settings.data_dir.resolve()),
            "REELFORGE_DATABASE_URL": settings.resolved_database_url,
            "REELFORGE_STORAGE_DIR": str(settings.resolved_storage_dir),
        }
        self.start_timeout = settings.worker_start_seconds
        self._lock = threading.Lock()  # orders spawning against stop()
        self._stopping = threading.Event()
        self._first_verdict = threading.Event()  # the first child said ready, or exited
        self._failure: str | None = None  # why the first child could not start
        self._child: subprocess.Popen[bytes] | None = None
        # the thread that spawns every child must outlive them: PR_SET_PDEATHSIG fires
        # when the spawning *thread* ends
        self._thread = threading.Thread(
            target=self._supervise, name="worker-supervisor", daemon=True
        )

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, interrupted: threading.Event) -> bool:
        """Start the worker and wait until it has loaded its engine. False if
        `interrupted` was set meanwhile (a signal to `serve`); WorkerFailed if the worker
        exited first or took longer than REELFORGE_WORKER_START_SECONDS."""
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self._first_verdict.wait(0.1):
            if interrupted.is_set():
                self.stop()
                return False
            if time.monotonic() > deadline:
                self.stop()
                raise WorkerFailed(
                    f"the worker did not load its engine within {self.start_timeout:g} s; "
                    "if loading the checkpoint takes longer, raise REELFORGE_WORKER_START_SECONDS"
                )
        if self._failure is not None:
            self._thread.join()
            raise WorkerFailed(self._failure)
        return True

    def _supervise(self) -> None:
        try:
            self._keep_running()
        except BaseException as exc:  # cannot start a process at all: say so, once
            self._failure = f"could not start the worker process ({exc})"
            raise
        finally:
            self._first_verdict.set()

    def _keep_running(self) -> None:
        backoff = Backoff(RESTART_FIRST_SECONDS, RESTART_MAX_SECONDS)
        while True:
            started = time.monotonic()
            spawned = self._spawn()
            if spawned is None:  # stopping
                return
            child, said = spawned
            if not self._first_verdict.is_set():
                if said != READY:
                    code = child.wait()
                    self._failure = said or (
                        f"the worker exited with code {code} before it was ready; "
                        "see its output above"
                    )
                    self._first_verdict.set()
                    return
                self._first_verdict.set()
            elif said and said != READY:
                log.error("the restarted worker cannot serve: %s", said)
            code = child.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= STABLE_SECONDS:
                backoff.reset()
            delay = backoff.next()
            log.error(
                "worker exited with code %s; restarting in %g s (crash %d)",
                code,
                delay,
                backoff.failures,
            )
            if self._stopping.wait(delay):
                return

    def _spawn(self) -> tuple[subprocess.Popen[bytes], str] | None:
        """Start a child; returns it and the first line it said (`ready`, a reason, or
        '' when it exited without a word)."""
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                if self._stopping.is_set():
                    os.close(read_end)
                    return None
                command = [
                    sys.executable,
                    "-m",
                    "reelforge",
                    "worker",
                    "--ready-fd",
                    str(write_end),
                    "--parent-pid",
                    str(os.getpid()),
                ]
                child = self._child = subprocess.Popen(command, env=self.env, pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the child holds the only write end: EOF when it exits
        with os.fdopen(read_end, "rb") as pipe:
            said = pipe.readline(4096).decode(errors="replace").strip()
        return child, said

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the worker to hand back its job and exit; kill it if it does not."""
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)
