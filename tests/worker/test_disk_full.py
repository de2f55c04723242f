"""On a real, small filesystem (a tmpfs; needs root, else skipped, failed on CI) that fills up: no
partial file is left behind, no accepted job is lost, and jobs complete once space is
back."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import httpx
import pytest
from segmind import SegmindClient

from reelforge.storage.local import LocalStorage
from tests.support.seeds import payloads
from tests.support.server import FAKE_ENGINE

T2V = "pixverse-text2video"


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; delete it to make space again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_local_storage_leaves_nothing_on_a_full_disk(small_disk, tmp_path):
    storage = LocalStorage(small_disk("2m") / "files")
    big, small = tmp_path / "big.mp4", tmp_path / "small.mp4"
    big.write_bytes(os.urandom(3 << 20))
    small.write_bytes(b"small")
    with pytest.raises(OSError) as caught:
        storage.put("outputs/job-1/1.mp4", big)
    assert caught.value.errno == errno.ENOSPC
    assert [p.name for p in storage.root.rglob("*")] == ["outputs"]  # no partial, no folder
    storage.put("outputs/job-1/1.mp4", small)  # the space was given back
    storage.delete("outputs/job-1/1.mp4")
    assert [p.name for p in storage.root.rglob("*")] == ["outputs"]  # nor an empty folder


def test_a_server_on_a_disk_that_fills_up_loses_no_job(serve, small_disk, tmp_path, media_server):
    disk = small_disk("32m")
    (disk / "tmp").mkdir()
    server = serve(
        disk / "data", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_FAKE_STEP_SECONDS="0.3",
        REELFORGE_HEARTBEAT_SECONDS="0.3", REELFORGE_FAULT_RETRY_SECONDS="0.5",
        TMPDIR=str(disk / "tmp"),  # the worker's working files fill up too
        REELFORGE_MIN_FREE_BYTES="0",  # accept jobs on this small disk (the API's own check)
    )  # fmt: skip
    server.log_path = tmp_path / "server.log"  # the log must not need the full disk
    server.start()
    try:
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1")
        jobs = [client.submit_async(T2V, **payloads(media_server.url)[T2V]) for _ in range(2)]
        deadline = time.monotonic() + 30
        while jobs[0].status()["status"] != "PROCESSING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        filler = fill(disk)
        deadline = time.monotonic() + 60
        while "a full disk" not in server.log():  # the running job hit it
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        time.sleep(2)  # and the worker goes on meeting it for a while
        assert server.process is not None and server.process.poll() is None
        filler.unlink()
        for job in jobs:
            result = job.wait(timeout=120, interval=0.3)
            assert result["status"] == "COMPLETED"
            status = httpx.get(job.status_url, headers=server.headers()).json()
            assert status["attempt"] == 1  # a full disk does not use up attempts
        assert "worker exited" not in server.log()  # no crash, no crash loop
        assert not list(disk.rglob("*.partial"))
        # no job working directory left behind (the SQLite wake-up sockets' directory,
        # jobs/signals.py, is the processes' own, not a job's)
        left = [p for p in (disk / "tmp").iterdir() if not p.name.startswith("reelforge-wake-")]
        assert not left
    finally:
        server.stop()
