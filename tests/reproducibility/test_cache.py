"""The result cache through the API: a submit with an explicit seed whose model,
parameters, seed and checkpoint match a COMPLETED request completes at once from its file."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from reelforge.api.app import reap_expired
from reelforge.jobs.schema import jobs
from tests.support.seeds import payloads
from tests.support.server import FAKE_ENGINE, ServerProcess

V6 = "pixverse-v6"
ADMIN = "test-admin-key"
BODY = {"prompt": "waves at dusk", "duration": 1, "quality": "360p", "seed": 77}


def _done(app, key: str, body: dict) -> dict:
    request_id = app.submit(key, V6, body)
    assert app.wait(key, request_id).json()["status"] == "COMPLETED"
    return app.result(key, request_id).json()


def _jobs_done(app) -> int:
    return sum(worker["jobs_done"] for worker in app.fleet().values())


def test_a_hit_costs_the_configured_price_and_takes_no_worker(app_with_worker) -> None:
    app = app_with_worker(result_cache=True, cache_hit_price=0.25)
    key = app.issue_key(credits=10)
    original = _done(app, key, BODY)
    assert original["metrics"]["cost"] == 1 and "cached" not in original["metrics"]
    assert _jobs_done(app) == 1
    answer = app.client.post(f"/v2/{V6}", json=BODY, headers=app.headers(key))
    assert answer.status_code == 200, answer.text
    # the vendor's answer (QUEUED), and the truth: it is COMPLETED already, by no worker
    assert (answer.json()["status"], answer.json()["cached"]) == ("QUEUED", True)
    hit_id = answer.json()["request_id"]
    status = app.status(key, hit_id).json()
    assert (status["status"], status["attempt"]) == ("COMPLETED", 0)
    hit = app.result(key, hit_id).json()
    assert hit["request_id"] != original["request_id"]
    assert hit["metrics"]["cached"] is True
    assert hit["metrics"]["original_request_id"] == original["request_id"]
    assert hit["metrics"]["cost"] == 0.25
    assert hit["manifest"] == original["manifest"] and hit["seed"] == 77
    assert app.credits(key)["credits"] == 8.75  # 1 for the run, 0.25 for the hit
    assert _jobs_done(app) == 1  # the worker did nothing more
    assert app.client.get(hit["output"]).content == app.client.get(original["output"]).content


def test_a_hit_is_free_by_default(app_with_worker) -> None:
    app = app_with_worker(result_cache=True)
    key = app.issue_key(credits=10)
    _done(app, key, BODY)
    hit = _done(app, key, BODY)
    assert hit["metrics"]["cached"] is True and hit["metrics"]["cost"] == 0
    assert app.credits(key)["credits"] == 9


def test_what_is_never_served_from_the_cache(app_with_worker) -> None:
    app = app_with_worker(result_cache=True)
    first = _done(app, ADMIN, BODY)
    # a random seed: nothing to match, ever
    unseeded = {k: v for k, v in BODY.items() if k != "seed"}
    assert "cached" not in _done(app, ADMIN, unseeded)["metrics"]
    assert "cached" not in _done(app, ADMIN, unseeded)["metrics"]
    # the off switches: the body field (on any model) and Cache-Control
    assert "cached" not in _done(app, ADMIN, {**BODY, "cache": False})["metrics"]
    answer = app.client.post(
        f"/v2/{V6}", json=BODY, headers={**app.headers(), "cache-control": "no-cache"}
    )
    assert "cached" not in answer.json()
    # other parameters: another request
    assert "cached" not in _done(app, ADMIN, {**BODY, "seed": 78})["metrics"]
    # and the switch on: a hit
    hit = _done(app, ADMIN, {**BODY, "cache": True})
    assert hit["metrics"]["original_request_id"] == first["request_id"]


@pytest.mark.parametrize("value", ["no", 0, 1, [], {}])
def test_a_bad_cache_field_is_a_400_naming_it(app_with_worker, value) -> None:
    app = app_with_worker(engine=None, result_cache=True)
    answer = app.client.post(f"/v2/{V6}", json={**BODY, "cache": value}, headers=app.headers())
    assert answer.status_code == 400
    assert answer.json() == {"error": "cache: must be true or false"}


def test_the_cache_field_is_accepted_on_every_model(app_with_worker, media_server) -> None:
    app = app_with_worker(engine=None, result_cache=True)
    for slug, payload in payloads(media_server.url).items():
        for value in (True, False, None):
            answer = app.client.post(
                f"/v2/{slug}", json={**payload, "cache": value}, headers=app.headers()
            )
            assert answer.status_code == 200, (slug, answer.text)
            estimate = app.client.post(
                f"/v2/{slug}/estimate", json={**payload, "cache": value}, headers=app.headers()
            )
            assert estimate.status_code == 200, (slug, estimate.text)


def test_an_uploaded_or_inline_input_is_cached(app_with_worker, media_dir: Path) -> None:
    app = app_with_worker(result_cache=True)
    with (media_dir / "input.png").open("rb") as image:
        files = {"file": ("input.png", image, "image/png")}
        uploaded = app.client.post("/v1/files", files=files, headers=app.headers())
    assert uploaded.status_code == 200, uploaded.text
    [url] = uploaded.json()["file_urls"]
    data = (
        "data:image/png;base64," + base64.b64encode((media_dir / "input.png").read_bytes()).decode()
    )
    for image_url in (url, data):
        body = {
            "prompt": "a cat",
            "duration": 1,
            "quality": "360p",
            "seed": 3,
            "image_url": image_url,
        }
        first = _done(app, ADMIN, body)
        assert "cached" not in first["metrics"]
        hit = _done(app, ADMIN, body)
        assert hit["metrics"]["original_request_id"] == first["request_id"]


def test_an_input_fetched_from_a_url_is_never_cached(app_with_worker, media_server) -> None:
    app = app_with_worker(result_cache=True)
    body = {"prompt": "a cat", "duration": 1, "quality": "360p", "seed": 3,
            "image_url": media_server.url("input.png")}  # fmt: skip
    request_id = app.submit(ADMIN, V6, body)
    assert app.wait(ADMIN, request_id).json()["status"] == "COMPLETED"
    again = app.submit(ADMIN, V6, body)  # the bytes behind the URL may have changed
    assert app.wait(ADMIN, again).json()["attempt"] == 1
    assert "cached" not in app.result(ADMIN, again).json()["metrics"]


def test_an_idempotent_submit_served_from_the_cache_says_so(app_with_worker) -> None:
    app = app_with_worker(result_cache=True)
    first = _done(app, ADMIN, BODY)
    headers = {**app.headers(), "idempotency-key": "k-1"}
    answer = app.client.post(f"/v2/{V6}", json=BODY, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["cached"] is True
    hit = app.result(ADMIN, answer.json()["request_id"]).json()
    assert hit["metrics"]["original_request_id"] == first["request_id"]
    again = app.client.post(f"/v2/{V6}", json=BODY, headers=headers)
    assert again.json()["request_id"] == answer.json()["request_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert app.status(ADMIN, again.json()["request_id"]).json()["status"] == "COMPLETED"


def test_across_accounts_only_when_the_operator_allows_it(app_with_worker) -> None:
    private = app_with_worker(result_cache=True)
    a, b = private.issue_key(credits=10), private.issue_key(credits=10)
    original = _done(private, a, BODY)
    other = _done(private, b, BODY)
    assert "cached" not in other["metrics"] and other["metrics"]["cost"] == 1
    shared = app_with_worker(result_cache=True, cache_across_accounts=True)
    a, b = shared.issue_key(credits=10), shared.issue_key(credits=10)
    original = _done(shared, a, BODY)
    hit = _done(shared, b, BODY)
    assert hit["metrics"]["cached"] is True
    assert hit["metrics"]["original_request_id"] is None  # another account's: never named
    assert shared.client.get(hit["output"]).content == shared.client.get(original["output"]).content
    # b still cannot see a's request
    assert shared.result(b, original["request_id"]).status_code == 404
    replay = shared.client.post(
        f"/v2/requests/{original['request_id']}/replay", headers=shared.headers(b)
    )
    assert replay.status_code == 404


def test_expiry_deletes_a_shared_file_after_its_last_request(app_with_worker) -> None:
    app = app_with_worker(result_cache=True)
    services = app.client.app.state.services
    original = _done(app, ADMIN, BODY)
    hit = _done(app, ADMIN, BODY)
    files = Path(services.settings.resolved_storage_dir)
    [mp4] = list(files.rglob("*.mp4"))

    def expire(request_id: str) -> None:
        with services.db.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == request_id).values(expires_at=0.0))
        assert reap_expired(services) == 1

    expire(original["request_id"])
    assert app.result(ADMIN, original["request_id"]).status_code == 404
    assert mp4.is_file()  # the hit still points at it
    assert app.client.get(hit["output"]).status_code == 200
    expire(hit["request_id"])
    assert not mp4.exists()  # its last request gone: the file goes too
    assert not list(files.rglob("*.mp4"))


def test_a_changed_checkpoint_misses_the_cache(serve, tmp_path: Path) -> None:
    """The same data directory served by weights with another identity (a restart on a
    changed checkpoint) runs the request again; back on the first weights, it hits."""
    data = tmp_path / "data"

    def start(**env: str) -> ServerProcess:
        return serve(
            data, REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_RESULT_CACHE="true", **env
        ).start()

    def run(server: ServerProcess) -> dict:
        submitted = httpx.post(f"{server.base_url}/v2/{V6}", json=BODY, headers=server.headers())
        assert submitted.status_code == 200, submitted.text
        url = submitted.json()["response_url"]
        for _ in range(600):
            body = httpx.get(url, headers=server.headers()).json()
            if body["status"] == "COMPLETED":
                return body
            assert body["status"] != "FAILED", body
            time.sleep(0.05)
        raise AssertionError(body)

    first = start()
    try:
        original = run(first)
    finally:
        first.stop()
    changed = start(REELFORGE_FAKE_CHECKPOINT="sha256:" + "1" * 64)
    try:
        other = run(changed)
    finally:
        changed.stop()
    assert other["manifest"]["checkpoint"]["sha256"] == "sha256:" + "1" * 64
    assert other["manifest"]["checkpoint"] != original["manifest"]["checkpoint"]
    assert "cached" not in other["metrics"]  # another identity: it ran
    back = start()
    try:
        again = run(back)
    finally:
        back.stop()
    assert again["metrics"]["cached"] is True
    assert again["metrics"]["original_request_id"] == original["request_id"]
