"""POST /v2/{slug}/estimate: the price, plan and ETA of a submit, with the submit's own 400s,
and no job; its ETA moves to what the fleet measured once jobs of that size completed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.jobs import fleet, timings
from reelforge.settings import Settings
from tests.support.server import REPO

KEY = {"x-api-key": "estimate-admin-key"}
V6 = {"prompt": "a red fox", "quality": "540p", "duration": 5}
SIZE = "540p 5s normal"  # timings.size_of(V6 with its defaults)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, admin_key=KEY["x-api-key"])
    with TestClient(create_app(settings)) as client:
        client.app.state.services.timings.max_age = 0.0  # type: ignore[attr-defined]
        yield client


def estimate(client: TestClient, slug: str, body: Any) -> dict[str, Any]:
    answer = client.post(f"/v2/{slug}/estimate", json=body, headers=KEY)
    assert answer.status_code == 200, answer.text
    return answer.json()


def add_worker(client: TestClient, slug: str) -> None:
    db = client.app.state.services.db  # type: ignore[attr-defined]
    info = fleet.WorkerInfo(f"test:{slug}", "test", os.getpid(), [slug], "fake", "cuda:0", None)
    fleet.register(db, info)


def record(client: TestClient, slug: str, total: float, step_seconds: float) -> None:
    db = client.app.state.services.db  # type: ignore[attr-defined]
    with db.begin() as conn:
        measured = {"total": total, "step_seconds": step_seconds, "steps": 3.0, "decoding": 1.0}
        timings.record(conn, slug, SIZE, measured)


def test_answers_price_plan_and_flops_basis_without_a_job(client):
    answer = estimate(client, "pixverse-v6", V6)
    assert answer["model"] == "pixverse-v6" and answer["price"] == pytest.approx(0.31, abs=0.01)
    plan = answer["plan"]
    # the tiny checkpoint's schedule (3 steps, 4 passes each) on the full-size model's work
    assert (plan["width"], plan["height"], plan["frames"]) == (960, 544, 121)
    assert (plan["schedule"], plan["steps"], plan["transformer_passes"]) == ("guided", 3, 12)
    (stage,) = plan["stages"]
    assert (stage["video_tokens"], stage["audio_tokens"], stage["text_tokens"]) == (8160, 126, 1024)
    assert stage["tflop_per_pass"] == pytest.approx(275.23, abs=0.01)
    assert plan["tflop"] == pytest.approx(12 * 275.23, abs=0.5)
    assert answer["eta_seconds"] is None  # no live worker serves it
    assert answer["eta"]["basis"] == "flops" and answer["eta"]["peak_tflops"] == 989.0
    history = client.get("/v1/requests", headers=KEY).json()
    assert history["requests"] == []  # no job was made


@pytest.mark.parametrize(
    "slug, body",
    [
        ("pixverse-text2video", {"prompt": "x", "duration": 6}),
        ("pixverse-text2video", {"prompt": "x", "duration": 8, "motion_mode": "fast"}),
        ("pixverse-5-video", {"prompt": "x", "quality": "1080p", "duration": 8}),
        ("pixverse-v6", {"prompt": "x", "colour": "red"}),
        ("pixverse-v6", {"duration": 5}),
        ("pixverse-v6", [1, 2]),
        ("pixverse-v6", {"prompt": "x", "image_url": "ftp://example.com/a.png"}),
        ("pixverse-v6", {"prompt": "x", "webhook": "http://127.0.0.1/hook"}),
        ("pixverse-5-extend", {"prompt": "x"}),
        ("pixverse-5-transition", {"prompt": "x", "last_frame_url": "https://example.com/a"}),
        ("no-such-model", {"prompt": "x"}),
    ],
)
def test_refuses_exactly_what_a_submit_refuses(client, slug, body):
    submit = client.post(f"/v2/{slug}", json=body, headers=KEY)
    answer = client.post(f"/v2/{slug}/estimate", json=body, headers=KEY)
    assert submit.status_code in (400, 404)
    assert (answer.status_code, answer.json()) == (submit.status_code, submit.json())


def test_needs_a_key(client):
    answer = client.post("/v2/pixverse-v6/estimate", json=V6)
    assert answer.status_code == 401 and "error" in answer.json()


def test_eta_moves_from_flops_to_the_measured_step_rates(client):
    add_worker(client, "pixverse-v6")
    # 1. Nothing measured: the plan's FLOPs at 35 % of 989 TFLOP/s, one worker, no queue
    first = estimate(client, "pixverse-v6", V6)
    flops_run = first["plan"]["tflop"] / (989.0 * 0.35)
    assert first["eta"]["basis"] == "flops" and first["eta"]["workers"] == 1
    assert first["eta_seconds"] == pytest.approx(flops_run, abs=0.1)
    # 2. One job of this size completed in 10 s: that is the ETA now
    record(client, "pixverse-v6", total=10.0, step_seconds=2.0)
    second = estimate(client, "pixverse-v6", V6)
    assert second["eta"]["basis"] == "measured" and second["eta"]["samples"] == 1
    assert second["eta_seconds"] == pytest.approx(10.0)
    # 3. A slower one (20 s): the running mean moves toward it, as /status's ETA does
    record(client, "pixverse-v6", total=20.0, step_seconds=5.0)
    third = estimate(client, "pixverse-v6", V6)
    assert third["eta_seconds"] == pytest.approx(12.0)  # 0.8 x 10 + 0.2 x 20
    assert third["eta"]["step_seconds"] == pytest.approx(2.6)
    # 4. A job queued ahead doubles it (one worker); another size is still FLOPs
    assert client.post("/v2/pixverse-v6", json=V6, headers=KEY).status_code == 200
    fourth = estimate(client, "pixverse-v6", V6)
    assert fourth["eta"]["queued_ahead"] == 1 and fourth["eta_seconds"] == pytest.approx(24.0)
    other = estimate(client, "pixverse-v6", {**V6, "quality": "720p"})
    assert other["eta"]["basis"] == "flops"


def test_the_cli_prints_the_estimate(server):
    """`reelforge estimate` against a real `reelforge serve` (the shared one, fake engine)."""
    args = ["--url", server.base_url, "--key", server.key]
    completed = subprocess.run(
        [sys.executable, "-m", "reelforge", "estimate", "pixverse-v6", "-p", "prompt=a red fox",
         "-p", "quality=720p", "-p", "duration=8", *args],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    refused = subprocess.run(
        [sys.executable, "-m", "reelforge", "estimate", "pixverse-v6", "-p", "prompt=x",
         "-p", "duration=99", *args],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "pixverse-v6:" in completed.stdout and "1280x736, 193 frames" in completed.stdout
    assert "transformer passes" in completed.stdout and "eta:" in completed.stdout
    assert refused.returncode == 1 and "refused (400): duration:" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_plans_the_two_stage_path_of_a_distilled_checkpoint(tmp_path, tiny_distilled_checkpoint):
    checkpoint = tiny_distilled_checkpoint
    settings = Settings(data_dir=tmp_path, admin_key=KEY["x-api-key"], checkpoint=str(checkpoint))
    with TestClient(create_app(settings)) as client:
        fast = estimate(client, "pixverse-text2video", {"prompt": "x", "motion_mode": "fast"})
        normal = estimate(client, "pixverse-text2video", {"prompt": "x"})
        # from 720p up the default motion runs two stages as well (schedule.runs_two_stage)
        high = estimate(client, "pixverse-text2video", {"prompt": "x", "quality": "720p"})
        tall = {"prompt": "x", "quality": "720p", "aspect_ratio": "9:16"}
        portrait = estimate(client, "pixverse-text2video", tall)
    assert high["plan"]["schedule"] == portrait["plan"]["schedule"] == "two-stage distilled"
    assert [stage["width"] for stage in high["plan"]["stages"]] == [640, 1280]
    assert fast["plan"]["schedule"] == "two-stage distilled"
    assert fast["plan"]["transformer_passes"] == 11
    assert [stage["width"] for stage in fast["plan"]["stages"]] == [480, 960]
    assert (normal["plan"]["schedule"], normal["plan"]["transformer_passes"]) == ("distilled", 8)
    assert fast["plan"]["tflop"] < normal["plan"]["tflop"]


def test_a_queued_jobs_status_eta_is_the_estimate_model(client):
    """/status of a QUEUED job says what the estimate said for its body: from its FLOPs
    before anything of its size was measured, then from the measurements."""
    add_worker(client, "pixverse-v6")
    before = estimate(client, "pixverse-v6", V6)  # nothing queued ahead of it
    submitted = client.post("/v2/pixverse-v6", json=V6, headers=KEY).json()
    status_url = f"/v2/requests/{submitted['request_id']}/status"

    def status_eta() -> float:
        answer = client.get(status_url, headers=KEY).json()
        assert answer["status"] == "QUEUED" and answer["queue_position"] == 0
        return float(answer["eta_seconds"])

    assert before["eta"]["basis"] == "flops"
    assert status_eta() == pytest.approx(before["eta_seconds"], abs=0.1)
    record(client, "pixverse-v6", total=10.0, step_seconds=2.0)
    deadline = time.monotonic() + 10  # the status route reloads the means in the background
    while status_eta() != pytest.approx(10.0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status_eta() == pytest.approx(10.0)
