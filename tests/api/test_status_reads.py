"""The status route's two paths (jobs/reads.py): the read on the event loop and the
thread pool's answer the same, a busy database falls back to the pool, and another
account's job is a 404 on either."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.support.fake_engine import FakeEngine

BODY = {"prompt": "a lighthouse", "duration": 1, "quality": "360p",
        "generate_audio_switch": False, "seed": 3}  # fmt: skip


def busy(*_args: Any) -> Any:
    raise sqlite3.OperationalError("database is locked")


@pytest.mark.parametrize("state", ["QUEUED", "COMPLETED"])
def test_a_busy_database_answers_the_same_through_the_pool(app_with_worker, monkeypatch, state):
    # no worker: the job stays QUEUED (a place in the queue, read in the pool anyway)
    app = app_with_worker(engine=None if state == "QUEUED" else FakeEngine)
    key = app.issue_key(10.0)
    request_id = app.submit(key, "pixverse-v6", BODY)
    if state == "COMPLETED":
        app.wait(key, request_id)
    services = app.client.app.state.services
    assert services.reads.inline  # embedded SQLite: the fast read
    inline = app.status(key, request_id)
    assert inline.status_code == 200 and inline.json()["status"] == state
    monkeypatch.setattr(services.reads, "job", busy)
    pooled = app.status(key, request_id)
    assert pooled.status_code == 200
    assert pooled.json() == inline.json()


def test_another_accounts_job_is_unknown_on_both_paths(app_with_worker, monkeypatch):
    app = app_with_worker()
    owner, other = app.issue_key(10.0), app.issue_key(10.0)
    request_id = app.submit(owner, "pixverse-v6", BODY)
    app.wait(owner, request_id)
    services = app.client.app.state.services
    for _path in ("inline", "pool"):
        answer = app.status(other, request_id)
        assert answer.status_code == 404, answer.text
        assert app.status(owner, "no-such-request").status_code == 404
        monkeypatch.setattr(services.reads, "job", busy)


def test_a_status_is_rendered_once_per_state_of_the_job(app_with_worker, monkeypatch):
    """The bytes of a status are kept until the job's next write (its version), except a
    back-off countdown, which changes by the second and is rendered every time."""
    from reelforge.api import status

    app = app_with_worker(engine=None)  # no worker: the job stays where we put it
    key = app.issue_key(10.0)
    request_id = app.submit(key, "pixverse-v6", BODY)
    rendered: list[str] = []
    real_body = status.body

    def body(facts: Any, base_url: str) -> dict[str, Any]:
        rendered.append(facts.job.status.value)
        return real_body(facts, base_url)

    monkeypatch.setattr(status, "body", body)
    first, second = app.status(key, request_id), app.status(key, request_id)
    assert first.content == second.content and first.json()["status"] == "QUEUED"
    assert rendered == ["QUEUED"]
    queue = app.client.app.state.services.queue
    claimed = queue.claim("test-worker")  # a write: rendered again, then kept again
    assert claimed is not None and claimed.id == request_id
    assert [app.status(key, request_id).json()["status"] for _ in range(2)] == ["PROCESSING"] * 2
    assert rendered == ["QUEUED", "PROCESSING"]
    assert queue.retry_later(claimed, "retrying after a storage error", 60)
    stages = [app.status(key, request_id).json()["stage"] for _ in range(2)]
    assert all(stage.startswith("retrying after a storage error in ") for stage in stages)
    assert rendered == ["QUEUED", "PROCESSING", "QUEUED", "QUEUED"]  # the countdown: each time
