"""A worker starting on a host removes what this host's dead workers left: their working
directories in the temp dir and their rows in the workers table; nothing of a live
worker, of another host, or of anything else in the temp dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

from sqlalchemy import select, update

from reelforge.jobs import fleet
from reelforge.jobs.schema import workers
from reelforge.worker.cleanup import workdir_prefix


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _register(db, worker_id: str, hostname: str, pid: int, seen_ago: float) -> None:
    fleet.register(db, fleet.WorkerInfo(worker_id, hostname, pid, ["pixverse-v6"], "e", "cpu", 1))
    with db.begin() as conn:
        conn.execute(
            update(workers)
            .where(workers.c.id == worker_id)
            .values(heartbeat_at=time.time() - seen_ago, current_job=str(uuid.uuid4()))
        )


def test_a_starting_worker_removes_what_dead_workers_of_its_host_left(make_worker, temp_dir):
    host = socket.gethostname()
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        job = str(uuid.uuid4())
        made = {
            "dead": temp_dir / (workdir_prefix(job, pid=dead) + "a1"),
            "a predecessor's with my pid": temp_dir / (workdir_prefix(job) + "b2"),
            "a sibling's in this process": temp_dir / (workdir_prefix(job) + "b3"),
            "live": temp_dir / (workdir_prefix(job, pid=live.pid) + "c3"),
            "other host": temp_dir / (workdir_prefix(job, hostname="elsewhere", pid=dead) + "d4"),
            "not a job's": temp_dir / "reelforge-upload-e5",
        }
        for path in made.values():
            (path / "frames").mkdir(parents=True)
            (path / "frames" / "0001.png").write_bytes(b"x")
        before_me = time.time() - 3600  # made before this process started: not a sibling's
        os.utime(made["a predecessor's with my pid"], (before_me, before_me))
        worker = make_worker()
        db = worker.db
        _register(db, f"{host}:{dead}:dead", host, dead, seen_ago=60)
        _register(db, f"{host}:{live.pid}:stuck", host, live.pid, seen_ago=60)
        _register(db, f"elsewhere:{dead}:far", "elsewhere", dead, seen_ago=60)
        _register(db, f"{host}:{dead}:fresh", host, dead, seen_ago=0)  # live by heartbeat
        stop = threading.Event()
        worker.run(stop, ready=stop.set)
        left = {name for name, path in made.items() if path.exists()}
        assert left == {"live", "other host", "not a job's", "a sibling's in this process"}
        with db.begin() as conn:
            rows = set(conn.execute(select(workers.c.id)).scalars())
        assert rows == {f"{host}:{live.pid}:stuck", f"elsewhere:{dead}:far", f"{host}:{dead}:fresh"}
    finally:
        live.kill()
        live.wait()


def test_a_gone_worker_is_listed_as_gone_without_a_job(make_worker):
    db = make_worker().db
    _register(db, "h:1:live", "h", 1, seen_ago=1)
    _register(db, "h:2:gone", "h", 2, seen_ago=120)
    _register(db, "h:3:forgotten", "h", 3, seen_ago=7200)
    listed = {row["id"]: row for row in fleet.listing(db, within=10)}
    assert set(listed) == {"h:1:live", "h:2:gone"}
    assert listed["h:1:live"]["live"] and listed["h:1:live"]["current_job"]
    gone = listed["h:2:gone"]
    assert not gone["live"] and gone["current_job"] is None and gone["last_seen"] >= 120
    assert fleet.serving(db, within=10) == {"pixverse-v6": 1}
