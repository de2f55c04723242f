"""The database going away under a running server: every call that needs it answers 503
with Retry-After (quickly, not after a long hang), /readyz goes red while /healthz stays
green, no error answer closes the client's connection, and once the database is back the
same server process serves again with no job lost or stuck.

The outage is real: a private PostgreSQL cluster, started by the test on a port of its
own, stopped and started again under the server (the shared one on 5432 is never touched).
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import psutil
import pytest
import sqlalchemy
import uvicorn
from sqlalchemy.exc import InternalError, OperationalError, ProgrammingError

from reelforge.api import capacity
from reelforge.api.app import create_app
from reelforge.settings import Settings
from tests.support.environment import unavailable
from tests.support.server import FAKE_ENGINE, ServerProcess, free_port

T2V = "pixverse-text2video"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary directory, run by the postgres user
    (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="reelforge-pg-"))
        self.data = self.root / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> Cluster:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self.start()

    def start(self) -> Cluster:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def processes(self) -> list[psutil.Process]:
        """The postmaster and every process it started (backends, checkpointer, ...)."""
        postmaster = psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    def freeze(self) -> None:
        """SIGSTOP the whole server: its connections stay open, nothing answers."""
        for process in self.processes():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in self.processes():
            process.send_signal(signal.SIGCONT)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def pg_cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        unavailable(f"no PostgreSQL server binaries at {PG_BIN} to run a private cluster")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("running as root without runuser: cannot start PostgreSQL as postgres")
    cluster = Cluster()
    try:
        yield cluster.create()
    finally:
        cluster.remove()


@pytest.fixture
def server(serve, pg_cluster: Cluster, tmp_path: Path) -> Iterator[ServerProcess]:
    process = serve(
        tmp_path / "data",
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_DATABASE_URL=pg_cluster.url,
        REELFORGE_FAKE_STEP_SECONDS="0.4",  # a job runs 4 s: across the outage
        REELFORGE_LEASE_SECONDS="3",
        REELFORGE_HEARTBEAT_SECONDS="0.5",
        REELFORGE_STREAM_KEEPALIVE_SECONDS="0.5",
    )
    try:
        yield process.start()
    finally:
        process.stop()


def _call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
          body: Any = None) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    raw = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=raw, headers={**headers, "content-type": "application/json"})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), json.loads(response.read())


def _wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_database_outage_is_503_and_the_server_recovers(
    pg_cluster: Cluster, server: ServerProcess
) -> None:
    headers = server.headers()
    api = httpx.Client(base_url=server.base_url, headers=headers, timeout=30)
    before = api.post(f"/v2/{T2V}", json={"prompt": "before the outage"}).json()
    _wait_for(lambda: api.get(before["status_url"]).json()["status"] == "PROCESSING", 30,
              "the first job to start")  # fmt: skip

    pg_cluster.stop()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.connect()
    sock = conn.sock
    started = time.monotonic()
    status, answer_headers, answer = _call(conn, "POST", f"/v2/{T2V}", headers, {"prompt": "x"})
    to_503 = time.monotonic() - started
    print(f"submit answered {status} {to_503 * 1000:.0f} ms after the database went down")
    assert status == 503, answer
    assert int(answer_headers["retry-after"]) > 0
    assert "database" in answer["error"] and "unreachable" in answer["error"]
    assert to_503 < 5
    for path in (f"/v2/requests/{before['request_id']}/status", "/v1/get-user-credits"):
        status, answer_headers, answer = _call(conn, "GET", path, headers)
        assert status == 503 and "retry-after" in answer_headers, (path, answer)
    slowest = 0.0
    outage_ends = time.monotonic() + 4  # longer than the worker's lease
    while time.monotonic() < outage_ends:
        started = time.monotonic()
        status, _, answer = _call(conn, "GET", urlsplit(before["status_url"]).path, headers)
        slowest = max(slowest, time.monotonic() - started)
        assert status == 503, answer
        time.sleep(0.25)
    print(f"status polls during the outage: 503, the slowest in {slowest * 1000:.0f} ms")
    assert slowest < 5
    started = time.monotonic()
    status, _, answer = _call(conn, "GET", "/readyz", {})
    print(f"/readyz answered {status} in {(time.monotonic() - started) * 1000:.0f} ms: {answer}")
    assert status == 503 and "database" in answer["error"], answer
    assert _call(conn, "GET", "/healthz", {})[:1] == (200,)  # alive, just not ready
    assert conn.sock is sock, "an error answer closed the connection"

    pg_cluster.start()
    _wait_for(lambda: api.get("/readyz").status_code == 200, 30, "/readyz to turn green")
    assert _call(conn, "GET", "/readyz", {})[0] == 200
    assert conn.sock is sock
    after = api.post(f"/v2/{T2V}", json={"prompt": "after the outage"})
    assert after.status_code == 200, after.text
    for job in (before, after.json()):
        final = _wait_for(lambda job=job: _final(api, job["status_url"]), 90,
                          f"job {job['request_id']} to finish")  # fmt: skip
        assert final["status"] == "COMPLETED", (final, server.log()[-3000:])
        print(f"job {final['request_id']} COMPLETED on attempt {final['attempt']}")
    assert server.process is not None and server.process.poll() is None  # never restarted
    conn.close()
    api.close()


def test_a_frozen_database_is_a_503_at_once_and_the_server_recovers(
    pg_cluster: Cluster, server: ServerProcess
) -> None:
    """Issue 21: a PostgreSQL server stopped with SIGSTOP keeps its connections open and
    answers nothing, and requests waited on it. The API's probe finds it silent within
    its 2 s timeout, and new requests answer 503 at once from then on."""
    api = httpx.Client(base_url=server.base_url, headers=server.headers(), timeout=30)
    job = api.post(f"/v2/{T2V}", json={"prompt": "before the freeze"}).json()
    status_path = urlsplit(job["status_url"]).path
    assert api.get(status_path).status_code == 200
    pg_cluster.freeze()
    try:

        def answered_503_at_once() -> httpx.Response | None:
            try:
                answer = httpx.get(server.base_url + status_path, headers=server.headers(),
                                   timeout=1.0)  # fmt: skip
            except httpx.TimeoutException:  # still waiting on the frozen server
                return None
            return answer if answer.status_code == 503 else None

        frozen_at = time.monotonic()
        refused = _wait_for(answered_503_at_once, 15, "a 503 while the database is frozen")
        print(f"503 at once {time.monotonic() - frozen_at:.1f} s after the freeze")
        assert "database" in refused.json()["error"] and "retry-after" in refused.headers
        submit = httpx.post(server.base_url + f"/v2/{T2V}", json={"prompt": "x"},
                            headers=server.headers(), timeout=2.0)  # fmt: skip
        assert submit.status_code == 503, submit.text
        started = time.monotonic()
        ready = httpx.get(server.base_url + "/readyz", timeout=5.0)
        assert ready.status_code == 503 and time.monotonic() - started < 3
        assert httpx.get(server.base_url + "/healthz", timeout=2.0).status_code == 200
    finally:
        pg_cluster.thaw()
    _wait_for(lambda: api.get("/readyz").status_code == 200, 30, "/readyz to turn green")
    _wait_for(lambda: api.get(status_path).status_code == 200, 30, "status to answer again")
    final = _wait_for(lambda: _final(api, job["status_url"]), 90, "the job to finish")
    assert final["status"] == "COMPLETED", (final, server.log()[-3000:])
    api.close()


def test_a_stream_outlives_a_database_outage(pg_cluster: Cluster, server: ServerProcess) -> None:
    """A watcher connected before the outage keeps its connection (keep-alives go on, the
    last state stands) and, once the database is back, sees the job to its end."""
    api = httpx.Client(base_url=server.base_url, headers=server.headers(), timeout=30)
    job = api.post(f"/v2/{T2V}", json={"prompt": "watched through the outage"}).json()
    seen: list[Any] = []
    pings = 0
    running = threading.Event()
    errors: list[BaseException] = []

    def watch() -> None:
        nonlocal pings
        url = f"/v2/requests/{job['request_id']}/stream"
        try:
            with api.stream("GET", url, timeout=60) as response:
                for line in response.iter_lines():  # counts the comments, then the events
                    pings += line.startswith(":")
                    if line.startswith("data:") and '"PROCESSING"' in line:
                        running.set()
                    if line.startswith("event:"):
                        seen.append(line.split(":", 1)[1].strip())
        except BaseException as exc:  # the assertion below says what went wrong
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert running.wait(30), "the job never started"
    pg_cluster.stop()
    pings_before = pings
    time.sleep(3)
    pings_during = pings - pings_before
    pg_cluster.start()
    watcher.join(90)
    assert not watcher.is_alive(), "the stream never ended"
    assert not errors, errors
    assert pings_during >= 2, "no keep-alive while the database was down"
    assert seen[-1] == "completed", (seen, server.log()[-3000:])
    api.close()


def _final(api: httpx.Client, status_url: str) -> dict[str, Any] | None:
    answer = api.get(status_url).json()
    return answer if answer["status"] in ("COMPLETED", "FAILED") else None


def test_readyz_is_green_when_the_database_answers(server: ServerProcess) -> None:
    answer = httpx.get(f"{server.base_url}/readyz")
    assert answer.status_code == 200 and answer.json() == {"status": "ready"}


@pytest.fixture
def crashing_server(tmp_path: Path) -> Iterator[str]:
    """The real app in an in-process uvicorn, plus one route with a bug in it."""
    app = create_app(Settings(data_dir=tmp_path, admin_key="k"))

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a bug in a route")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_for(lambda: server.started, 30, "uvicorn to start")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_unexpected_error_is_500_and_keeps_the_connection(
    crashing_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = crashing_server.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.connect()
    sock = conn.sock
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            status, answer_headers, answer = _call(conn, "GET", "/bug", {})
            assert (status, answer) == (500, {"error": "internal server error"})
            assert answer_headers.get("connection") != "close"
            assert conn.sock is sock, "the 500 closed the connection"
        assert _call(conn, "GET", "/healthz", {})[0] == 200
    assert conn.sock is sock, "the 500 closed the connection"
    logged = [r for r in caplog.records if r.exc_info and "a bug in a route" in str(r.exc_info[1])]
    assert len(logged) == 2, [r.getMessage() for r in logged]  # one traceback per request
    conn.close()


def test_readiness_gives_up_on_a_database_that_hangs(tmp_path: Path) -> None:
    """A database that does not answer at all (a blackholed host) is a 503 within the
    probe's timeout, not after the driver's own (psycopg's connect waits 130 s)."""
    db = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'slow.db'}")
    sqlalchemy.event.listen(db, "connect", lambda *_: time.sleep(5))
    started = time.monotonic()
    problem = anyio.run(capacity.database_problem, db, 0.5)
    assert problem == "the database is unreachable: no answer within 0.5 s"
    assert time.monotonic() - started < 1.5
    db.dispose()


class _DriverError(Exception):
    def __init__(self, sqlstate: str | None = None, sqlite_errorcode: int | None = None):
        super().__init__("driver says no")
        if sqlstate is not None:
            self.sqlstate = sqlstate
        if sqlite_errorcode is not None:
            self.sqlite_errorcode = sqlite_errorcode


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (OperationalError("q", {}, _DriverError()), 503, "unreachable"),  # no server at all
        (InternalError("q", {}, _DriverError("25P03")), 503, "unreachable"),  # session cut
        (OperationalError("q", {}, _DriverError("57P01")), 503, "unreachable"),  # shut down
        (OperationalError("q", {}, _DriverError("40P01")), 503, "busy"),  # deadlock
        (OperationalError("q", {}, _DriverError(sqlite_errorcode=5)), 503, "busy"),
        (OperationalError("q", {}, _DriverError(sqlite_errorcode=13)), 507, "storage is full"),
        (OperationalError("q", {}, _DriverError("53100")), 507, "storage is full"),
        (OSError(errno.ENOSPC, "No space left on device"), 507, "storage is full"),
        (OperationalError("q", {}, _DriverError(sqlite_errorcode=1)), None, ""),  # a bug
        (ProgrammingError("q", {}, _DriverError("42P01")), None, ""),
        (RuntimeError("a bug"), None, ""),
    ],
)
def test_which_errors_are_outages(error: Exception, status: int | None, words: str) -> None:
    outage = capacity.service_error(error)
    assert (outage and outage.status) == status
    if outage is not None:
        assert words in outage.message
        assert ("Retry-After" in outage.headers) == (status == 503)
