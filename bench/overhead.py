"""Overhead benchmark: what the platform adds to each job, on SQLite and on PostgreSQL.

    python bench/overhead.py                      # both databases, 50 jobs per protocol
    python bench/overhead.py --jobs 20 --backends sqlite --gap 0.3

For each backend a real `reelforge serve` (the API and its worker child, the defaults of
a user's start: `REELFORGE_POLL_SECONDS` 0.5, `REELFORGE_STREAM_POLL_SECONDS` 0.1) runs on
loopback with the tests' zero-time stand-in engine (`REELFORGE_ENGINE=
tests.support.fake_engine:FakeEngine`, `REELFORGE_FAKE_STEP_SECONDS=0`). Then N jobs one
after another, each submitted once the worker is idle again (`--gap`), in two ways:

* `stream`: `POST /v2/{slug}`, then `GET /v2/requests/{id}/stream` until its terminal
  event (which carries the job's metrics);
* `sync`: `POST /v1/{slug}` until the mp4 has arrived (`x-generation-time` is the job's
  inference_time; its metrics are read afterwards, outside the measured time).

overhead = submit -> COMPLETED seen by the client, minus the job's `metrics.inference_time`
(engine + encode + probe: what a GPU-bound job costs anyway). The breakdown, from the
job's own metrics: `queue_time` (submit committed -> claimed), `worker` (total_time -
queue_time - inference_time: the claim's start-up, ingest, upload and the COMPLETED
write) and `delivery` (the rest: the submit's HTTP round trip, the client learning of the
end and, for the sync call, the mp4's bytes). One clock for the client, one for the server
(the same machine).

PostgreSQL is the one on 127.0.0.1:5432 (database `test`), in a private schema dropped
at the end; it is skipped, saying so, when none is reachable.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/overhead.py`, this file's directory comes first on sys.path, where
# bench/queue.py would shadow the standard library's `queue` (which anyio imports)
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import httpx  # noqa: E402

from bench import serving  # noqa: E402
from tests.support.postgres import postgres_reachable, private_schema  # noqa: E402
from tests.support.server import FAKE_ENGINE  # noqa: E402

KEY = "bench-admin-key"
SLUG = "pixverse-v6"
PARAMS = {"prompt": "bench", "duration": 1, "quality": "360p", "seed": 1}
WARMUP_JOBS = 3  # first imports, first encoder start-up, first timing stats: not counted


@contextlib.contextmanager
def serve(database_url: str | None, data_dir: Path) -> Iterator[str]:
    env = {
        "REELFORGE_ENGINE": FAKE_ENGINE,
        "REELFORGE_FAKE_STEP_SECONDS": "0",
        "REELFORGE_ADMIN_KEY": KEY,
        "REELFORGE_RATE_LIMIT_PER_MINUTE": "0",
    }
    if database_url is not None:
        env["REELFORGE_DATABASE_URL"] = database_url
    with serving.serve(data_dir, env) as base:
        yield base


def via_stream(client: httpx.Client, base: str) -> tuple[float, dict]:
    """Seconds from submit to the terminal stream event, and the job's metrics."""
    started = time.perf_counter()
    answer = client.post(f"{base}/v2/{SLUG}", json=PARAMS)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["request_id"]
    name, data = None, ""
    with client.stream("GET", f"{base}/v2/requests/{job_id}/stream") as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and name in ("completed", "failed"):
                break
    elapsed = time.perf_counter() - started
    assert name == "completed", data
    return elapsed, json.loads(data)["metrics"]


def via_sync(client: httpx.Client, base: str) -> tuple[float, dict]:
    """Seconds from submit to the last byte of the sync call's mp4, and the job's metrics."""
    started = time.perf_counter()
    answer = client.post(f"{base}/v1/{SLUG}", json=PARAMS)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    assert answer.content[4:8] == b"ftyp"
    job = client.get(f"{base}/v2/requests/{answer.headers['x-request-id']}").json()
    return elapsed, job["metrics"]


def run_backend(backend: str, jobs: int, gap: float, workdir: Path) -> list[dict]:
    with contextlib.ExitStack() as stack:
        url = None if backend == "sqlite" else stack.enter_context(private_schema("bench_over"))
        base = stack.enter_context(serve(url, workdir))
        client = stack.enter_context(httpx.Client(headers={"x-api-key": KEY}, timeout=120))
        rows = []
        for protocol, run in (("stream", via_stream), ("sync", via_sync)):
            samples = []
            for index in range(WARMUP_JOBS + jobs):
                time.sleep(gap)  # the worker is idle again, waiting for work
                elapsed, metrics = run(client, base)
                if index >= WARMUP_JOBS:
                    samples.append((elapsed, metrics))
            rows.append({"backend": backend, "protocol": protocol, **summary(samples)})
            print(json.dumps(rows[-1]), flush=True)
        return rows


def summary(samples: list[tuple[float, dict]]) -> dict:
    def ms(values: list[float]) -> tuple[float, float]:
        ordered = sorted(values)
        return 1000 * statistics.median(ordered), 1000 * ordered[int(len(ordered) * 0.9)]

    overhead = [elapsed - m["inference_time"] for elapsed, m in samples]
    queue = [m["queue_time"] for _, m in samples]
    worker = [m["total_time"] - m["queue_time"] - m["inference_time"] for _, m in samples]
    delivery = [elapsed - m["total_time"] for elapsed, m in samples]
    inference = [m["inference_time"] for _, m in samples]
    (p50, p90), (q50, q90) = ms(overhead), ms(queue)
    return {
        "jobs": len(samples),
        "overhead_p50_ms": round(p50, 1),
        "overhead_p90_ms": round(p90, 1),
        "queue_p50_ms": round(q50, 1),
        "queue_p90_ms": round(q90, 1),
        "worker_p50_ms": round(ms(worker)[0], 1),
        "delivery_p50_ms": round(ms(delivery)[0], 1),
        "inference_p50_ms": round(ms(inference)[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50, help="jobs per protocol and backend")
    parser.add_argument("--gap", type=float, default=0.3, help="seconds idle before each submit")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"command: python bench/overhead.py --jobs {args.jobs} --gap {args.gap:g} "
          f"--backends {args.backends}")  # fmt: skip
    rows: list[dict] = []
    for backend in args.backends.split(","):
        if backend == "postgresql" and (why := postgres_reachable()):
            print(f"postgresql skipped: {why}")
            continue
        with tempfile.TemporaryDirectory(prefix="reelforge-bench-overhead-") as tmp:
            rows += run_backend(backend, args.jobs, args.gap, Path(tmp))
    print()
    print("| backend | client sees the end by | jobs | overhead p50 ms | p90 ms "
          "| queue_time p50 ms | p90 ms | worker p50 ms | delivery p50 ms "
          "| inference_time p50 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['backend']} | {row['protocol']} | {row['jobs']} "
            f"| {row['overhead_p50_ms']:.1f} | {row['overhead_p90_ms']:.1f} "
            f"| {row['queue_p50_ms']:.1f} | {row['queue_p90_ms']:.1f} "
            f"| {row['worker_p50_ms']:.1f} | {row['delivery_p50_ms']:.1f} "
            f"| {row['inference_p50_ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
