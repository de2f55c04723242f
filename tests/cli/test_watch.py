"""`reelforge watch ID` and `reelforge run` draw a request's progress from the server's
live stream (GET /v2/requests/{id}/stream) and end with its result; a stand-in stream
server covers what a real one does only by accident (a dropped line, a silent job)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_failures import V6, one_line, reelforge
from tests.support.checks import assert_video
from tests.support.loopback_http import QuietServer, serve
from tests.support.server import FAKE_ENGINE, REPO, ServerProcess, free_port

BODY = {"prompt": "a red fox", "duration": 2, "quality": "360p", "aspect_ratio": "9:16",
        "generate_audio_switch": False}  # fmt: skip
# a progress line as `watch` prints it off a terminal: "PROCESSING  denoising  43%  step 4/10"
LINE = re.compile(r"^(QUEUED|PROCESSING|COMPLETED|FAILED)  (.+?)  (\d+)%(?:  (.*))?$")


@pytest.fixture(scope="module")
def slow_server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose fake engine takes 0.4 s a step (4 s a job): long enough to watch."""
    process = serve(tmp_path_factory.mktemp("watch-server"), REELFORGE_ENGINE=FAKE_ENGINE,
                            REELFORGE_FAKE_STEP_SECONDS="0.4")  # fmt: skip
    try:
        yield process.start()
    finally:
        process.stop()


def submit(server: ServerProcess) -> str:
    answer = httpx.post(f"{server.base_url}/v2/pixverse-v6", json=BODY, headers=server.headers())
    assert answer.status_code == 200, answer.text
    return str(answer.json()["request_id"])


def watch_in_background(
    cwd: Path, request_id: str, url: str, key: str | None
) -> subprocess.Popen[str]:
    """`python -m reelforge watch ID` running, its stdout and stderr piped, with no
    REELFORGE_* setting but the arguments (as `reelforge` in test_failures)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("REELFORGE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "reelforge", "watch", request_id, "--url", url, "--key", key or ""],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
    )  # fmt: skip


def progress_lines(stderr: str) -> list[tuple[str, str, int, str]]:
    """(status, stage, percent, detail) of each progress line the command printed."""
    found = [LINE.match(line) for line in stderr.splitlines()]
    return [(m[1], m[2], int(m[3]), m[4] or "") for m in found if m]


# --- against the real server -------------------------------------------------------------


def test_watch_draws_stages_and_steps_and_ends_with_the_output_url(
    slow_server: ServerProcess, tmp_path: Path
) -> None:
    # two ahead of ours, one on the device and one prepared beside it (the pipelined
    # worker claims the next job while the device runs): the watch starts while ours
    # waits its turn in the queue
    submit(slow_server)
    submit(slow_server)
    request_id = submit(slow_server)
    done = reelforge(tmp_path, "watch", request_id, "--url", slow_server.base_url,
                     "--key", slow_server.key or "")  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = progress_lines(done.stderr)
    assert seen[0][:2] == ("QUEUED", "queued") and "in the queue" in seen[0][3]
    stages = [stage for _, stage, _, _ in seen]
    assert "denoising" in stages and stages[-1] != "denoising"
    steps = [int(m[1]) for _, _, _, detail in seen if (m := re.search(r"step (\d+)/10", detail))]
    assert steps and steps == sorted(steps)
    percents = [percent for _, _, percent, _ in seen]
    assert percents == sorted(percents) and seen[-1][:1] == ("COMPLETED",)
    # stdout is the result alone: the output URL, which serves the mp4
    output = done.stdout.strip()
    assert output.startswith(f"{slow_server.base_url}/files/")
    video = tmp_path / "watched.mp4"
    video.write_bytes(httpx.get(output).raise_for_status().content)
    assert_video(video, 360, 640, 49, has_audio=False)
    # watched again after the end: the result at once
    again = reelforge(tmp_path, "watch", request_id, "--url", slow_server.base_url,
                      "--key", slow_server.key or "")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [status for status, *_ in progress_lines(again.stderr)] == ["COMPLETED"]
    assert again.stdout.strip() == output


def test_watch_of_a_cancelled_job_exits_non_zero_with_its_error(
    slow_server: ServerProcess, tmp_path: Path
) -> None:
    request_id = submit(slow_server)
    watching = watch_in_background(tmp_path, request_id, slow_server.base_url, slow_server.key)
    assert watching.stderr is not None
    seen = []  # cancel once the watcher shows denoising: a running job, watched
    for line in watching.stderr:
        seen.append(line)
        if "denoising" in line:
            break
    cancel = f"{slow_server.base_url}/v2/requests/{request_id}/cancel"
    assert httpx.post(cancel, headers=slow_server.headers()).status_code in (200, 422)
    stdout, rest = watching.communicate(timeout=60)
    stderr = "".join(seen) + rest
    assert watching.returncode == 1 and stdout == "", stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last == f"reelforge watch: request {request_id} FAILED: cancelled by request"


def test_watch_of_an_unknown_request_is_the_404(slow_server: ServerProcess, tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, "watch", "no-such-request", "--url",
                              slow_server.base_url, "--key", slow_server.key or ""))  # fmt: skip
    assert line.startswith(f"reelforge watch: {slow_server.base_url} refused (404): ")
    assert "request id" in line


def test_watch_with_a_wrong_key_is_the_401(slow_server: ServerProcess, tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, "watch", "any-id", "--url", slow_server.base_url,
                              "--key", "wrong"))  # fmt: skip
    assert line.startswith(f"reelforge watch: {slow_server.base_url} refused (401): ")
    assert "--key" in line


def test_watch_with_no_server_there(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    line = one_line(reelforge(tmp_path, "watch", "abc", "--url", base, "--key", "k"))
    assert line.startswith(f"reelforge watch: could not connect to {base} (connection refused)")
    assert "reelforge serve" in line and "--url" in line


def test_run_draws_the_stream_and_writes_a_playable_mp4(
    slow_server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "fox.mp4"
    done = reelforge(tmp_path, *V6, "-o", str(out), "--url", slow_server.base_url,
                     "--key", slow_server.key or "")  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = progress_lines(done.stderr)
    assert any(stage == "denoising" and "step " in detail for _, stage, _, detail in seen)
    assert seen[-1][0] == "COMPLETED"
    assert_video(out, 360, 640, 49, has_audio=False)


# --- against a stand-in stream -----------------------------------------------------------


def _event(name: str, event_id: int, **data: Any) -> str:
    body = {"request_id": "r", "status": "PROCESSING", "progress": 0.0, "stage": "starting",
            "eta_seconds": None, **data}  # fmt: skip
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(body)}\n\n"


class _Stream(BaseHTTPRequestHandler):
    """/v2/requests/<script>/stream, scripted by the id:
    drop: two events, then the connection breaks mid-stream; a reconnect gets the end
    quiet: one QUEUED event, then keep-alive comments only, forever
    page: a web page rather than an event stream"""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        script = self.path.split("/")[3]
        self.server.requests.append((script, self.headers.get("last-event-id")))  # type: ignore[attr-defined]
        if script == "page":
            self._start("text/html")
            self._chunk("<html>It works!</html>")
            self._chunk("")
            return
        self._start("text/event-stream")
        if script == "drop" and self.headers.get("last-event-id") is None:
            self._chunk(_event("status", 1, stage="encoding prompt", progress=0.05))
            self._chunk(_event("status", 2, stage="denoising", step=1, steps=2, progress=0.4,
                               eta_seconds=65))  # fmt: skip
            self.close_connection = True  # no last chunk: the line broke
        elif script == "drop":
            self._chunk(_event("completed", 3, status="COMPLETED", stage="completed",
                               progress=1.0, output="http://127.0.0.1:9/out.mp4"))  # fmt: skip
            self._chunk("")
        elif script == "quiet":
            self._chunk(_event("status", 1, status="QUEUED", stage="queued", queue_position=3))
            while True:
                self._chunk(": keep-alive\n\n")
                time.sleep(0.1)

    def _start(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def stand_in() -> Iterator[QuietServer]:
    yield from serve(QuietServer(("127.0.0.1", 0), _Stream))


def test_a_dropped_line_is_resumed_with_last_event_id(
    stand_in: QuietServer, tmp_path: Path
) -> None:
    done = reelforge(tmp_path, "watch", "drop", "--url", stand_in.base, "--key", "k")  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "http://127.0.0.1:9/out.mp4"
    assert stand_in.requests == [("drop", None), ("drop", "2")]  # type: ignore[attr-defined]
    assert progress_lines(done.stderr) == [
        ("PROCESSING", "encoding prompt", 5, ""),
        ("PROCESSING", "denoising", 40, "step 1/2 · eta 1 min 5 s"),
        ("COMPLETED", "completed", 100, ""),
    ]


def test_timeout_holds_while_the_server_sends_only_keep_alives(
    stand_in: QuietServer, tmp_path: Path
) -> None:
    done = reelforge(tmp_path, "watch", "quiet", "--url", stand_in.base, "--key", "k",  # type: ignore[attr-defined]
                     "--timeout", "1")  # fmt: skip
    assert progress_lines(done.stderr) == [("QUEUED", "queued", 0, "3 ahead in the queue")]
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert last.startswith("reelforge watch: request quiet still QUEUED after 1 s; it goes on")
    assert "reelforge watch quiet" in last and "--timeout" in last


def test_ctrl_c_stops_watching_in_one_line(stand_in: QuietServer, tmp_path: Path) -> None:
    watching = watch_in_background(tmp_path, "quiet", stand_in.base, "k")  # type: ignore[attr-defined]
    assert watching.stderr is not None
    first = watching.stderr.readline()  # the QUEUED event: watching now
    watching.send_signal(signal.SIGINT)
    stdout, rest = watching.communicate(timeout=30)
    assert first.startswith("QUEUED") and watching.returncode == 1 and stdout == ""
    assert rest.strip() == (
        "reelforge watch: stopped watching request quiet; it goes on: 'reelforge watch quiet'"
    )


def test_an_answer_that_is_not_an_event_stream(stand_in: QuietServer, tmp_path: Path) -> None:
    base = stand_in.base  # type: ignore[attr-defined]
    line = one_line(reelforge(tmp_path, "watch", "page", "--url", base, "--key", "k"))
    assert f"{base} answered text/html where an event stream was expected" in line
    assert "Reelforge server" in line and "--url" in line
