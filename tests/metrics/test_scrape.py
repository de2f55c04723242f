"""GET /metrics on a real `reelforge serve` (the API and its worker child, two processes
adding up their values in one directory): the counters match exactly the jobs that ran,
the histograms hold one observation per job, the HTTP counter labels routes by their
template, and the fleet's gauges read the database.

The worker serves pixverse-v6 only, so a pixverse-text2video job stays QUEUED until it
is cancelled (it ends FAILED), and readiness, which needs a worker per model here, names
the four models nobody serves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from reelforge import endpoints
from reelforge.metrics import families  # noqa: F401  (defines them in this process)
from tests.metrics.scraped import Scraped
from tests.support.server import FAKE_ENGINE, ServerProcess
from tests.support.worker_process import wait_for

V6 = "pixverse-v6"
T2V = "pixverse-text2video"
SMALL = {"prompt": "x", "duration": 1, "quality": "360p"}
STATUS_ROUTE = "/v2/requests/{request_id}/status"


@dataclass
class Ran:
    server: ServerProcess
    completed: list[str]  # request ids
    cancelled: str
    scraped: Scraped


def _status(client: httpx.Client, request_id: str) -> str:
    answer = client.get(f"/v2/requests/{request_id}/status")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


@pytest.fixture(scope="module")
def ran(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    """A server that ran 3 pixverse-v6 jobs to COMPLETED and cancelled 1 queued
    pixverse-text2video job, then was scraped once."""
    server = serve(
        tmp_path_factory.mktemp("metrics-server"),
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_WORKER_SLUGS=V6,
        REELFORGE_READY_NEEDS_WORKERS="true",
    )
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, headers=server.headers()) as client:
            completed = [client.post(f"/v2/{V6}", json=SMALL).json()["request_id"] for _ in "123"]
            waiting = client.post(f"/v2/{T2V}", json={"prompt": "x"}).json()["request_id"]
            assert _status(client, waiting) == "QUEUED"  # nobody serves text2video here
            cancel = client.post(f"/v2/requests/{waiting}/cancel")
            assert cancel.json()["status"] == "FAILED", cancel.text
            for request_id in completed:
                wait_for(lambda r=request_id: _status(client, r) == "COMPLETED", 60, request_id)
            answer = client.get("/metrics")
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].startswith("text/plain")
            yield Ran(server, completed, waiting, Scraped(answer.text))
    finally:
        server.stop()


def test_job_counters_match_the_jobs_that_ran(ran: Ran) -> None:
    scraped = ran.scraped
    assert scraped.value("reelforge_jobs_submitted_total", model=V6) == 3
    assert scraped.value("reelforge_jobs_submitted_total", model=T2V) == 1
    assert scraped.value("reelforge_jobs_completed_total", model=V6) == 3  # counted by the worker
    assert scraped.value("reelforge_jobs_completed_total", model=T2V) == 0
    assert scraped.value("reelforge_jobs_failed_total", model=T2V) == 1  # counted by the API
    assert scraped.value("reelforge_jobs_failed_total", model=V6) == 0


def test_histograms_hold_one_observation_per_job(ran: Ran) -> None:
    scraped = ran.scraped
    assert scraped.value("reelforge_job_queue_seconds_count", model=V6) == 3
    assert scraped.value("reelforge_job_queue_seconds_count", model=T2V) == 0  # never claimed
    assert scraped.value("reelforge_job_e2e_seconds_count", model=V6, status="COMPLETED") == 3
    assert scraped.value("reelforge_job_e2e_seconds_count", model=T2V, status="FAILED") == 1
    # the stages the fake engine's jobs go through (it reports no prompt encoding or
    # decoding; and these text-only jobs have no inputs to fetch, so no such stage)
    for stage in ("denoising", "encoding_mp4", "uploading"):
        assert scraped.value("reelforge_job_stage_seconds_count", model=V6, stage=stage) == 3
    fetched = scraped.value("reelforge_job_stage_seconds_count", model=V6, stage="fetching_inputs")
    assert fetched == 0
    assert scraped.value("reelforge_denoise_step_seconds_count", model=V6) == 3
    # the +Inf bucket holds every observation, and the durations are real seconds
    assert scraped.value("reelforge_job_e2e_seconds_bucket", model=V6, le="+Inf") == 3
    assert scraped.value("reelforge_job_e2e_seconds_sum", model=V6) > 0


def test_http_requests_are_labelled_by_route_template(ran: Ran) -> None:
    scraped = ran.scraped
    polls = scraped.value(
        "reelforge_http_requests_total", route=STATUS_ROUTE, method="GET", status="200"
    )
    assert polls >= 5  # one per job above, then the waits
    submits = scraped.value("reelforge_http_requests_total", route="/v2/{slug}", method="POST")
    assert submits == 4
    durations = scraped.value(
        "reelforge_http_request_duration_seconds_count", route=STATUS_ROUTE, method="GET"
    )
    assert durations == polls
    routes = {s.labels["route"] for s in scraped.matching("reelforge_http_requests_total")}
    ids = [*ran.completed, ran.cancelled]
    assert not [route for route in routes if any(id_ in route for id_ in ids)], routes


def test_an_unknown_path_is_counted_as_unmatched(ran: Ran) -> None:
    with httpx.Client(base_url=ran.server.base_url) as client:
        assert client.get("/no/such/path/123").status_code == 404
        scraped = Scraped(client.get("/metrics").text)
    assert scraped.value("reelforge_http_requests_total", route="unmatched", status="404") >= 1
    assert not scraped.matching("reelforge_http_requests_total", route="/no/such/path/123")


def test_fleet_gauges_read_the_database(ran: Ran) -> None:
    scraped = ran.scraped
    assert scraped.value("reelforge_database_up") == 1
    for slug in endpoints.SLUGS:  # every model is there, at 0 when nothing waits
        for name in ("reelforge_queue_depth", "reelforge_queue_oldest_age_seconds"):
            assert [s.value for s in scraped.matching(name, model=slug)] == [0], (name, slug)
        assert [s.value for s in scraped.matching("reelforge_jobs_running", model=slug)] == [0]
    assert scraped.value("reelforge_workers_live", model=V6) == 1
    assert scraped.value("reelforge_workers_live", model=T2V) == 0


def test_queued_jobs_show_in_the_queue_gauges(ran: Ran) -> None:
    with httpx.Client(base_url=ran.server.base_url, headers=ran.server.headers()) as client:
        waiting = client.post(f"/v2/{T2V}", json={"prompt": "x"}).json()["request_id"]
        try:
            scraped = Scraped(client.get("/metrics").text)
        finally:
            client.post(f"/v2/requests/{waiting}/cancel")
        after = Scraped(client.get("/metrics").text)
    assert scraped.value("reelforge_queue_depth", model=T2V) == 1
    assert scraped.value("reelforge_queue_oldest_age_seconds", model=T2V) > 0
    assert after.value("reelforge_queue_depth", model=T2V) == 0
    assert after.value("reelforge_jobs_failed_total", model=T2V) == 2


def test_the_api_and_its_worker_share_one_metrics_directory(ran: Ran) -> None:
    files = sorted(path.name for path in Path(ran.server.data_dir, "metrics").iterdir())
    pids = {name.rsplit("_", 1)[-1] for name in files}
    assert len(pids) >= 2, files  # the API process's files and the worker child's


def test_readiness_names_the_models_without_a_worker(ran: Ran) -> None:
    answer = httpx.get(f"{ran.server.base_url}/readyz")
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error.startswith("no live worker serves ")
    named = set(error.removeprefix("no live worker serves ").split(", "))
    assert named == set(endpoints.SLUGS) - {V6}


def test_every_metric_is_documented_and_the_dashboard_uses_real_ones(ran: Ran) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    documented = set(re.findall(r"`(reelforge_\w+)`", (docs / "metrics.md").read_text()))
    exposed = {re.sub(r"_(bucket|sum|count)$", "", s.name) for s in ran.scraped.samples}
    exposed |= {  # every family defined, touched or not (no webhook was sent here)
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
    }
    exposed = {name for name in exposed if name.startswith("reelforge_")}
    assert exposed - documented == set()
    dashboard = json.loads((docs / "grafana-dashboard.json").read_text())
    used = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"reelforge_\w+", target["expr"])
    }
    assert used and used <= documented, used - documented
