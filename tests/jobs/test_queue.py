"""The queue's promises: atomic claims, leases, fencing, attempts, cancel, expiry."""

from __future__ import annotations

import threading

from reelforge.jobs import NewJob, Status


def test_submit_then_claim_oldest_first(make_queue):
    queue = make_queue()
    first = queue.submit(NewJob(slug="pixverse-v6", owner="a", params={"n": 1}))
    second = queue.submit(NewJob(slug="pixverse-v6", owner="a", params={"n": 2}))
    assert first.status is Status.QUEUED
    assert queue.queue_position(first) == 0
    assert queue.queue_position(second) == 1
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == first.id
    assert claimed.status is Status.PROCESSING and claimed.attempt == 1
    assert claimed.params == {"n": 1}


def test_claim_respects_slugs(make_queue):
    queue = make_queue()
    queue.submit(NewJob(slug="pixverse-v6", owner="a", params={}))
    assert queue.claim("w1", ["pixverse-5-video"]) is None
    assert queue.claim("w1", ["pixverse-v6"]) is not None


def test_concurrent_claims_never_share_a_job(make_queue):
    queue = make_queue()
    ids = {queue.submit(NewJob(slug="s", owner="a", params={})).id for _ in range(30)}
    claimed: list[str] = []
    lock = threading.Lock()

    def drain(name: str) -> None:
        mine = make_queue()  # its own engine and connections, like another process
        while (job := mine.claim(name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)  # every job once: none lost, none twice


def test_expired_lease_is_claimed_again_and_the_old_holder_is_fenced(make_queue, clock):
    queue = make_queue(lease=30)
    queue.submit(NewJob(slug="s", owner="a", params={}))
    zombie = queue.claim("w1")
    clock.advance(29.9)
    assert queue.claim("w2") is None  # lease still held
    clock.advance(0.2)
    retry = queue.claim("w2")
    assert retry is not None and retry.attempt == 2 and retry.worker_id == "w2"
    # the paused first worker wakes up: none of its writes land
    assert queue.heartbeat(zombie) == (False, False)
    assert queue.report_progress(zombie, 0.5, "denoising") == (False, False)
    assert not queue.complete(zombie, output_key="x", video={}, inference_time=1, cost=1)
    assert not queue.fail(zombie, "late")
    assert queue.complete(retry, output_key="k", video={"w": 1}, inference_time=1, cost=2)
    done = queue.get(retry.id)
    assert done is not None and done.status is Status.COMPLETED and done.output_key == "k"


def test_heartbeat_keeps_the_claim(make_queue, clock):
    queue = make_queue(lease=30)
    queue.submit(NewJob(slug="s", owner="a", params={}))
    job = queue.claim("w1")
    for _ in range(4):
        clock.advance(20)  # four times past half the lease: only the heartbeats keep it
        assert queue.heartbeat(job) == (True, False)
    assert queue.claim("w2") is None
    clock.advance(30.1)  # no heartbeat for a whole lease: it lapses
    assert queue.claim("w2") is not None


def test_attempts_run_out_into_failed(make_queue, clock):
    queue = make_queue(lease=30, max_attempts=2)
    job = queue.submit(NewJob(slug="s", owner="a", params={}))
    assert queue.claim("w1") is not None
    clock.advance(31)
    assert queue.claim("w2") is not None
    clock.advance(31)
    assert queue.claim("w3") is None
    failed = queue.get(job.id)
    assert failed is not None and failed.status is Status.FAILED
    assert "2 times" in (failed.error or "")


def test_release_requeues_without_using_an_attempt(make_queue):
    queue = make_queue()
    queue.submit(NewJob(slug="s", owner="a", params={}))
    job = queue.claim("w1")
    assert queue.release(job)
    again = queue.claim("w2")
    assert again is not None and again.attempt == 1


def test_cancel_queued_fails_at_once_and_processing_is_flagged(make_queue):
    queue = make_queue()
    waiting = queue.submit(NewJob(slug="s", owner="a", params={}))
    running = queue.submit(NewJob(slug="s", owner="a", params={}))
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == waiting.id
    cancelled = queue.cancel(running.id)
    assert cancelled is not None and cancelled.status is Status.FAILED
    assert cancelled.error == "cancelled by request"
    flagged = queue.cancel(waiting.id)
    assert flagged is not None and flagged.status is Status.PROCESSING
    assert queue.heartbeat(claimed) == (True, True)


def test_expiry_deletes_and_hides(make_queue, clock):
    queue = make_queue(retention=3600)
    job = queue.submit(NewJob(slug="s", owner="a", params={}))
    clock.advance(3599.9)
    assert queue.get(job.id) is not None
    assert queue.expire() == []
    clock.advance(0.2)
    assert queue.get(job.id) is None  # hidden as soon as it is past retention
    assert queue.claim("w1") is None  # and never run
    assert [gone.id for gone in queue.expire()] == [job.id]
    assert queue.expire() == []
