"""The sender against a real receiver, on SQLite and PostgreSQL: signed bodies, the retry
schedule (on a clock the test moves), leases, giving up, expired jobs, the address rules,
no redirects, purging, and a thread that outlives database faults."""

from __future__ import annotations

import json
from ipaddress import ip_address

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from reelforge.errors import BadRequest
from reelforge.jobs.schema import jobs
from reelforge.media import pinning
from reelforge.webhooks import delivery, request, secrets
from tests.webhooks.conftest import ACCOUNT, BASE_URL, Outbox, drain
from tests.webhooks.receiver import Receiver, completed


def test_start_progress_completed_arrive_signed_in_order(outbox: Outbox, receiver: Receiver):
    job = outbox.job(f"{receiver.url}/hook", ("start", "progress", "completed"))
    outbox.queue.report_progress(job, 0.5, "denoising", step=5, steps=10, step_seconds=0.1)
    outbox.complete(job)
    assert drain(outbox.sender()) == 3
    requests = receiver.received
    assert [r.error for r in requests] == [None, None, None]  # each verified
    assert [r.event for r in requests] == ["start", "progress", "completed"]
    ids = [d.id for d in outbox.deliveries(job.id)]
    assert [r.headers["webhook-id"] for r in requests] == ids
    assert all(r.headers["Content-Type"] == "application/json" for r in requests)
    start, progress, done = (r.payload for r in requests)
    assert start["status"] == "PROCESSING" and start["request_id"] == job.id
    assert start["status_url"] == f"{BASE_URL}/v2/requests/{job.id}/status"
    assert "output" not in start and "output" not in progress
    assert (progress["step"], progress["steps"], progress["stage"]) == (5, 10, "denoising")
    assert progress["progress"] == 0.5 and progress["eta_seconds"] == 0.5
    assert done["status"] == "COMPLETED" and done["seed"] == 7
    assert done["output"].startswith(f"{BASE_URL}/files/outputs/{job.id}/1.mp4?")
    assert done["metrics"]["inference_time"] == 1.5 and done["video"]["width"] == 960
    assert [d.status for d in outbox.deliveries(job.id)] == ["delivered"] * 3


def test_500_twice_then_delivered_on_schedule_with_the_same_bytes(
    outbox: Outbox, receiver: Receiver, db
):
    sender = outbox.sender()
    receiver.answers = [500, 500]
    job = outbox.job(f"{receiver.url}/hook")
    outbox.complete(job)
    assert drain(sender) == 1
    [row] = outbox.deliveries(job.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == pytest.approx(outbox.clock.now + 5)  # webhook_retry_seconds
    outbox.clock.advance(5)
    assert drain(sender) == 1
    outbox.clock.advance(9.9)  # the second wait is twice the first
    assert drain(sender) == 0
    receiver.secret = secrets.rotate(db, ACCOUNT)  # a retry is signed with the current one
    outbox.clock.advance(0.2)
    assert drain(sender) == 1
    bodies = {r.body for r in receiver.received}
    assert len(receiver.received) == 3 and len(bodies) == 1
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert receiver.received[-1].error is None
    assert outbox.deliveries(job.id)[0].status == "delivered"
    codes = [(a.attempt, a.status_code, a.error) for a in outbox.attempts(row.id)]
    assert codes == [(1, 500, "HTTP 500"), (2, 500, "HTTP 500"), (3, 200, None)]


def test_gives_up_once_the_next_try_would_pass_the_retry_hours(outbox: Outbox, receiver: Receiver):
    sender = outbox.sender(webhook_retry_hours=1, webhook_retry_max_seconds=600)
    receiver.answers = [503] * 100
    job = outbox.job(f"{receiver.url}/hook")
    outbox.complete(job)
    for _ in range(30):
        drain(sender)
        [row] = outbox.deliveries(job.id)
        if row.status != "pending":
            break
        outbox.clock.now = row.next_attempt_at
    assert row.status == "failed" and row.finished_at is not None
    tries = outbox.attempts(row.id)
    assert len(tries) == row.attempts == len(receiver.received)
    waits = [b.at - a.at for a, b in zip(tries, tries[1:], strict=False)]
    assert waits[:4] == pytest.approx([5, 10, 20, 40], abs=0.5)
    assert max(waits) == pytest.approx(600, abs=0.5)  # capped
    assert tries[-1].at <= row.created_at + 3600 < tries[-1].at + 600


def test_a_leased_delivery_is_sent_by_one_sender_and_freed_by_its_lease(
    outbox: Outbox, receiver: Receiver
):
    first, second = outbox.sender(), outbox.sender()
    job = outbox.job(f"{receiver.url}/hook")
    outbox.complete(job)
    held = first.claim()
    assert held is not None and second.claim() is None
    # the first sender "dies" mid-attempt: once its lease lapses the row is due again
    outbox.clock.advance(first.lease_seconds + 1)
    taken = second.claim()
    assert taken is not None and taken.id == held.id
    assert second.attempt(taken) == "delivered"
    assert first.attempt(held) is None  # fenced: its lease is gone, it records nothing
    assert [r.event for r in receiver.received] == ["completed"]
    assert len(outbox.attempts(held.id)) == 1


def test_a_job_gone_before_its_webhooks_still_sends_start_but_not_completed(
    outbox: Outbox, receiver: Receiver, db
):
    job = outbox.job(f"{receiver.url}/hook", ("start", "completed"))
    outbox.queue.fail(job, "boom")
    with db.begin() as conn:
        conn.execute(delete(jobs).where(jobs.c.id == job.id))
    assert drain(outbox.sender()) == 2
    [start] = receiver.received
    assert start.error is None and start.payload["event"] == "start"
    assert start.payload["request_id"] == job.id and start.payload["status"] == "PROCESSING"
    sent, gone = outbox.deliveries(job.id)
    assert (sent.status, gone.status) == ("delivered", "failed")
    [attempt] = outbox.attempts(gone.id)
    assert attempt.status_code is None and "expired" in attempt.error


def test_a_failed_job_gets_completed_with_its_error(outbox: Outbox, receiver: Receiver):
    job = outbox.job(f"{receiver.url}/hook")
    outbox.queue.fail(job, "the prompt was refused")
    drain(outbox.sender())
    [request] = receiver.received
    assert request.payload["event"] == "completed" and request.payload["status"] == "FAILED"
    assert request.payload["error"] == "the prompt was refused"
    assert "output" not in request.payload


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(outbox: Outbox, receiver: Receiver):
    receiver.answers = [302]
    receiver.redirect_to = f"{receiver.url}/elsewhere"
    job = outbox.job(f"{receiver.url}/hook")
    outbox.complete(job)
    drain(outbox.sender())
    assert [r.path for r in receiver.received] == ["/hook"]
    [row] = outbox.deliveries(job.id)
    [attempt] = outbox.attempts(row.id)
    assert row.status == "pending" and attempt.status_code == 302
    assert attempt.error == "HTTP 302: redirects are not followed"


def test_private_targets_are_refused_without_a_connection(outbox: Outbox, receiver: Receiver):
    job = outbox.job(f"{receiver.url}/hook")
    outbox.complete(job)
    drain(outbox.sender(allow_private_urls=False))
    assert receiver.received == []
    [row] = outbox.deliveries(job.id)
    [attempt] = outbox.attempts(row.id)
    assert "loopback" in attempt.error and attempt.status_code is None


def test_a_name_resolving_to_cloud_metadata_is_refused_even_where_private_is_allowed(
    outbox: Outbox, receiver: Receiver
):
    job = outbox.job("http://hooks.example.test:8080/hook")
    outbox.complete(job)
    sender = outbox.sender()
    sender.resolver = lambda host, port, timeout: [ip_address("169.254.169.254")]
    drain(sender)
    [row] = outbox.deliveries(job.id)
    [attempt] = outbox.attempts(row.id)
    assert "hooks.example.test resolves to" in attempt.error and "metadata" in attempt.error


def test_deliveries_and_attempts_are_deleted_past_their_expiry(outbox: Outbox, receiver: Receiver):
    job = outbox.job(f"{receiver.url}/hook", ("start", "completed"))
    outbox.complete(job)
    sender = outbox.sender()
    drain(sender)
    assert sender.purge() == 0
    outbox.clock.advance(24 * 3600 + 1)
    assert sender.purge() == 2
    assert outbox.deliveries(job.id) == []
    assert all(
        outbox.attempts(d) == [] for d in [r.headers["webhook-id"] for r in receiver.received]
    )


def test_the_thread_outlives_database_faults(
    outbox: Outbox, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(delivery, "FAULT_FIRST_SECONDS", 0.01)
    sender = outbox.sender()
    claim, faults = sender.claim, []

    def flaky():  # the database is down for the first two polls
        if len(faults) < 2:
            faults.append(1)
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        return claim()

    sender.claim = flaky  # type: ignore[method-assign]
    job = outbox.job(f"{receiver.url}/hook")
    outbox.complete(job)
    sender.start()
    [request] = receiver.wait_for(completed, timeout=20)
    assert json.loads(request.body)["request_id"] == job.id and len(faults) == 2


def test_a_name_resolving_to_a_private_address_fails_at_once(outbox: Outbox, receiver: Receiver):
    """Issue 21: such a delivery was retried for two hours; DNS gives the same answer next
    time, so the first refusal ends it."""
    job = outbox.job("https://hooks.example.test/hook")
    outbox.complete(job)
    sender = outbox.sender(allow_private_urls=False)
    sender.resolver = lambda host, port, timeout: [ip_address("10.1.2.3")]
    drain(sender)
    [row] = outbox.deliveries(job.id)
    [attempt] = outbox.attempts(row.id)
    assert row.status == "failed" and row.attempts == 1
    assert "hooks.example.test resolves to" in attempt.error and "private" in attempt.error
    assert receiver.received == []


def test_a_submit_refuses_a_webhook_whose_name_resolves_to_a_private_address():
    hook = request.take(
        {"prompt": "x", "webhook": "https://hooks.example.test/h"}, allow_private=False
    )[1]

    def resolving_to(address: str):
        return lambda host, port, timeout: [ip_address(address)]

    with pytest.raises(BadRequest, match="webhook: hooks.example.test resolves to .*private"):
        request.check_addresses(hook, allow_private=False, resolver=resolving_to("10.1.2.3"))
    request.check_addresses(hook, allow_private=False, resolver=resolving_to("93.184.216.34"))
    request.check_addresses(hook, allow_private=True, resolver=resolving_to("10.1.2.3"))

    def unresolvable(host, port, timeout):
        raise pinning.FetchRefused(f"could not resolve host {host}")

    request.check_addresses(hook, allow_private=False, resolver=unresolvable)  # tried later
