"""The metric families this process records (docs/metrics.md describes each).

Importing this module creates them, so it must come after `PROMETHEUS_MULTIPROC_DIR`
is settled (reelforge.metrics.use_directory): prometheus-client chooses between
in-memory and shared-file values when it is first imported. The gauges read from the
database are not here: they are computed at scrape time (collector.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# no `_created` series: one process alone exposes the same series as many added up
# (the multiprocess collector has none), and they double the lines of every scrape
disable_created_metrics()

# seconds: from a sub-second upload to an hour-long queue wait or 15 s video at 1080p
JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)
# a status poll takes milliseconds; the sync call POST /v1/{slug} holds up to 600 s
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)

jobs_submitted = Counter(
    "reelforge_jobs_submitted", "Jobs accepted (QUEUED) by the API.", ["model"]
)
jobs_completed = Counter("reelforge_jobs_completed", "Jobs that ended COMPLETED.", ["model"])
jobs_failed = Counter(
    "reelforge_jobs_failed", "Jobs that ended FAILED (errors and cancels).", ["model"]
)

queue_seconds = Histogram(
    "reelforge_job_queue_seconds",
    "Seconds from submit to the first claim by a worker, observed when the job ends.",
    ["model"],
    buckets=JOB_BUCKETS,
)
stage_seconds = Histogram(
    "reelforge_job_stage_seconds",
    "Seconds a COMPLETED job's final attempt spent in each stage.",
    ["model", "stage"],
    buckets=JOB_BUCKETS,
)
e2e_seconds = Histogram(
    "reelforge_job_e2e_seconds",
    "Seconds from submit to the end (COMPLETED or FAILED).",
    ["model", "status"],
    buckets=JOB_BUCKETS,
)
denoise_step_seconds = Histogram(
    "reelforge_denoise_step_seconds",
    "Seconds per denoising step, one observation per COMPLETED job (its measured mean).",
    ["model"],
    buckets=STEP_BUCKETS,
)

http_requests = Counter(
    "reelforge_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
http_duration = Histogram(
    "reelforge_http_request_duration_seconds",
    "Seconds from a request's arrival to the end of its answer, by route template and method.",
    ["route", "method"],
    buckets=HTTP_BUCKETS,
)
# livesum: the requests being answered now, summed over the processes still alive (a
# dead process's count is dropped at the next scrape: exposition.forget_dead)
http_in_progress = Gauge(
    "reelforge_http_requests_in_progress",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)

webhook_attempts = Counter(
    "reelforge_webhook_attempts",
    "Webhook delivery attempts, by event and outcome (delivered, retry, gave_up).",
    ["event", "outcome"],
)
