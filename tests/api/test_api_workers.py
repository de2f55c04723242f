"""`reelforge serve --api-workers 2`: two API processes listen on the one port, and a
job submitted through them completes (the worker and both API processes share the
database)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.server import FAKE_ENGINE, ServerProcess

V6 = "pixverse-v6"


@pytest.fixture
def server(serve, tmp_path: Path) -> Iterator[ServerProcess]:
    process = serve(tmp_path / "data", args=("--api-workers", "2"), REELFORGE_ENGINE=FAKE_ENGINE)
    try:
        yield process.start()
    finally:
        process.stop()


def _api_pids(server: ServerProcess) -> set[int]:
    """The processes listening on the server's port (uvicorn logs each one it starts)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log())}
        if len(pids) == 2:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"two API processes did not start:\n{server.log()}")


def test_two_api_processes_serve_and_a_job_completes(server: ServerProcess) -> None:
    pids = _api_pids(server)
    assert server.process is not None and server.process.pid not in pids
    for pid in pids:
        listening = [
            conn
            for conn in psutil.Process(pid).net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == server.port
        ]
        assert listening, f"API process {pid} is not listening on {server.port}"
    body = {"prompt": "a lighthouse", "duration": 1, "quality": "360p", "seed": 3}
    with httpx.Client(base_url=server.base_url, headers=server.headers(), timeout=10) as client:
        submitted = client.post(f"/v2/{V6}", json=body)
        assert submitted.status_code == 200, submitted.text
        request_id = submitted.json()["request_id"]
        deadline = time.monotonic() + 60
        status = {}
        while time.monotonic() < deadline:
            # a fresh connection each time: either process may answer, both know the job
            status = httpx.get(
                f"{server.base_url}/v2/requests/{request_id}/status", headers=server.headers()
            ).json()
            if status["status"] in ("COMPLETED", "FAILED"):
                break
            time.sleep(0.2)
        assert status["status"] == "COMPLETED", status
        assert client.get(f"/v2/requests/{request_id}").json()["status"] == "COMPLETED"
    # a clean stop: both API processes end with the server
    server.stop()
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
