"""The JSON bodies the API answers with, built from a job row. One place, so that
/v2 status, /v2 result, /v1 poll and the sync call can never drift apart."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from reelforge.jobs import Job, Status
from reelforge.jobs.history import thumbnail_key
from reelforge.storage import Storage, UrlSigner, file_url


class Links:
    """Absolute URLs of one request, from the base URL clients reach us at."""

    def __init__(self, base_url: str, job_id: str):
        self.status_url = f"{base_url}/v2/requests/{job_id}/status"
        self.response_url = f"{base_url}/v2/requests/{job_id}"
        self.poll_url = f"{base_url}/v1/requests/{job_id}"


def submitted(job_id: str, links: Links, *, cached: bool = False) -> dict[str, Any]:
    """The submit answer. It always says QUEUED, as the vendor's does, so a replayed
    submit (the same Idempotency-Key) answers exactly the body the first one did; a job
    the result cache served is COMPLETED already, and its answer says `"cached": true`."""
    body: dict[str, Any] = {
        "request_id": job_id,
        "status": Status.QUEUED.value,
        "poll_url": links.poll_url,
        "status_url": links.status_url,
        "response_url": links.response_url,
    }
    if cached:
        body["cached"] = True
    return body


def credits_text(credits: float | None) -> str:
    """Credits in a header: plain decimal (no exponent), "unlimited" for None."""
    if credits is None:
        return "unlimited"
    return f"{credits:.4f}".rstrip("0").rstrip(".")


def user_credits(available: float | None) -> dict[str, float | None]:
    """GET /v1/get-user-credits. Reelforge has no free tier: free-credits is 0 on a
    limited account; both are null on an unlimited one."""
    if available is None:
        return {"credits": None, "free-credits": None}
    return {"credits": available, "free-credits": 0.0}


def metrics(job: Job, remaining_credits: float | None) -> dict[str, Any]:
    """Timing and billing of a finished job, in the vendor's field names."""
    now = time.time()
    started = job.started_at or job.finished_at or now
    finished = job.finished_at or now
    body: dict[str, Any] = {
        "inference_time": round(job.inference_time or 0.0, 3),
        "queue_time": round(started - job.created_at, 3),
        "total_time": round(finished - job.created_at, 3),
        "cost": job.cost or 0.0,
        "remaining_credits": remaining_credits,
    }
    if job.cached_from is not None:  # served from the result cache (jobs/cache.py)
        body["cached"] = True
        body["original_request_id"] = job.cached_from or None  # "": another account's
    return body


def status(
    job: Job,
    links: Links,
    *,
    queue_position: int | None,
    served: bool = True,
    eta_seconds: float | None = None,
) -> dict[str, Any]:
    """GET /v2/requests/{id}/status: state and progress, never the output. `served`:
    whether a live worker claims jobs of this slug (asked only for QUEUED jobs);
    `eta_seconds`: the estimate of jobs/timings.py (None: nothing measured yet)."""
    body: dict[str, Any] = {
        "request_id": job.id,
        "status": job.status.value,
        "status_url": links.status_url,
        "response_url": links.response_url,
        "metrics": {},
        "progress": round(job.progress, 4),
        "stage": job.stage or job.status.value.lower(),
        "attempt": job.attempt,
        "eta_seconds": eta_seconds,
    }
    if job.status is Status.PROCESSING and job.steps:
        body["step"], body["steps"] = job.step or 0, job.steps
    if job.status is Status.QUEUED:
        body["queue_position"] = queue_position
        body["stage"] = queued_stage(job, served=served)
    if job.status is Status.FAILED:
        body["error"] = job.error
    return body


def queued_stage(job: Job, *, served: bool) -> str:
    """Why a QUEUED job waits: a fault's back-off ("retrying after a storage error in
    8 s"), no live worker for its slug ("waiting for a worker": one may still come), or
    its turn ("queued")."""
    wait = (job.not_before or 0.0) - time.time()
    if wait > 0 and job.stage:
        return f"{job.stage} in {math.ceil(wait)} s"
    return "queued" if served else "waiting for a worker"


@dataclass(frozen=True)
class Files:
    """Signed URLs of a COMPLETED job's files; None where it has none."""

    output: str | None  # the mp4
    thumbnail: str | None  # its first frame, a JPEG (None for jobs made before thumbnails)


NO_FILES = Files(None, None)


def file_urls(storage: Storage, signer: UrlSigner, job: Job, base_url: str) -> Files:
    """The URLs clients may fetch a job's files from until it expires (`file_url`)."""
    if job.output_key is None:
        return NO_FILES
    output = file_url(storage, signer, job.output_key, job.expires_at, base_url)
    key = thumbnail_key(job.output_key)
    # a job completed before thumbnails has none; a local file says so for one stat. An
    # object store could only say with a request per URL: there it is assumed stored.
    local = storage.local_path(key)
    if local is not None and not local.is_file():
        return Files(output, None)
    return Files(output, file_url(storage, signer, key, job.expires_at, base_url))


def outcome(job: Job, files: Files) -> dict[str, Any]:
    """How a terminal job ended: its files, seed and video facts when COMPLETED, else
    its error. Shared by the final body and the history's items."""
    if job.status is Status.COMPLETED:
        return {
            "output": files.output,
            "thumbnail": files.thumbnail,
            "seed": job.params.get("seed"),
            "video": job.video,
        }
    return {"error": job.error}


def result(
    job: Job, links: Links, *, files: Files, remaining_credits: float | None
) -> dict[str, Any]:
    """GET /v2/requests/{id} on a terminal job (the stream's last event and the
    completed webhook too): the output and thumbnail URLs, metrics, seed, video facts and
    the manifest of what made it (or the error)."""
    body = {
        "request_id": job.id,
        "status": job.status.value,
        "status_url": links.status_url,
        "response_url": links.response_url,
        "metrics": metrics(job, remaining_credits),
        **outcome(job, files),
    }
    if job.status is Status.COMPLETED:
        body["manifest"] = job.manifest  # None only for jobs completed before manifests
    if job.replay is not None:
        body["replay"] = replay_check(job)
    return body


def runtime_differences(original: dict[str, Any], runtime: dict[str, Any] | None) -> list[str]:
    """What in `runtime` (a manifest, or a worker's runtime: checkpoint and versions)
    differs from what made `original` (a replay record); empty: a byte-for-byte match is
    expected. An unknown checkpoint hash compares with nothing."""
    runtime = runtime or {}
    was, now = original.get("checkpoint") or {}, runtime.get("checkpoint") or {}
    differences = []
    if not was.get("sha256") or not now.get("sha256"):
        differences.append("the checkpoint's content hash is not known")
    elif was["sha256"] != now["sha256"]:
        differences.append(f"checkpoint {now['sha256']} instead of {was['sha256']}")
    before, after = original.get("versions") or {}, runtime.get("versions") or {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            differences.append(f"{name} {after.get(name)} instead of {before.get(name)}")
    return differences


def replay_check(job: Job) -> dict[str, Any]:
    """A replay's verdict: whether what ran it matched its original's checkpoint and
    versions (`comparable`), and then whether the mp4 is the same, byte for byte
    (`matched`; null while not COMPLETED or not comparable)."""
    record = job.replay or {}
    check: dict[str, Any] = {
        "of": record.get("of"),
        "comparable": None,
        "matched": None,
        "differences": [],
        "original_sha256": record.get("output_sha256"),
        "sha256": job.output_sha256,
    }
    if job.status is not Status.COMPLETED:
        return check
    differences = runtime_differences(record, job.manifest)
    check["comparable"], check["differences"] = not differences, differences
    if not differences and record.get("output_sha256") and job.output_sha256:
        check["matched"] = record["output_sha256"] == job.output_sha256
    return check


def history_item(job: Job, files: Files, *, served: bool = True) -> dict[str, Any]:
    """One request of GET /v1/requests: what it asked for and where it stands; when it
    ended, how (`outcome`), and a COMPLETED one's cost."""
    item: dict[str, Any] = {
        "request_id": job.id,
        "model": job.slug,
        "status": job.status.value,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "params": job.params,
        "progress": round(job.progress, 4),
        "stage": job.stage or job.status.value.lower(),
    }
    if job.status is Status.QUEUED:
        item["stage"] = queued_stage(job, served=served)
    if job.terminal:
        item.update(outcome(job, files))
    if job.status is Status.COMPLETED:
        item["cost"] = job.cost or 0.0
    return item
