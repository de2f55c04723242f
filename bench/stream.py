"""Stream benchmark: what 100 concurrent stream watchers cost the API, and how soon a
recorded step reaches them, on SQLite and on PostgreSQL.

    python bench/stream.py                        # both databases, 0 and 100 watchers
    python bench/stream.py --watchers 0,10,100 --seconds 10 --backends sqlite

For each backend an API-only server (`uvicorn --factory reelforge.api.app:app_from_env`,
no worker: nothing else uses the CPU) is started on loopback. This script plays the
worker: it claims one job and records a progress step every 0.5 s (the worker's own
write rate) through `JobQueue.report_progress`, noting when each write committed. Then,
in one run, side by side, for each watcher count:

* N clients hold `GET /v2/requests/{id}/stream` on that job (httpx, asyncio) and note
  when each event arrives: latency = arrival - commit of the write it reports (one clock:
  the same process);
* first with no other load (the watchers' own cost), then with 4 clients polling
  `GET /v2/requests/{id}/status` of another (QUEUED) job back to back: its p50/p99 and
  rate beside the watchers;
* the server process's CPU time over the window (psutil) gives its CPU share.

The load generator shares the 2 cores with the server: read the ratios, not the absolutes.
PostgreSQL is the one on 127.0.0.1:5432 (database `test`), in a private schema dropped
at the end; it is skipped, saying so, when none is reachable.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/stream.py`, this file's directory comes first on sys.path, where
# bench/queue.py would shadow the standard library's `queue` (which anyio imports)
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import httpx  # noqa: E402
import psutil  # noqa: E402

from reelforge.jobs import JobQueue, connect  # noqa: E402
from tests.support.postgres import postgres_reachable, private_schema  # noqa: E402
from tests.support.server import free_port  # noqa: E402

KEY = "bench-admin-key"
SLUG = "pixverse-v6"
PARAMS = {"prompt": "bench", "duration": 1, "quality": "360p", "seed": 1}
WRITE_SECONDS = 0.5  # the worker's progress write rate (worker/heartbeat.py)
STATUS_CLIENTS = 4


@contextlib.contextmanager
def api_server(database_url: str, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "REELFORGE_DATA_DIR": str(data_dir),
        "REELFORGE_DATABASE_URL": database_url,
        "REELFORGE_ADMIN_KEY": KEY,
        "REELFORGE_RATE_LIMIT_PER_MINUTE": "0",
    }
    log = (data_dir / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "reelforge.api.app:app_from_env",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"the API did not start: {(data_dir / 'api.log').read_text()}")
        yield base, process
    finally:
        process.terminate()
        process.wait(30)
        log.close()


class ProgressWriter(threading.Thread):
    """Plays the worker: one progress write every WRITE_SECONDS; remembers when each
    version committed."""

    def __init__(self, queue: JobQueue, job_id: str):
        super().__init__(daemon=True)
        self.queue = queue
        self.job = queue.claim("bench-worker")
        assert self.job is not None and self.job.id == job_id, "claimed another job"
        self.committed: dict[str, float] = {}  # event id (= version) -> monotonic time
        self.done = threading.Event()

    def run(self) -> None:
        assert self.job is not None
        version, step = self.job.version, 0
        while not self.done.wait(WRITE_SECONDS):
            step = step % 1000 + 1
            ours, _ = self.queue.report_progress(
                self.job, 0.05 + 0.85 * step / 1000, "denoising",
                step=step, steps=1000, step_seconds=WRITE_SECONDS,
            )  # fmt: skip
            assert ours, "lost the bench job"
            # committed now; nothing else writes this job, so each write is one version
            version += 1
            self.committed[str(version)] = time.monotonic()


async def watch(client: httpx.AsyncClient, url: str, arrivals: list[tuple[str, float]],
                stop: asyncio.Event) -> None:  # fmt: skip
    async with client.stream("GET", url, headers={"x-api-key": KEY}) as response:
        event_id = None
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line == "" and event_id is not None:
                arrivals.append((event_id, time.monotonic()))
                event_id = None
            if stop.is_set():
                return


async def poll_status(client: httpx.AsyncClient, url: str, took: list[float],
                      stop: asyncio.Event) -> None:  # fmt: skip
    while not stop.is_set():
        started = time.perf_counter()
        answer = await client.get(url, headers={"x-api-key": KEY})
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text


async def phase(base: str, running: str, queued: str, watchers: int, seconds: float,
                server: psutil.Process, writer: ProgressWriter, pollers: int) -> dict:  # fmt: skip
    stop = asyncio.Event()
    arrivals: list[list[tuple[str, float]]] = [[] for _ in range(watchers)]
    took: list[float] = []
    limits = httpx.Limits(max_connections=watchers + STATUS_CLIENTS + 4)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        streams = [
            asyncio.create_task(watch(client, f"{base}/v2/requests/{running}/stream", got, stop))
            for got in arrivals
        ]
        await asyncio.sleep(1.0)  # every watcher connected and got its first event
        polling = [
            asyncio.create_task(
                poll_status(client, f"{base}/v2/requests/{queued}/status", took, stop)
            )
            for _ in range(pollers)
        ]
        cpu_before, wall_before = sum(server.cpu_times()[:2]), time.monotonic()
        window = wall_before  # writes before this met the watchers' connection storm
        await asyncio.sleep(seconds)
        cpu = sum(server.cpu_times()[:2]) - cpu_before
        wall = time.monotonic() - wall_before
        stop.set()
        await asyncio.gather(*polling)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    latencies = [
        (arrived - writer.committed[event_id]) * 1000
        for got in arrivals
        for event_id, arrived in got
        if event_id in writer.committed and writer.committed[event_id] >= window
    ]
    ordered = sorted(took)
    return {
        "watchers": watchers,
        "status_clients": pollers,
        "cpu_percent": 100 * cpu / wall,
        "status_per_s": len(took) / wall,
        "status_p50_ms": 1000 * ordered[len(ordered) // 2] if ordered else None,
        "status_p99_ms": 1000 * ordered[int(len(ordered) * 0.99)] if ordered else None,
        "events": len(latencies),
        "latency_p50_ms": statistics.median(latencies) if latencies else None,
        "latency_p99_ms": sorted(latencies)[int(len(latencies) * 0.99)] if latencies else None,
        "latency_max_ms": max(latencies) if latencies else None,
    }


def run_backend(backend: str, counts: list[int], seconds: float, workdir: Path) -> list[dict]:
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            url = stack.enter_context(private_schema("bench_stream"))
        base, process = stack.enter_context(api_server(url, workdir))
        submit = f"{base}/v2/{SLUG}"
        running, queued = (
            httpx.post(submit, json=PARAMS, headers={"x-api-key": KEY}).json()["request_id"]
            for _ in range(2)
        )
        db = connect(url)
        stack.callback(db.dispose)
        writer = ProgressWriter(JobQueue(db, retention=3600, lease=3600, max_attempts=3), running)
        writer.start()
        stack.callback(writer.done.set)
        server = psutil.Process(process.pid)
        rows = []
        for pollers in (0, STATUS_CLIENTS):  # the watchers' own cost, then status beside them
            for count in counts:
                row = asyncio.run(
                    phase(base, running, queued, count, seconds, server, writer, pollers)
                )
                rows.append({"backend": backend, **row})
                print(json.dumps(rows[-1]), flush=True)
        return rows


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", default="0,100", help="watcher counts, side by side")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    counts = [int(n) for n in args.watchers.split(",")]
    print(f"command: python bench/stream.py --watchers {args.watchers} "
          f"--seconds {args.seconds:g} --backends {args.backends}")  # fmt: skip
    rows: list[dict] = []
    for backend in args.backends.split(","):
        if backend == "postgresql" and (why := postgres_reachable()):
            print(f"postgresql skipped: {why}")
            continue
        with tempfile.TemporaryDirectory(prefix="reelforge-bench-stream-") as tmp:
            rows += run_backend(backend, counts, args.seconds, Path(tmp))
    print()
    print("| backend | watchers | status clients | API CPU % | status req/s | status p50 ms "
          "| status p99 ms | events seen | step -> watcher p50 ms | p99 ms | max ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['backend']} | {row['watchers']} | {row['status_clients']} "
            f"| {_fmt(row['cpu_percent'])} "
            f"| {_fmt(row['status_per_s'], 0)} | {_fmt(row['status_p50_ms'])} "
            f"| {_fmt(row['status_p99_ms'])} | {row['events']} "
            f"| {_fmt(row['latency_p50_ms'])} | {_fmt(row['latency_p99_ms'])} "
            f"| {_fmt(row['latency_max_ms'])} |"
        )


if __name__ == "__main__":
    main()
