"""Replays: POST /v2/requests/{id}/replay and `reelforge replay ID` run a COMPLETED request
again with its manifest's seed and say whether the new mp4 matches byte for byte."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
from sqlalchemy import update

from reelforge.jobs.schema import jobs
from tests.support.server import REPO

V6 = "pixverse-v6"
ADMIN = "test-admin-key"
SMALL = {
    "prompt": "a lighthouse at night",
    "duration": 1,
    "quality": "360p",
    "aspect_ratio": "1:1",
    "generate_audio_switch": False,
    "thinking_type": "disabled",
    "seed": 11,
}


def _wait(base_url: str, key: str, request_id: str, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{base_url}/v2/requests/{request_id}", headers={"x-api-key": key})
        body = answer.json()
        if body.get("status") in ("COMPLETED", "FAILED"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def test_a_replay_on_the_tiny_checkpoint_matches_byte_for_byte(ltx2_server) -> None:
    base, headers = ltx2_server.base_url, ltx2_server.headers()
    submitted = httpx.post(f"{base}/v2/{V6}", json=SMALL, headers=headers, timeout=30)
    assert submitted.status_code == 200, submitted.text
    original = _wait(base, ltx2_server.key, submitted.json()["request_id"])
    assert original["status"] == "COMPLETED", original
    # the API: a new request, expected to match, and its result says it did
    answer = httpx.post(
        f"{base}/v2/requests/{original['request_id']}/replay", headers=headers, timeout=30
    )
    assert answer.status_code == 200, answer.text
    replay = answer.json()
    assert replay["replay_of"] == original["request_id"]
    assert replay["request_id"] != original["request_id"]
    assert (replay["comparable"], replay["differences"]) == (True, [])
    result = _wait(base, ltx2_server.key, replay["request_id"])
    assert result["status"] == "COMPLETED"
    assert result["manifest"] == original["manifest"]
    check = result["replay"]
    assert check["of"] == original["request_id"]
    assert check["comparable"] is True and check["matched"] is True
    assert check["sha256"] == check["original_sha256"]
    a = httpx.get(original["output"], timeout=60).content
    b = httpx.get(result["output"], timeout=60).content
    assert a == b and len(a) > 0  # what `matched` says, checked on the bytes themselves
    # the command: it waits, and says so in its exit status
    command = subprocess.run(
        [sys.executable, "-m", "reelforge", "replay", original["request_id"],
         "--url", base, "--key", ltx2_server.key],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert command.returncode == 0, command.stderr
    assert command.stdout.startswith("matched: ")


def _completed(app, key: str, body: dict) -> str:
    request_id = app.submit(key, V6, body)
    assert app.wait(key, request_id).json()["status"] == "COMPLETED"
    return request_id


BODY = {"prompt": "waves", "duration": 1, "quality": "360p", "seed": 5}


def test_a_replay_of_another_account_s_request_is_unknown(app_with_worker) -> None:
    app = app_with_worker()
    mine = _completed(app, ADMIN, BODY)
    other = app.issue_key(credits=100)
    answer = app.client.post(f"/v2/requests/{mine}/replay", headers=app.headers(other))
    assert answer.status_code == 404
    assert answer.json() == {"error": f"Request {mine} not found"}
    missing = app.client.post("/v2/requests/no-such-id/replay", headers=app.headers(other))
    assert missing.status_code == 404
    assert app.client.post(f"/v2/requests/{mine}/replay").status_code == 401


def test_only_a_completed_request_is_replayed(app_with_worker) -> None:
    app = app_with_worker(engine=None)  # no worker: it stays QUEUED
    queued = app.submit(ADMIN, V6, BODY)
    answer = app.client.post(f"/v2/requests/{queued}/replay", headers=app.headers())
    assert answer.status_code == 409
    assert "only a COMPLETED request can be replayed" in answer.json()["error"]


def test_a_replay_on_other_weights_is_not_comparable(app_with_worker) -> None:
    app = app_with_worker()
    original = _completed(app, ADMIN, BODY)
    # as if the original had been made by other weights than this server's
    other = {"sha256": "sha256:" + "0" * 64, "source": "/models/older"}
    with app.client.app.state.services.db.begin() as conn:
        row = conn.execute(jobs.select().where(jobs.c.id == original)).one()
        manifest = {**row.manifest, "checkpoint": other}
        conn.execute(update(jobs).where(jobs.c.id == original).values(manifest=manifest))
    answer = app.client.post(f"/v2/requests/{original}/replay", headers=app.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json()["comparable"] is False
    assert answer.json()["differences"][0].startswith("checkpoint sha256:fff")
    replay = answer.json()["request_id"]
    app.wait(ADMIN, replay)
    check = app.result(ADMIN, replay).json()["replay"]
    assert (check["comparable"], check["matched"]) == (False, None)
    assert check["differences"] == [f"checkpoint sha256:{'f' * 64} instead of {other['sha256']}"]


def test_a_replay_is_billed_like_the_request_it_repeats(app_with_worker) -> None:
    app = app_with_worker()
    key = app.issue_key(credits=10)
    original = _completed(app, key, BODY)
    assert app.credits(key)["credits"] == 9  # 1 s at one credit per second
    answer = app.client.post(f"/v2/requests/{original}/replay", headers=app.headers(key))
    assert answer.status_code == 200, answer.text
    replay = answer.json()["request_id"]
    assert app.wait(key, replay).json()["status"] == "COMPLETED"
    result = app.result(key, replay).json()
    assert result["replay"]["matched"] is True
    assert result["metrics"]["cost"] == 1
    assert app.credits(key)["credits"] == 8
