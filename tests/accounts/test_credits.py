"""Credits against a real server: parallel submits never overdraw, the books stay exact,
and callers see cost and remaining credits where the vendor shows them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from reelforge.jobs.schema import accounts, credit_ledger, jobs
from tests.accounts.conftest import V6, account_of, issue_key, small_job

PARALLEL = 20
AFFORDABLE = 7  # credits for this many 1-credit jobs


def _submit(server, key: str, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v2/{V6}",
        json=body,
        headers={"x-api-key": key, **(headers or {})},
        timeout=60,
    )


def _wait_done(server, key: str, ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for rid in ids:
        while True:
            status = httpx.get(
                f"{server.base_url}/v2/requests/{rid}/status", headers={"x-api-key": key}
            ).json()["status"]
            if status in ("COMPLETED", "FAILED"):
                break
            assert time.monotonic() < deadline, f"{rid} still {status}"
            time.sleep(0.1)


def test_parallel_submits_accept_exactly_what_the_credits_pay_for(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=AFFORDABLE)
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda i: _submit(server, key, small_job(i)), range(PARALLEL)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] * AFFORDABLE + [406] * (PARALLEL - AFFORDABLE)
    for refused in (a for a in answers if a.status_code == 406):
        assert set(refused.json()) == {"error"}
        assert "Insufficient credits" in refused.json()["error"]
    accepted = [a.json()["request_id"] for a in answers if a.status_code == 200]
    _wait_done(server, key, accepted)
    account = account_of(server, key)
    db = backend.db()
    try:
        with db.begin() as conn:
            owner = account["account"]
            job_count = conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.owner == owner)
            ).scalar_one()
            ledger = conn.execute(
                select(credit_ledger.c.kind, credit_ledger.c.units)
                .where(credit_ledger.c.account_id == owner)
                .order_by(credit_ledger.c.id)
            ).all()
            row = conn.execute(select(accounts).where(accounts.c.id == owner)).one()
    finally:
        db.dispose()
    assert job_count == AFFORDABLE  # a refused submit leaves no job behind
    assert ledger[0] == ("grant", AFFORDABLE * 10_000)
    assert sorted(ledger[1:]) == [("charge", -10_000)] * AFFORDABLE
    assert row.balance == sum(units for _, units in ledger) == 0
    assert row.held == 0
    assert account["available"] == 0
    again = _submit(server, key, small_job(99))
    assert again.status_code == 406


def test_result_metrics_headers_and_user_credits(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=5)
    headers = {"x-api-key": key}
    rid = _submit(server, key, small_job()).json()["request_id"]
    _wait_done(server, key, [rid])
    result = httpx.get(f"{server.base_url}/v2/requests/{rid}", headers=headers).json()
    assert result["metrics"]["cost"] == 1.0
    assert result["metrics"]["remaining_credits"] == 4.0
    sync = httpx.post(f"{server.base_url}/v1/{V6}", json=small_job(2), headers=headers, timeout=60)
    assert sync.status_code == 200, sync.text
    assert sync.headers["x-cost"] == "1" and sync.headers["x-remaining-credits"] == "3"
    credits = httpx.get(f"{server.base_url}/v1/get-user-credits", headers=headers).json()
    assert credits == {"credits": 3.0, "free-credits": 0.0}
    # the admin key is unlimited: null credits, "unlimited" in the header
    admin = httpx.get(f"{server.base_url}/v1/get-user-credits", headers=server.headers()).json()
    assert admin == {"credits": None, "free-credits": None}


def test_failed_and_cancelled_jobs_are_refunded(backend, start_server, media_server):
    server = start_server(REELFORGE_FAKE_STEP_SECONDS="0.3")
    key = issue_key(server, credits=7)
    headers = {"x-api-key": key}
    # FAILED in the worker (5 s: 5 credits): an image that does not exist
    broken = {
        "prompt": "x", "duration": 5, "quality": "360p",
        "image_url": media_server.url("nope.png"),
    }  # fmt: skip
    failed = httpx.post(f"{server.base_url}/v2/pixverse-5-video", json=broken, headers=headers)
    assert failed.status_code == 200, failed.text
    running = _submit(server, key, small_job(1)).json()["request_id"]
    queued = _submit(server, key, small_job(2)).json()["request_id"]
    # all three held (the broken one may already be FAILED and refunded)
    assert account_of(server, key)["available"] in (0.0, 5.0)
    for rid in (running, queued):  # one PROCESSING (flagged), one QUEUED (fails at once)
        httpx.post(f"{server.base_url}/v2/requests/{rid}/cancel", headers=headers)
    _wait_done(server, key, [failed.json()["request_id"], running, queued])
    states = {
        rid: httpx.get(f"{server.base_url}/v2/requests/{rid}/status", headers=headers).json()
        for rid in (failed.json()["request_id"], running, queued)
    }
    completed = [rid for rid, s in states.items() if s["status"] == "COMPLETED"]
    account = account_of(server, key)
    assert account["held"] == 0
    assert account["available"] == 7 - len(completed)  # only a job that finished is paid
    assert len(completed) <= 1  # the running one may have finished before its cancel


def test_key_limited_to_some_models_gets_403_elsewhere(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=2, slugs=[V6])
    response = httpx.post(
        f"{server.base_url}/v2/pixverse-text2video",
        json={"prompt": "x"},
        headers={"x-api-key": key},
    )
    assert response.status_code == 403
    assert "pixverse-text2video" in response.json()["error"]
    assert _submit(server, key, small_job()).status_code == 200


def test_revoked_key_is_401_and_grants_add_up(backend, start_server):
    server = start_server()
    key = issue_key(server, name="grant-me", credits=1)
    admin = server.headers()
    grant = httpx.post(
        f"{server.base_url}/v1/admin/accounts/grant-me/credits",
        json={"credits": 2.5},
        headers=admin,
    )
    assert grant.status_code == 200 and grant.json()["available"] == 3.5
    ask = httpx.get(f"{server.base_url}/v1/get-user-credits", headers={"x-api-key": key})
    assert ask.json()["credits"] == 3.5
    keys = httpx.get(f"{server.base_url}/v1/admin/keys", headers=admin).json()["keys"]
    [info] = [item for item in keys if item["name"] == "grant-me"]
    assert key not in str(keys) and "secret_hash" not in info
    revoked = httpx.delete(f"{server.base_url}/v1/admin/keys/{info['prefix']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = httpx.get(f"{server.base_url}/v1/get-user-credits", headers={"x-api-key": key})
    assert refused.status_code == 401
    # only the admin key may manage keys
    other = issue_key(server, credits=1)
    listing = httpx.get(f"{server.base_url}/v1/admin/keys", headers={"x-api-key": other})
    assert listing.status_code == 403
