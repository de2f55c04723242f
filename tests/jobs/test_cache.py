"""The result cache in the queue, on SQLite and PostgreSQL: a hit is COMPLETED at once
from a COMPLETED job's file, only for the same fingerprint, checkpoint and (unless the
operator allows otherwise) account; a shared file is deleted with its last request only."""

from __future__ import annotations

from sqlalchemy import update

from reelforge.accounts import credits
from reelforge.jobs import JobQueue, NewJob, Status, cache
from reelforge.jobs.schema import jobs

CHECKPOINT = "sha256:" + "a" * 64
PARAMS = {"prompt": "waves", "seed": 5}
PRINT = cache.fingerprint("pixverse-v6", PARAMS)


def _new(owner: str = "admin", checkpoint: str = CHECKPOINT, **lookup: object) -> NewJob:
    return NewJob(
        slug="pixverse-v6",
        owner=owner,
        params=PARAMS,
        fingerprint=PRINT,
        cache=cache.Lookup(
            checkpoint=checkpoint,
            across_accounts=bool(lookup.get("across_accounts", False)),
            price_units=int(lookup.get("price_units", 0)),  # type: ignore[call-overload]
        ),
    )


def _run(queue: JobQueue, new: NewJob, key: str) -> str:
    """Submit `new` (a miss), claim it and complete it with `key` as its output."""
    job = queue.submit(new)
    assert job.status is Status.QUEUED
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == job.id
    manifest = {"checkpoint": {"sha256": CHECKPOINT, "source": "/m"}, "seed": 5}
    assert queue.complete(
        claimed, output_key=key, video={"width": 64}, inference_time=1.0, cost=0.0,
        manifest=manifest, output_sha256="b" * 64,
    )  # fmt: skip
    return job.id


def _expire_now(queue: JobQueue, job_id: str) -> None:
    with queue.db.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(expires_at=0.0))


def test_a_hit_shares_the_file_until_its_last_request_expires(make_queue) -> None:
    queue = make_queue()
    credits.ensure_admin(queue.db, None)
    original = _run(queue, _new(), "outputs/a/1.mp4")
    hit = queue.submit(_new())
    assert hit.status is Status.COMPLETED and hit.attempt == 0 and hit.worker_id is None
    assert (hit.output_key, hit.cached_from) == ("outputs/a/1.mp4", original)
    assert hit.manifest == queue.get(original).manifest  # type: ignore[union-attr]
    assert queue.claim("w1") is None  # nothing for a worker
    # the original expires first: its row goes, the file stays for the hit
    _expire_now(queue, original)
    [gone] = queue.expire()
    assert (gone.id, gone.output_key) == (original, None)
    assert queue.get(hit.id) is not None
    # the hit, the file's last request, expires: now the file goes with it
    _expire_now(queue, hit.id)
    [last] = queue.expire()
    assert (last.id, last.output_key) == (hit.id, "outputs/a/1.mp4")


def test_two_requests_of_one_file_expiring_together_delete_it_once(make_queue) -> None:
    queue = make_queue()
    credits.ensure_admin(queue.db, None)
    original = _run(queue, _new(), "outputs/b/1.mp4")
    hit = queue.submit(_new())
    _expire_now(queue, original)
    _expire_now(queue, hit.id)
    expired = queue.expire()
    assert sorted(job.id for job in expired) == sorted([original, hit.id])
    assert [job.output_key for job in expired if job.output_key] == ["outputs/b/1.mp4"]


def test_another_checkpoint_or_account_misses(make_queue) -> None:
    queue = make_queue()
    credits.ensure_admin(queue.db, None)
    original = _run(queue, _new(), "outputs/c/1.mp4")
    other_weights = queue.submit(_new(checkpoint="sha256:" + "0" * 64))
    assert other_weights.status is Status.QUEUED
    other_account = queue.submit(_new(owner="team-b"))
    assert other_account.status is Status.QUEUED
    shared = queue.submit(_new(owner="team-b", across_accounts=True))
    assert shared.status is Status.COMPLETED and shared.output_key == "outputs/c/1.mp4"
    assert shared.cached_from == ""  # another account's request is never named
    assert queue.get(original) is not None


def test_an_expired_original_serves_no_hit(make_queue) -> None:
    queue = make_queue()
    credits.ensure_admin(queue.db, None)
    original = _run(queue, _new(), "outputs/d/1.mp4")
    _expire_now(queue, original)  # expired, not swept yet
    assert queue.submit(_new()).status is Status.QUEUED
