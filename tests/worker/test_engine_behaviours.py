"""What a user sees through the HTTP API when the engine behaves, and when it misbehaves
in one way or another: one tiny engine per behaviour (tests/support/engines/), as Cog
tests one tiny predictor per behaviour.

The API and the worker run in this process (`app_with_worker`), except where a worker
must be a process of its own: the killed engine takes its process down with it, and a
hung job is taken over by another worker. Every account starts with CREDITS and every
1 s job costs 1 credit (tests/support/inprocess.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelforge.task import FPS
from tests.conftest import write_test_video
from tests.support.checks import assert_video
from tests.support.engines import crashes, job_error, killed
from tests.support.engines.crashes import CrashingEngine
from tests.support.engines.hangs import HangingEngine
from tests.support.engines.job_error import JobErrorEngine
from tests.support.engines.short_audio import ShortAudioEngine
from tests.support.engines.silent import SilentEngine
from tests.support.engines.wrong_frames import WrongFramesEngine
from tests.support.fake_engine import FakeEngine
from tests.support.inprocess import AppWithWorker
from tests.support.seeds import EXTEND_INPUT_FRAMES
from tests.support.server import FAKE_ENGINE
from tests.support.worker_process import WorkerProc, wait_for

V6 = "pixverse-v6"
EXTEND = "pixverse-5-extend"
CREDITS = 10.0
KILLED_ENGINE = "tests.support.engines.killed:KilledEngine"


def small_job(**extra: Any) -> dict[str, Any]:
    """A pixverse-v6 text-to-video body: 1 s (25 frames), 360p, silent; 1 credit."""
    body = {
        "prompt": "a lighthouse at night",
        "duration": 1,
        "quality": "360p",
        "generate_audio_switch": False,
        "seed": 7,
    }
    return {**body, **extra}


def extend_job(video_url: str) -> dict[str, Any]:
    """A pixverse-5-extend body: 5 s (120 new frames) after the input, 360p; 5 credits."""
    return {"prompt": "horse race", "video_url": video_url, "duration": 5, "quality": "360p"}


def assert_failed(app: AppWithWorker, key: str, request_id: str, error: str) -> None:
    """Both polling answers of a FAILED request: 422, the error, no output, no cost."""
    status = app.status(key, request_id)
    assert status.status_code == 422, status.text
    assert status.json()["status"] == "FAILED"
    assert status.json()["error"] == error
    result = app.result(key, request_id)
    assert result.status_code == 422, result.text
    body = result.json()
    assert (body["status"], body["error"]) == ("FAILED", error)
    assert "output" not in body
    assert body["metrics"]["cost"] == 0.0


def assert_credits(app: AppWithWorker, key: str, available: float, held: float = 0.0) -> None:
    """What the key's owner may still spend, and what its unfinished jobs hold."""
    assert app.credits(key) == {"credits": available, "free-credits": 0.0}
    account = app.account(key)
    assert (account["available"], account["held"]) == (available, held)


def download(app: AppWithWorker, key: str, request_id: str, path: Path) -> Path:
    """The COMPLETED request's mp4, fetched from the output URL its result names."""
    result = app.result(key, request_id)
    assert result.status_code == 200, result.text
    video = app.client.get(result.json()["output"])
    assert video.status_code == 200, video.text
    assert video.headers["content-type"] == "video/mp4"
    path.write_bytes(video.content)
    return path


# --- the well-behaved engine: the worker's checks let a correct clip through -------------


def test_a_well_behaved_engine_completes_and_is_charged(app_with_worker, tmp_path):
    app = app_with_worker(engine=FakeEngine)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, V6, small_job(generate_audio_switch=True))
    status = app.wait(key, request_id)
    assert status.status_code == 200, status.text
    assert (status.json()["status"], status.json()["attempt"]) == ("COMPLETED", 1)
    assert "error" not in status.json()
    video = download(app, key, request_id, tmp_path / "out.mp4")
    assert_video(video, 640, 360, frames=25, has_audio=True)
    assert app.result(key, request_id).json()["metrics"]["cost"] == 1.0
    assert_credits(app, key, CREDITS - 1)


def test_extending_a_30_fps_video_keeps_its_duration_at_24_fps(
    app_with_worker, media_dir, media_server, tmp_path
):
    # 45 frames at 30 fps last 1.5 s: 36 frames at 24 fps, then the 120 new ones. The
    # worker's frame check counts the input as the engines retime it, and agrees
    write_test_video(media_dir / "thirty.mp4", 45, fps=30)
    app = app_with_worker(engine=FakeEngine)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, EXTEND, extend_job(media_server.url("thirty.mp4")))
    status = app.wait(key, request_id)
    assert status.json()["status"] == "COMPLETED", status.text
    video = download(app, key, request_id, tmp_path / "out.mp4")
    assert_video(video, 640, 360, frames=36 + 5 * FPS, has_audio=True)


def test_an_openai_video_keeps_exactly_its_seconds_of_the_frames_made(app_with_worker, tmp_path):
    # the engine makes LTX-2's 24 x 2 + 1 frames (the worker's check counts those); the
    # worker keeps 48, the sound cut to 2 s, where a Pixverse request keeps all 49
    app = app_with_worker(engine=FakeEngine)
    key = app.issue_key(CREDITS)
    body = {"prompt": "a lighthouse at night", "seconds": "2", "size": "640x360"}
    answer = app.client.post("/v1/videos", json=body, headers=app.headers(key))
    assert answer.status_code == 200, answer.text
    request_id = answer.json()["id"]
    assert app.wait(key, request_id).json()["status"] == "COMPLETED"
    video = download(app, key, request_id, tmp_path / "out.mp4")
    opened = assert_video(video, 640, 360, frames=2 * FPS, has_audio=True)
    assert opened.duration == 2.0
    assert opened.audio_duration is not None
    assert abs(opened.audio_duration - 2.0) <= 1024 / 48000  # within the last AAC frame
    assert app.result(key, request_id).json()["video"]["duration"] == 2.0


# --- one misbehaviour per test ---------------------------------------------------------


def test_a_crash_fails_the_job_as_an_internal_error_and_releases_its_credits(
    app_with_worker,
):
    app = app_with_worker(engine=CrashingEngine)
    key = app.issue_key(CREDITS)
    first = app.submit(key, V6, small_job(seed=1))
    second = app.submit(key, V6, small_job(seed=2))
    for request_id in (first, second):
        status = app.wait(key, request_id)
        assert status.json()["attempt"] == 1, "a crash is not retried"
        assert_failed(app, key, request_id, "internal error while generating: RuntimeError")
        # what the exception said stays in the server's log
        for answer in (app.status(key, request_id), app.result(key, request_id)):
            assert crashes.SECRET_DETAIL not in answer.text
    assert_credits(app, key, CREDITS)
    # the worker survived both crashes, and went on to the next job
    worker = app.worker
    assert worker is not None
    wait_for(lambda: app.fleet()[worker.id]["jobs_done"] == 2, 10, "the worker to go on")


def test_a_job_error_reaches_the_user_word_for_word(app_with_worker):
    app = app_with_worker(engine=JobErrorEngine)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, V6, small_job())
    assert app.wait(key, request_id).json()["attempt"] == 1
    assert_failed(app, key, request_id, job_error.MESSAGE)
    assert_credits(app, key, CREDITS)


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        (V6, "the engine returned 24 frames; the task asked for 25"),
        (
            EXTEND,
            f"the engine returned {EXTEND_INPUT_FRAMES + 5 * FPS - 1} frames; the task asked "
            f"for {EXTEND_INPUT_FRAMES + 5 * FPS} ({EXTEND_INPUT_FRAMES} of the input + "
            f"{5 * FPS} new)",
        ),
    ],
    ids=["text", "extend"],
)
def test_a_clip_of_the_wrong_length_fails_instead_of_shipping(
    app_with_worker, media_server, slug, error
):
    app = app_with_worker(engine=WrongFramesEngine)
    key = app.issue_key(CREDITS)
    body = small_job() if slug == V6 else extend_job(media_server.url("input.mp4"))
    request_id = app.submit(key, slug, body)
    app.wait(key, request_id)
    assert_failed(app, key, request_id, error)
    assert_credits(app, key, CREDITS)


def test_audio_shorter_than_the_video_fails_instead_of_padding_silence(app_with_worker):
    app = app_with_worker(engine=ShortAudioEngine)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, V6, small_job(generate_audio_switch=True))
    app.wait(key, request_id)
    # 25 frames last 1.042 s; the engine's 16 kHz track holds 8333 samples, 0.521 s
    error = (
        "the engine returned 0.521 s of audio for 1.042 s of video (25 frames); "
        "they must last as long"
    )
    assert_failed(app, key, request_id, error)
    assert_credits(app, key, CREDITS)


def test_an_engine_that_drops_the_audio_asked_for_fails_the_job(app_with_worker):
    app = app_with_worker(engine=SilentEngine)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, V6, small_job(generate_audio_switch=True))
    app.wait(key, request_id)
    assert_failed(app, key, request_id, "the engine returned no audio; the task asked for it")
    assert_credits(app, key, CREDITS)
    # the same engine on a silent task is what was asked for: COMPLETED, charged
    silent = app.submit(key, V6, small_job())
    app.wait(key, silent)
    assert app.result(key, silent).json()["video"]["has_audio"] is False


def test_a_hang_past_the_lease_is_taken_over_and_its_late_finish_changes_nothing(
    app_with_worker, tmp_path
):
    # The hung worker's heartbeat is slower than its lease: it stands for a hang that
    # stops the heartbeat thread too (a paused machine, a call that holds the GIL), so
    # the lease runs out and another worker, a process of its own, takes the job over
    app = app_with_worker(engine=HangingEngine, lease_seconds=2.0, heartbeat_seconds=60.0)
    assert app.worker is not None
    hung, engine = app.worker, app.worker.engine
    assert isinstance(engine, HangingEngine)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, V6, small_job())
    env = app.worker_env(engine=FAKE_ENGINE, heartbeat_seconds=0.3)
    other = WorkerProc("other", env, tmp_path / "other.log")
    try:
        assert engine.started.wait(10), "the hanging engine never started"
        running = app.status(key, request_id)
        assert (running.json()["status"], running.json()["attempt"]) == ("PROCESSING", 1)
        other.start().wait_ready()
        done = app.wait(key, request_id, timeout=30)
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["attempt"]) == ("COMPLETED", 2)
        status, result = done.json(), app.result(key, request_id).json()
        # now the hung engine returns its clip, late, and the hung worker tries to finish
        engine.release()
        wait_for(lambda: app.fleet()[hung.id]["jobs_done"] == 1, 30, "the hung worker to finish")
    finally:
        engine.release()
        other.stop()
    # the late finish changed nothing: the same answers, the file of attempt 2 alone
    assert app.status(key, request_id).json() == status
    assert app.result(key, request_id).json() == result
    outputs = app.settings.resolved_storage_dir / "outputs" / request_id
    # (the late worker deleted its mp4 and its thumbnail)
    assert sorted(path.name for path in outputs.iterdir()) == ["2.jpg", "2.mp4"]
    assert_video(download(app, key, request_id, tmp_path / "out.mp4"), 640, 360, 25, False)
    assert_credits(app, key, CREDITS - 1)  # charged once


def test_a_worker_killed_mid_job_every_time_ends_failed_stopped_responding(
    app_with_worker, tmp_path
):
    # the API in this process; the workers real processes, started one after the other
    # as a supervisor would restart them, each killed by the engine in the job's middle
    app = app_with_worker(engine=None, lease_seconds=2.0, heartbeat_seconds=0.5, max_attempts=2)
    key = app.issue_key(CREDITS)
    request_id = app.submit(key, V6, small_job())
    env = app.worker_env(engine=KILLED_ENGINE, poll_seconds=0.1)
    workers: list[WorkerProc] = []
    try:
        for attempt in (1, 2):
            worker = WorkerProc(f"w{attempt}", env, tmp_path / f"w{attempt}.log").start()
            workers.append(worker)
            assert worker.wait_exit(60) == killed.EXIT_CODE, worker.log()
            # until its lease runs out and another worker looks, the job shows as running
            status = app.status(key, request_id)
            assert status.status_code == 200, status.text
            assert (status.json()["status"], status.json()["attempt"]) == ("PROCESSING", attempt)
            assert_credits(app, key, CREDITS - 1, held=1.0)
        # the third worker finds the job's attempts used up and ends it
        last = WorkerProc("w3", env, tmp_path / "w3.log").start()
        workers.append(last)
        app.wait(key, request_id, timeout=60)
        assert last.process is not None and last.process.poll() is None, last.log()
    finally:
        for worker in workers:
            worker.stop()
    error = "the worker running this job stopped responding 2 times; giving up"
    assert_failed(app, key, request_id, error)
    assert app.status(key, request_id).json()["attempt"] == 2
    assert_credits(app, key, CREDITS)
