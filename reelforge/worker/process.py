"""Running workers as child processes of `reelforge serve`: the API process never loads
a model, and a crashed worker is started again."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading

from reelforge.settings import Settings

log = logging.getLogger("reelforge.serve")

RESTART_DELAY_SECONDS = 2.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux: the kernel kills the worker when `serve` dies, even by SIGKILL, so no
    # orphan keeps a GPU busy; its job's lease then expires and the job runs again
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class WorkerProcess:
    """One `reelforge worker` child, kept running until `stop()`."""

    def __init__(self, settings: Settings):
        self.env = {
            **os.environ,
            "REELFORGE_DATA_DIR": str(settings.data_dir.resolve()),
            "REELFORGE_DATABASE_URL": settings.resolved_database_url,
            "REELFORGE_STORAGE_DIR": str(settings.resolved_storage_dir),
        }
        self._stopping = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(
            target=self._supervise, name="worker-supervisor", daemon=True
        )

    def __enter__(self) -> WorkerProcess:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            self._child = subprocess.Popen(
                [sys.executable, "-m", "reelforge", "worker"],
                env=self.env,
                preexec_fn=_die_with_parent,
            )
            code = self._child.wait()
            if self._stopping.is_set():
                return
            log.error("worker exited with code %s; starting a new one", code)
            self._stopping.wait(RESTART_DELAY_SECONDS)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the worker to hand back its job and exit; kill it if it does not."""
        self._stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
        self._thread.join(timeout)
