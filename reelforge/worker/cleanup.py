"""What dead workers on this host left behind, removed when a worker starts.

A worker killed mid-job (SIGKILL, OOM, a crash) cannot clean up: its working directory
(`reelforge-<job id>-<host>-<pid>-*` in the system temp dir) stays, and its row in the
workers table goes on naming the job it ran. The next worker to start on the same host
can tell such a worker from a live one for sure (its process is gone), so it tidies up.
A directory is judged by the process that made it, not by a database: several
installations (several databases) may share one host and its temp dir.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from reelforge.jobs import fleet

log = logging.getLogger("reelforge.worker")
_STARTED = time.time()  # imported as the worker starts: older things of our pid are not ours

# TemporaryDirectory(prefix=workdir_prefix(job_id)) + random
_WORKDIR = re.compile(r"^reelforge-(?P<job>[0-9a-f-]{36})-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-")


def _host_tag(hostname: str) -> str:
    return hashlib.sha256(hostname.encode()).hexdigest()[:8]


def workdir_prefix(job_id: str, *, hostname: str | None = None, pid: int | None = None) -> str:
    """The name of a job's temporary working directory, up to its random part: it
    names the job, and the host and process (by default: this one) that made it."""
    host = _host_tag(hostname or socket.gethostname())
    return f"reelforge-{job_id}-{host}-{os.getpid() if pid is None else pid}-"


def process_alive(pid: int, since: float) -> bool:
    """Whether the process `pid`, that made something at `since` (epoch seconds), still
    runs on this host. This very process counts only for what it made since it started:
    a dead worker may have had our pid (pid 1 of a restarted container)."""
    if pid == os.getpid():
        return since >= _STARTED
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def remove_leftovers(db: Engine, hostname: str, within: float) -> None:
    """Forget the rows of this host's dead workers, and remove the working directories
    that dead worker processes of this host left in the temp dir."""
    gone = fleet.forget_dead(db, hostname, process_alive, within)
    if gone:
        log.info("forgot %d dead worker(s) of this host", gone)
    here = _host_tag(hostname)
    for path in Path(tempfile.gettempdir()).glob("reelforge-*"):
        match = _WORKDIR.match(path.name)
        if not match or match["host"] != here or not path.is_dir():
            continue
        if not process_alive(int(match["pid"]), path.stat().st_mtime):
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed %s, left by a worker that died running job %s", path, match["job"])
