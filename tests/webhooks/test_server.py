"""Webhooks from a real `reelforge serve` (API and worker in separate processes) to a
receiver on loopback, each request verified with `standardwebhooks`: every event of a
job, a cancelled job, a receiver that fails twice, and a server SIGKILLed between two
attempts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import FAKE_ENGINE, ServerProcess
from tests.webhooks.receiver import Received, Receiver, completed, iter_payloads

TEXT = {"prompt": "a fox in the snow", "duration": 5, "quality": "540p"}
ENV = {
    "REELFORGE_ENGINE": FAKE_ENGINE,
    "REELFORGE_FAKE_STEP_SECONDS": "0.05",  # ten steps: several progress events
    "REELFORGE_WEBHOOK_RETRY_SECONDS": "0.3",
}


@pytest.fixture(scope="module")
def server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(tmp_path_factory.mktemp("webhooks"), **ENV)
    try:
        yield process.start()
    finally:
        process.stop()


def _secret(server: ServerProcess) -> str:
    answer = httpx.get(f"{server.base_url}/v1/webhooks/secret", headers=server.headers())
    assert answer.status_code == 200, answer.text
    return str(answer.json()["secret"])


def _submit(server: ServerProcess, url: str, events: list[str] | None = None) -> str:
    body: dict[str, Any] = {**TEXT, "webhook": url}
    if events is not None:
        body["webhook_events"] = events
    answer = httpx.post(
        f"{server.base_url}/v2/pixverse-text2video", json=body, headers=server.headers()
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["request_id"])


def _listing(server: ServerProcess, request_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.base_url}/v2/requests/{request_id}/webhooks", headers=server.headers()
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _wait_listing(
    server: ServerProcess,
    request_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """The deliveries listed, once `done(deliveries)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = _listing(server, request_id)["deliveries"]
        if done(deliveries):
            return deliveries
        assert time.monotonic() < deadline, f"listing not done after {timeout} s: {deliveries}"
        time.sleep(0.05)


def test_start_progress_and_completed_arrive_signed(server: ServerProcess):
    with Receiver(_secret(server)) as receiver:
        request_id = _submit(server, f"{receiver.url}/all", ["start", "progress", "completed"])
        requests = receiver.wait_for(completed)
    payloads = list(iter_payloads(requests))  # each one verified
    events = [p["event"] for p in payloads]
    assert events[0] == "start" and events[-1] == "completed"
    assert set(events[1:-1]) == {"progress"} and len(events) >= 5
    assert all(p["request_id"] == request_id for p in payloads)
    progress = [p["progress"] for p in payloads[1:-1]]
    assert progress == sorted(progress) and progress[-1] > progress[0]
    assert any(p.get("step") and p.get("steps") == 10 for p in payloads[1:-1])
    done = payloads[-1]
    assert done["status"] == "COMPLETED" and done["output"].startswith(server.base_url)
    assert {"inference_time", "queue_time", "total_time", "cost"} <= done["metrics"].keys()
    assert httpx.get(done["output"]).status_code == 200  # the signed output URL works


def test_a_cancelled_job_gets_completed_with_its_error(server: ServerProcess):
    # jobs ahead of it keep the one worker busy for seconds: it is surely still QUEUED
    # when the cancel comes (a job of 0.5 s alone could finish first on a loaded machine)
    for _ in range(4):
        ahead = httpx.post(
            f"{server.base_url}/v2/pixverse-text2video", json=TEXT, headers=server.headers()
        )
        assert ahead.status_code == 200, ahead.text
    with Receiver(_secret(server)) as receiver:
        request_id = _submit(server, f"{receiver.url}/cancel")
        cancel = httpx.post(
            f"{server.base_url}/v2/requests/{request_id}/cancel", headers=server.headers()
        )
        assert cancel.status_code == 422, cancel.text  # a QUEUED job ends FAILED at once
        assert cancel.json()["error"] == "cancelled by request"
        [request] = receiver.wait_for(completed)
    assert request.error is None
    assert request.payload["status"] == "FAILED"
    assert request.payload["error"] == "cancelled by request"


def test_a_receiver_failing_twice_gets_it_on_the_third_try(server: ServerProcess):
    with Receiver(_secret(server)) as receiver:
        receiver.answers = [500, 500]
        request_id = _submit(server, f"{receiver.url}/flaky")
        requests = receiver.wait_for(lambda seen: len(seen) >= 3)
        [delivery] = _wait_listing(server, request_id, lambda ds: ds[0]["status"] == "delivered")
    assert [r.error for r in requests] == [None, None, None]
    assert len({r.body for r in requests}) == 1  # every try sends the same bytes
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert [a["attempt"] for a in delivery["attempt_log"]] == [1, 2, 3]
    assert delivery["attempt_log"][0]["error"] == "HTTP 500"


def test_a_server_killed_between_attempts_still_delivers(serve, tmp_path: Path):
    # a longer first wait, so the kill surely falls between the two attempts
    server = serve(tmp_path / "data", **{**ENV, "REELFORGE_WEBHOOK_RETRY_SECONDS": "2"})
    try:
        server.start()
        with Receiver(_secret(server)) as receiver:
            receiver.answers = [500]
            request_id = _submit(server, f"{receiver.url}/durable")
            _wait_listing(server, request_id, lambda ds: bool(ds) and ds[0]["attempts"] == 1)
            server.kill()
            assert len(receiver.received) == 1
            server.start()  # the same data directory, database and secret
            requests: list[Received] = receiver.wait_for(lambda seen: len(seen) >= 2)
            [delivery] = _wait_listing(
                server, request_id, lambda ds: ds[0]["status"] == "delivered"
            )
    finally:
        server.stop()
    first, second = requests
    assert second.error is None and second.event == "completed"
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery["id"]
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 200]
