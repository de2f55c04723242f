"""Idempotency-Key on POST /v2/{slug} and /v1/{slug}: one job and one charge per key and
body, across parallel submits and a server restart; another body is a 409."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from reelforge.jobs.schema import credit_ledger, jobs
from tests.accounts.conftest import V6, account_of, issue_key, small_job

PARALLEL = 20


def _submit(server, key: str, body: dict, idem: str, version: str = "v2") -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/{version}/{V6}",
        json=body,
        headers={"x-api-key": key, "Idempotency-Key": idem},
        timeout=60,
    )


def _jobs_and_charges(backend, owner: str) -> tuple[int, int]:
    db = backend.db()
    try:
        with db.begin() as conn:
            count = conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.owner == owner)
            ).scalar_one()
            charged = conn.execute(
                select(func.count())
                .select_from(credit_ledger)
                .where(credit_ledger.c.account_id == owner, credit_ledger.c.kind == "charge")
            ).scalar_one()
    finally:
        db.dispose()
    return count, charged


def test_parallel_submits_with_one_key_make_one_job_and_one_charge(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=10)
    body = small_job()
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda _: _submit(server, key, body, "order-1"), range(PARALLEL)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1  # the very same answer
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == PARALLEL - 1
    rid = answers[0].json()["request_id"]
    result = httpx.get(
        f"{server.base_url}/v2/requests/{rid}", headers={"x-api-key": key}, timeout=30
    )
    assert result.status_code == 200
    account = account_of(server, key)
    assert account["balance"] - account["held"] == account["available"] == 9  # one price held
    # the v1 sync call with the same key and body waits on that same job
    sync = _submit(server, key, body, "order-1", version="v1")
    assert sync.status_code == 200 and sync.headers["x-request-id"] == rid
    assert _jobs_and_charges(backend, account["account"]) == (1, 1)
    assert account_of(server, key)["available"] == 9


def test_same_key_other_body_is_409_and_keys_are_per_api_key(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=10)
    other_key = issue_key(server, credits=10)
    first = _submit(server, key, small_job(1), "k")
    conflict = _submit(server, key, small_job(2), "k")
    assert conflict.status_code == 409
    assert "Idempotency-Key" in conflict.json()["error"]
    assert "different request" in conflict.json()["error"]
    elsewhere = _submit(server, other_key, small_job(2), "k")  # another API key's "k"
    assert elsewhere.status_code == 200
    assert elsewhere.json()["request_id"] != first.json()["request_id"]
    bad = _submit(server, key, small_job(1), "x" * 300)
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["error"]


def test_replay_survives_a_restart(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=10)
    first = _submit(server, key, small_job(), "restart-me")
    server.stop()
    again = start_server()  # same data directory (SQLite) or same PostgreSQL schema
    replay = _submit(again, key, small_job(), "restart-me")
    assert replay.status_code == 200
    assert replay.json()["request_id"] == first.json()["request_id"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert account_of(again, key)["available"] == 9


def test_refused_submit_leaves_no_record(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=0.5)
    assert _submit(server, key, small_job(), "poor").status_code == 406
    httpx.post(
        f"{server.base_url}/v1/admin/accounts/{account_of(server, key)['account']}/credits",
        json={"credits": 1},
        headers=server.headers(),
    )
    retry = _submit(server, key, small_job(), "poor")  # the same key now makes the job
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
