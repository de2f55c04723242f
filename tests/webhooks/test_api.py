"""The webhook routes and submit fields through the HTTP API (in this process, no worker):
account secrets, the address rules at submit, and the owner-scoped delivery listing."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from tests.support.inprocess import AppWithWorker

TEXT = {"prompt": "a fox in the snow", "duration": 5, "quality": "540p"}


def _secret(app: AppWithWorker, method: str, key: str) -> str:
    answer = app.client.request(method, "/v1/webhooks/secret", headers=app.headers(key))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["secret"])


def test_a_secret_is_made_once_rotated_on_post_and_per_account(
    app_with_worker: Callable[..., AppWithWorker],
):
    app = app_with_worker(engine=None)
    first = _secret(app, "GET", "test-admin-key")
    assert first.startswith("whsec_") and len(base64.b64decode(first[6:])) == 32
    assert _secret(app, "GET", "test-admin-key") == first
    rotated = _secret(app, "POST", "test-admin-key")
    assert rotated != first and _secret(app, "GET", "test-admin-key") == rotated
    other = app.issue_key(credits=5)
    theirs = _secret(app, "GET", other)
    assert theirs not in (first, rotated) and _secret(app, "GET", other) == theirs
    assert _secret(app, "GET", "test-admin-key") == rotated  # untouched by theirs
    assert app.client.get("/v1/webhooks/secret").status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest",
        "http://hooks.example.com/hook",  # plain http, with private URLs off
        "ftp://hooks.example.com/hook",
    ],
)
def test_a_webhook_to_a_private_address_or_over_http_is_a_400_at_submit(
    app_with_worker: Callable[..., AppWithWorker], url: str
):
    app = app_with_worker(engine=None, allow_private_urls=False)
    answer = app.client.post(
        "/v2/pixverse-text2video", json={**TEXT, "webhook": url}, headers=app.headers()
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("webhook:")


def test_the_listing_is_the_owners_alone(app_with_worker: Callable[..., AppWithWorker]):
    app = app_with_worker(engine=None)
    mine = app.issue_key(credits=50)
    body = {**TEXT, "webhook": "https://hooks.example.com/h", "webhook_events": ["completed"]}
    request_id = app.submit(mine, "pixverse-text2video", body)
    assert app.client.post(
        f"/v2/requests/{request_id}/cancel", headers=app.headers(mine)
    ).status_code in (200, 422)
    listed = app.client.get(f"/v2/requests/{request_id}/webhooks", headers=app.headers(mine))
    assert listed.status_code == 200, listed.text
    [delivery] = listed.json()["deliveries"]
    assert listed.json()["request_id"] == request_id
    assert delivery["event"] == "completed" and delivery["url"] == body["webhook"]
    assert (delivery["status"], delivery["attempts"], delivery["attempt_log"]) == ("pending", 0, [])
    assert delivery["id"].startswith("msg_") and delivery["finished_at"] is None
    # another account's key: exactly the answer for an id that never existed
    theirs = app.issue_key(credits=5)
    foreign = app.client.get(f"/v2/requests/{request_id}/webhooks", headers=app.headers(theirs))
    unknown_id = "00000000-0000-4000-8000-000000000000"
    unknown = app.client.get(f"/v2/requests/{unknown_id}/webhooks", headers=app.headers(theirs))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"] == unknown.json()["error"].replace(unknown_id, request_id)
