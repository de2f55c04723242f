"""GET /v2/requests/{id}/stream on a real `reelforge serve` (the API and its worker are
separate processes; the database is their only link), read with a plain HTTP client:
the current state at once, each change, the terminal event, then the end; late and
reconnecting clients; tenancy; on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import FAKE_ENGINE, ServerProcess
from tests.support.sse import Event, events

V6 = "pixverse-v6"
SMALL = {"prompt": "a lighthouse at night", "duration": 1, "quality": "360p"}


def _serve(serve, root, **env: str) -> ServerProcess:
    defaults = {
        "REELFORGE_ENGINE": FAKE_ENGINE,
        "REELFORGE_FAKE_STEP_SECONDS": "0.25",  # ten steps: about 2.5 s of denoising
        "REELFORGE_STREAM_KEEPALIVE_SECONDS": "0.5",
    }
    return serve(root, **{**defaults, **env})


@pytest.fixture(params=["sqlite", "postgresql"])
def streaming_server(request, serve, tmp_path) -> Iterator[ServerProcess]:
    env = {}
    if request.param == "postgresql":
        env["REELFORGE_DATABASE_URL"] = request.getfixturevalue("pg_schema_url")
    process = _serve(serve, tmp_path / "server", **env)
    try:
        yield process.start()
    finally:
        process.stop()


def _submit(server: ServerProcess, body: dict | None = None) -> str:
    answer = httpx.post(f"{server.base_url}/v2/{V6}", json=body or SMALL, headers=server.headers())
    assert answer.status_code == 200, answer.text
    return answer.json()["request_id"]


def _watch(server: ServerProcess, job_id: str, *, last_event_id: str | None = None,
           stop_after: int | None = None) -> list[Event]:  # fmt: skip
    """Every event of one connection, until the server closes it (or `stop_after`)."""
    headers = dict(server.headers())
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    seen: list[Event] = []
    url = f"{server.base_url}/v2/requests/{job_id}/stream"
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in events(response):
            seen.append(event)
            if stop_after is not None and len(seen) >= stop_after:
                break
    return seen


def _check_run(seen: list[Event], job_id: str) -> None:
    """Status events with progress that never goes back, then one terminal event."""
    *running, last = seen
    assert running and all(event.event == "status" for event in running)
    bodies = [event.json for event in running]
    assert all(body["request_id"] == job_id for body in bodies)
    assert "output" not in bodies[-1]  # like /status: never the output before the end
    progress = [body["progress"] for body in bodies]
    assert progress == sorted(progress)
    assert len({event.id for event in seen}) == len(seen)  # each id names its own state
    assert last.event == "completed"
    done = last.json
    assert done["status"] == "COMPLETED" and done["output"].startswith("http")
    assert {"inference_time", "queue_time", "total_time", "cost"} <= done["metrics"].keys()
    assert done["progress"] == 1.0 and done["video"]["frame_count"] == 25


def test_a_watcher_sees_the_state_at_once_each_step_and_the_end(streaming_server):
    job_id = _submit(streaming_server)
    seen = _watch(streaming_server, job_id)  # returns once the server closed the stream
    _check_run(seen, job_id)
    first = seen[0].json
    assert first["status"] in ("QUEUED", "PROCESSING")
    denoising = [e.json for e in seen if e.json.get("stage") == "denoising"]
    steps = [body["step"] for body in denoising]
    assert len(set(steps)) >= 3 and steps == sorted(steps)  # several steps, in order
    assert all(body["steps"] == 10 for body in denoising)
    status = httpx.get(
        f"{streaming_server.base_url}/v2/requests/{job_id}/status",
        headers=streaming_server.headers(),
    ).json()
    assert status["status"] == "COMPLETED" and "output" not in status


def test_late_and_reconnecting_watchers_see_the_rest(streaming_server):
    job_id = _submit(streaming_server)
    early = _watch(streaming_server, job_id, stop_after=1)
    results: dict[str, list[Event]] = {}
    # a second client throughout, while others come and go
    whole = threading.Thread(target=lambda: results.update(whole=_watch(streaming_server, job_id)))
    whole.start()
    # mid-job: the first event is the current state, already under way
    late = _watch(streaming_server, job_id, stop_after=3)
    assert late[0].json["status"] in ("QUEUED", "PROCESSING")
    # a reconnect with the last id it saw: never that state again, and on to the end
    resumed = _watch(streaming_server, job_id, last_event_id=late[-1].id)
    assert resumed[0].id != late[-1].id
    assert resumed[0].json["progress"] >= late[-1].json["progress"]
    assert resumed[-1].event == "completed"
    whole.join(30)
    _check_run(results["whole"], job_id)
    assert early[0].id is not None


def test_a_finished_request_answers_its_end_at_once_and_204_once_seen(streaming_server):
    job_id = _submit(streaming_server)
    last = _watch(streaming_server, job_id)[-1]
    again = _watch(streaming_server, job_id)
    assert [event.event for event in again] == ["completed"]
    assert again[0].id == last.id and again[0].json["output"] == last.json["output"]
    # an EventSource reconnects after the server closes: 204 tells it to stop
    answer = httpx.get(
        f"{streaming_server.base_url}/v2/requests/{job_id}/stream",
        headers={**streaming_server.headers(), "Last-Event-ID": last.id},
    )
    assert answer.status_code == 204


@pytest.fixture(scope="module")
def quick_server(serve, tmp_path_factory) -> Iterator[ServerProcess]:
    process = _serve(serve, tmp_path_factory.mktemp("quick"), REELFORGE_FAKE_STEP_SECONDS="0.4")
    try:
        yield process.start()
    finally:
        process.stop()


def test_a_cancelled_request_ends_with_a_failed_event(quick_server):
    job_id = _submit(quick_server)
    seen: list[Event] = []
    url = f"{quick_server.base_url}/v2/requests/{job_id}/stream"
    with httpx.stream("GET", url, headers=quick_server.headers(), timeout=30) as response:
        for event in events(response):
            seen.append(event)
            if event.json.get("stage") == "denoising":
                cancel = f"{quick_server.base_url}/v2/requests/{job_id}/cancel"
                httpx.post(cancel, headers=quick_server.headers())
    assert seen[-1].event == "failed"
    assert seen[-1].json["status"] == "FAILED"
    assert seen[-1].json["error"] == "cancelled by request"


def test_keep_alive_comments_while_nothing_changes(quick_server):
    from tests.support.sse import comments

    blocker, waiting = _submit(quick_server), _submit(quick_server)
    url = f"{quick_server.base_url}/v2/requests/{waiting}/stream"
    with httpx.stream("GET", url, headers=quick_server.headers(), timeout=30) as response:
        pings = []
        for line in comments(response):
            pings.append(line)
            if len(pings) == 2:
                break
    assert all(line.startswith(":") for line in pings)
    for job_id in (blocker, waiting):
        httpx.post(f"{quick_server.base_url}/v2/requests/{job_id}/cancel",
                   headers=quick_server.headers())  # fmt: skip


def test_another_accounts_request_is_the_same_404_and_a_bad_key_401(quick_server):
    job_id = _submit(quick_server)
    issued = httpx.post(
        f"{quick_server.base_url}/v1/admin/keys",
        json={"name": "stream-other", "credits": 5},
        headers=quick_server.headers(),
    )
    other = {"x-api-key": issued.json()["key"]}
    theirs = httpx.get(f"{quick_server.base_url}/v2/requests/{job_id}/stream", headers=other)
    unknown = httpx.get(
        f"{quick_server.base_url}/v2/requests/00000000-0000-0000-0000-000000000000/stream",
        headers=quick_server.headers(),
    )
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == {"error": f"Request {job_id} not found"}
    bad = httpx.get(
        f"{quick_server.base_url}/v2/requests/{job_id}/stream", headers={"x-api-key": "nope"}
    )
    assert bad.status_code == 401 and "error" in bad.json()
