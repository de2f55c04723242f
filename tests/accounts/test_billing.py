"""The queue moves credits with job states, in the same transactions: held at submit,
charged on COMPLETED, released on every way a job can end without output."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from reelforge.accounts import credits, keys
from reelforge.errors import InsufficientCredits
from reelforge.jobs import JobQueue, NewJob, Status
from reelforge.jobs.schema import accounts, credit_ledger, jobs
from tests.support.clock import ManualClock

PRICE = 12_345  # units: 1.2345 credits


def _queue(db, **options) -> JobQueue:
    settings = {"retention": 3600, "lease": 30, "max_attempts": 3, **options}
    return JobQueue(db, **settings)


def _account(db, name: str, opening: float | None) -> str:
    keys.issue(db, name=name, opening_credits=opening)
    return name


def _books(db, account: str) -> tuple[int | None, int, int, int]:
    """(balance, held, sum of ledger, sum of prices of unfinished jobs)."""
    with db.begin() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account)).one()
        ledger = conn.execute(
            select(func.coalesce(func.sum(credit_ledger.c.units), 0)).where(
                credit_ledger.c.account_id == account
            )
        ).scalar_one()
        open_prices = conn.execute(
            select(func.coalesce(func.sum(jobs.c.price_units), 0)).where(
                jobs.c.owner == account,
                jobs.c.status.in_([Status.QUEUED.value, Status.PROCESSING.value]),
            )
        ).scalar_one()
    return row.balance, row.held, int(ledger), int(open_prices)


def _submit(queue: JobQueue, owner: str):
    return queue.submit(NewJob(slug="s", owner=owner, params={}, price_units=PRICE))


def test_hold_then_charge_on_completed(queue_db):
    queue = _queue(queue_db)
    owner = _account(queue_db, "a", 10)
    _submit(queue, owner)
    assert _books(queue_db, owner) == (100_000, PRICE, 100_000, PRICE)
    job = queue.claim("w")
    assert queue.complete(job, output_key="k", video={}, inference_time=1, cost=99)
    assert _books(queue_db, owner) == (100_000 - PRICE, 0, 100_000 - PRICE, 0)
    assert queue.get(job.id).cost == pytest.approx(1.2345)  # the held price, not the 99
    assert not queue.complete(job, output_key="k", video={}, inference_time=1, cost=1)
    assert _books(queue_db, owner)[0] == 100_000 - PRICE  # a second finish charges nothing


def test_every_unfinished_end_releases_the_hold(queue_db):
    clock = ManualClock()
    queue = _queue(queue_db, lease=30, max_attempts=1, clock=clock)
    owner = _account(queue_db, "a", 10)
    failed, exhausted, abandoned = (_submit(queue, owner) for _ in range(3))
    assert queue.fail(queue.claim("w1"), "boom")  # worker failure
    assert queue.claim("w2").id == exhausted.id
    clock.advance(31)  # its lease lapses; one attempt allowed: the next claim fails it
    assert queue.claim("w3").id == abandoned.id
    assert queue.get(exhausted.id).status is Status.FAILED
    clock.advance(31)
    assert queue.claim("w4") is None  # fails the third the same way
    expiring = _queue(queue_db, retention=60, clock=clock)
    gone = expiring.submit(NewJob(slug="s", owner=owner, params={}, price_units=PRICE))
    queued = _submit(queue, owner)
    queue.cancel(queued.id)  # cancel of a QUEUED job
    clock.advance(61)
    assert [job.id for job in queue.expire()] == [gone.id]  # expiry of a job never run
    ended = {queue.get(job.id).status for job in (failed, exhausted, abandoned, queued)}
    assert ended == {Status.FAILED}
    assert _books(queue_db, owner) == (100_000, 0, 100_000, 0)


def test_not_enough_credits_is_refused_with_no_job(queue_db):
    queue = _queue(queue_db)
    owner = _account(queue_db, "poor", 1)
    with pytest.raises(InsufficientCredits, match="costs 1.2345 credits .* has 1 available"):
        _submit(queue, owner)
    with queue_db.begin() as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar_one() == 0
    assert _books(queue_db, owner) == (10_000, 0, 10_000, 0)


def test_parallel_holds_never_overdraw(queue_db):
    owner = _account(queue_db, "team", PRICE * 7 / 10_000)
    accepted, refused = [], []
    lock = threading.Lock()

    def submit() -> None:
        queue = _queue(queue_db)
        try:
            job = _submit(queue, owner)
        except InsufficientCredits:
            with lock:
                refused.append(1)
        else:
            with lock:
                accepted.append(job.id)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(accepted), len(refused)) == (7, 13)
    balance, held, ledger, open_prices = _books(queue_db, owner)
    assert held == open_prices == 7 * PRICE and balance == ledger == 7 * PRICE


def test_unlimited_accounts_are_charged_for_the_record_only(queue_db):
    queue = _queue(queue_db)
    _submit(queue, "admin")
    job = queue.claim("w")
    assert queue.complete(job, output_key="k", video={}, inference_time=1, cost=0)
    assert credits.balance(queue_db, "admin").available is None
    with queue_db.begin() as conn:
        kinds = conn.execute(select(credit_ledger.c.kind, credit_ledger.c.units)).all()
    assert kinds == [("charge", -PRICE)]


def test_grants_and_admin_credits(queue_db):
    owner = _account(queue_db, "g", 1)
    assert credits.grant(queue_db, owner, 2.5).available == 3.5
    with pytest.raises(Exception, match="cannot take back"):
        credits.grant(queue_db, owner, -4)
    credits.ensure_admin(queue_db, 5)  # configured: the admin account gets 5 credits
    assert credits.balance(queue_db, "admin").available == 5
    credits.ensure_admin(queue_db, 5)  # a restart does not grant again
    assert credits.balance(queue_db, "admin").available == 5
    credits.ensure_admin(queue_db, None)
    assert credits.balance(queue_db, "admin").unlimited
