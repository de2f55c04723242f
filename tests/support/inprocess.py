"""The API and a worker in this process: `create_app(settings)` behind Starlette's
TestClient, and a `Worker(settings, engine)` loop in a thread on the same SQLite database.

For tests of what a user sees through the HTTP API that need no separate process: they
start in a fraction of a second, and a test hands the worker any engine it likes (the
behaviour doubles in tests/support/engines/). Use it through the `app_with_worker`
fixture (tests/conftest.py), which stops everything at the end of the test.

One worker thread per test: a worker counts the others of its own process as dead when
it starts (reelforge.worker.cleanup goes by process id) and tidies their working
directories away. More workers are real `reelforge worker` processes: `worker_env()`
is their environment (tests/support/worker_process.py starts them).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.engines import Engine
from reelforge.settings import Settings
from reelforge.worker import Worker
from tests.support.fake_engine import FakeEngine
from tests.support.server import REPO

ADMIN_KEY = "test-admin-key"
ONE_PER_SECOND = '{"*": {"*": 1}}'  # every model, every size: 1 credit per second
TERMINAL = ("COMPLETED", "FAILED")

# what a test gets unless it says otherwise: fast polling and heartbeats, a 1 s job
# costs exactly 1 credit, input URLs on loopback (the media_server fixture) allowed
DEFAULTS: dict[str, Any] = {
    "admin_key": ADMIN_KEY,
    "allow_private_urls": True,
    "poll_seconds": 0.05,
    "heartbeat_seconds": 0.2,
    "lease_seconds": 30.0,  # PostgreSQL cuts a transaction idle for a third of the lease
    "prices": ONE_PER_SECOND,
    # every submit runs: tests of other behaviour repeat bodies and count runs and charges;
    # tests/reproducibility turns the cache on
    "result_cache": False,
}

EngineFactory = Callable[[Settings], Engine]  # an engine class, e.g. FakeEngine


class WorkerThread:
    """One `Worker` serving jobs in a daemon thread until `stop()`."""

    def __init__(self, settings: Settings, engine: EngineFactory, name: str):
        self.name = name
        self.engine = engine(settings)
        self.worker = Worker(settings, self.engine)
        self.id = self.worker.id  # as /v1/admin/status lists it
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> WorkerThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.worker.run(self._stop)
        except BaseException as exc:  # re-raised in the test's thread by stop()
            self._error = exc

    def stop(self, timeout: float = 60.0) -> None:
        """Set the stop flag (seen between jobs) and wait for the loop to end; fails if it
        does not, or if it ended by raising."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"worker {self.name} did not stop within {timeout} s")
        self.worker.db.dispose()
        if self._error is not None:
            raise AssertionError(f"worker {self.name}'s loop raised") from self._error


class AppWithWorker:
    """The API on `root`'s SQLite database, and `engine`'s worker thread on it (none when
    `engine` is None). A context manager: leaving it stops the workers, then the API."""

    def __init__(self, root: Path, *, engine: EngineFactory | None = FakeEngine, **settings: Any):
        self.given: dict[str, Any] = {**DEFAULTS, "data_dir": root, **settings}
        self.settings = Settings(**self.given)
        self.root = root
        self.worker: WorkerThread | None = None  # None: the API alone
        self._engine = engine
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> AppWithWorker:
        self.root.mkdir(parents=True, exist_ok=True)  # as `reelforge serve` does
        try:
            app = create_app(self.settings)
            self._stack.callback(app.state.services.db.dispose)
            # entering the client runs the app's lifespan (the expiry reaper), as uvicorn does
            self.client = self._stack.enter_context(TestClient(app))
            if self._engine is not None:
                self.worker = WorkerThread(self.settings, self._engine, "worker").start()
                self._stack.callback(self.worker.stop)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()  # last in, first out: the worker, the client, the database

    def worker_env(self, **settings: Any) -> dict[str, str]:
        """The environment of a `reelforge worker` child process on this app's database
        and storage, with the app's settings changed by `settings`."""
        values = {
            **self.given,
            "database_url": self.settings.resolved_database_url,
            "storage_dir": self.settings.resolved_storage_dir,
            **settings,
        }
        env = {
            f"REELFORGE_{name.upper()}": str(value)
            for name, value in values.items()
            if value is not None
        }
        return {**os.environ, "PYTHONPATH": str(REPO), **env}

    # --- the HTTP API, as a user calls it ---------------------------------------------

    @staticmethod
    def headers(key: str = ADMIN_KEY) -> dict[str, str]:
        return {"x-api-key": key}

    def issue_key(self, credits: float) -> str:
        """A new key on a new account holding `credits`, issued through the admin API."""
        body = {"name": f"team-{uuid.uuid4().hex[:6]}", "credits": credits}
        response = self.client.post("/v1/admin/keys", json=body, headers=self.headers())
        assert response.status_code == 200, response.text
        return str(response.json()["key"])

    def submit(self, key: str, slug: str, body: dict[str, Any]) -> str:
        """POST /v2/{slug}; the request id."""
        response = self.client.post(f"/v2/{slug}", json=body, headers=self.headers(key))
        assert response.status_code == 200, response.text
        return str(response.json()["request_id"])

    def status(self, key: str, request_id: str) -> httpx.Response:
        return self.client.get(f"/v2/requests/{request_id}/status", headers=self.headers(key))

    def result(self, key: str, request_id: str) -> httpx.Response:
        return self.client.get(f"/v2/requests/{request_id}", headers=self.headers(key))

    def wait(
        self,
        key: str,
        request_id: str,
        statuses: Iterable[str] = TERMINAL,
        timeout: float = 30.0,
    ) -> httpx.Response:
        """Poll /v2/requests/{id}/status until its status is one of `statuses`; returns
        that answer (fails naming the last status after `timeout` seconds)."""
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            answer = self.status(key, request_id)
            if answer.json().get("status") in wanted:
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{request_id} not {'/'.join(sorted(wanted))} after {timeout} s: "
                    f"{answer.status_code} {answer.text}"
                )
            time.sleep(0.05)

    def credits(self, key: str) -> dict[str, Any]:
        """GET /v1/get-user-credits, as the key's owner sees it."""
        response = self.client.get("/v1/get-user-credits", headers=self.headers(key))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def account(self, key: str) -> dict[str, Any]:
        """The key's account as the admin API lists it (balance, held, available)."""
        prefix = "_".join(key.split("_")[:2])
        listed = self.client.get("/v1/admin/keys", headers=self.headers()).json()["keys"]
        [info] = [item for item in listed if item["prefix"] == prefix]
        accounts = self.client.get("/v1/admin/accounts", headers=self.headers()).json()
        [found] = [item for item in accounts["accounts"] if item["account"] == info["account"]]
        return dict(found)

    def fleet(self) -> dict[str, dict[str, Any]]:
        """Live workers by id, as GET /v1/admin/status shows them (jobs_done, ...)."""
        response = self.client.get("/v1/admin/status", headers=self.headers())
        assert response.status_code == 200, response.text
        return {worker["id"]: worker for worker in response.json()["workers"]}
