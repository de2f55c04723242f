"""Queue benchmark: claims per second and duplicates with 1, 2 and 4 worker processes, on
SQLite and on PostgreSQL, and the time a SIGKILLed worker's job takes to come back.

    python bench/queue.py                 # both databases, 2000 jobs, 1/2/4 processes
    python bench/queue.py --jobs 500 --backends sqlite

Throughput: `--jobs` QUEUED jobs are submitted, then N child processes (multiprocessing,
each with its own JobQueue and connection) claim and complete them as fast as they can:
no engine, no files, only the queue's SQL. Every claim is recorded; a job claimed by two
workers or completed twice is a duplicate, a job not COMPLETED at the end is lost.

Recovery: a real `reelforge worker` (the slow fake test engine) holds a job, a second
worker is idle, the first one is SIGKILLed; printed is the time from the kill until the
second worker claimed the job and until it COMPLETED it. Expect lease + up to one poll.

PostgreSQL is the one on 127.0.0.1:5432 (database `test`, user postgres), in a private
schema dropped at the end; it is skipped, saying so, when none is reachable.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/queue.py`, this file's directory comes first on sys.path, where
# this module would shadow the standard library's `queue` (which multiprocessing uses)
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from reelforge.jobs import JobQueue, NewJob, Status, connect, migrate  # noqa: E402
from reelforge.jobs.schema import jobs  # noqa: E402
from tests.support.postgres import postgres_reachable, private_schema  # noqa: E402

SLUG = "pixverse-v6"
PARAMS = {"prompt": "bench", "duration": 1, "quality": "360p", "seed": 1}
FAKE_ENGINE = "tests.support.fake_engine:FakeEngine"


# --- throughput ------------------------------------------------------------------------


def _claimer(url: str, name: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    """A worker process that only claims and completes."""
    engine = connect(url)
    queue = JobQueue(engine, retention=3600, lease=60, max_attempts=3)
    claimed: list[tuple[str, int, bool]] = []  # (job id, attempt, complete() answered True)
    errors = 0
    with engine.connect():  # open the connection before the clock starts
        pass
    barrier.wait(60)
    started = time.time()
    while True:
        try:
            job = queue.claim(name, [SLUG])
        except Exception:  # e.g. SQLite "database is locked": count it, try again
            errors += 1
            continue
        if job is None:
            break
        done = queue.complete(job, output_key="bench", video={}, inference_time=0.0, cost=0.0)
        claimed.append((job.id, job.attempt, done))
    finished = time.time()
    engine.dispose()
    results.put((name, started, finished, claimed, errors))


def _submit(url: str, count: int) -> tuple[set[str], float]:
    engine = connect(url)
    migrate(engine)
    queue = JobQueue(engine, retention=3600, lease=60, max_attempts=3)
    started = time.perf_counter()
    ids = {queue.submit(NewJob(slug=SLUG, owner="bench", params=PARAMS)).id for _ in range(count)}
    elapsed = time.perf_counter() - started
    engine.dispose()
    return ids, elapsed


def _final_state(url: str) -> Counter[tuple[str, int]]:
    engine = connect(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(jobs.c.status, jobs.c.attempt, func.count()).group_by(
                jobs.c.status, jobs.c.attempt
            )
        ).all()
    engine.dispose()
    return Counter({(status, attempt): count for status, attempt, count in rows})


def throughput(url: str, workers: int, count: int) -> dict[str, float | int]:
    ids, submit_seconds = _submit(url, count)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(workers), context.Queue()
    children = [
        context.Process(target=_claimer, args=(url, f"bench-{index}", barrier, results))
        for index in range(workers)
    ]
    for child in children:
        child.start()
    reports = [results.get(timeout=300) for _ in children]
    for child in children:
        child.join(60)
    started = min(report[1] for report in reports)
    finished = max(report[2] for report in reports)
    claims = [entry for report in reports for entry in report[3]]
    by_id = Counter(job_id for job_id, _attempt, _done in claims)
    completions = Counter(job_id for job_id, _attempt, done in claims if done)
    duplicate_claims = sum(times - 1 for times in by_id.values() if times > 1)
    double_completions = sum(times - 1 for times in completions.values() if times > 1)
    state = _final_state(url)
    completed_once = state.get((Status.COMPLETED.value, 1), 0)
    lost = len(ids - set(completions)) + (count - sum(state.values()))
    seconds = finished - started
    return {
        "workers": workers,
        "jobs": count,
        "seconds": seconds,
        "claims_per_second": len(claims) / seconds if seconds > 0 else float("nan"),
        "duplicates": duplicate_claims + double_completions,
        "lost": lost,
        "not_completed_once": count - completed_once,
        "errors": sum(report[4] for report in reports),
        "submits_per_second": count / submit_seconds,
        "per_worker": "/".join(str(len(report[3])) for report in sorted(reports)),
    }


# --- recovery after SIGKILL ------------------------------------------------------------


def _start_worker(env: dict[str, str], log: Path, **overrides: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "reelforge", "worker"],
            env={**env, **overrides},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def _wait(check, timeout: float, what: str, interval: float = 0.01):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def recovery(url: str, workdir: Path, lease: float, heartbeat: float, poll: float) -> dict:
    engine = connect(url)
    migrate(engine)
    queue = JobQueue(engine, retention=3600, lease=lease, max_attempts=3)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "REELFORGE_DATABASE_URL": url,
        "REELFORGE_DATA_DIR": str(workdir / "data"),
        "REELFORGE_ENGINE": FAKE_ENGINE,
        "REELFORGE_LEASE_SECONDS": str(lease),
        "REELFORGE_HEARTBEAT_SECONDS": str(heartbeat),
        "REELFORGE_POLL_SECONDS": str(poll),
    }

    def row():  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            return conn.execute(select(jobs).where(jobs.c.id == job.id)).one()

    def ready(log: Path) -> bool:
        return log.exists() and " ready" in log.read_text(errors="replace")

    processes: list[subprocess.Popen[bytes]] = []
    try:
        # the victim alone first, so that it is the one holding the job (10 steps x 1 s)
        victim_log = workdir / "victim.log"
        victim = _start_worker(env, victim_log, REELFORGE_FAKE_STEP_SECONDS="1.0")
        processes.append(victim)
        _wait(lambda: ready(victim_log), 60, "the first worker")
        job = queue.submit(NewJob(slug=SLUG, owner="bench", params={**_params(), "seed": 2}))
        _wait(lambda: (r := row()).stage and r.stage.startswith("denoising"), 30, "the claim")
        survivor_log = workdir / "survivor.log"
        survivor = _start_worker(env, survivor_log, REELFORGE_FAKE_STEP_SECONDS="0")
        processes.append(survivor)
        _wait(lambda: ready(survivor_log), 60, "the second worker")
        victim.send_signal(signal.SIGKILL)
        killed = time.time()
        victim.wait(10)
        _wait(lambda: row().attempt == 2, lease + poll + 30, "the second claim")
        reclaimed = time.time()
        final = _wait(lambda: (r := row()).status in ("COMPLETED", "FAILED") and r, 60, "the end")
        completed = time.time()
        assert final.status == "COMPLETED", final.error
        assert str(survivor.pid) in final.worker_id
        return {
            "reclaimed_after": reclaimed - killed,
            "completed_after": completed - killed,
            "attempt": final.attempt,
        }
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        engine.dispose()


def _params() -> dict:
    """PARAMS completed the way the API stores them (defaults filled in)."""
    from reelforge import endpoints

    endpoint = endpoints.get(SLUG)
    assert endpoint is not None
    return endpoint.validate({**PARAMS, "generate_audio_switch": False})


# --- driver ----------------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path, tag: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{tag}.db'}"
    else:
        with private_schema("bench") as url:
            yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated process counts")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--lease", type=float, default=3.0, help="lease for the recovery run")
    parser.add_argument("--heartbeat", type=float, default=0.5)
    parser.add_argument("--poll", type=float, default=0.5)
    parser.add_argument("--no-recovery", action="store_true")
    args = parser.parse_args()
    global PARAMS
    PARAMS = _params()
    counts = [int(part) for part in args.workers.split(",")]
    backends = [part.strip() for part in args.backends.split(",") if part.strip()]
    if "postgresql" in backends and (reason := postgres_reachable()) is not None:
        print(f"skipping PostgreSQL: {reason}")
        backends.remove("postgresql")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.jobs} jobs per run")
    rows, recoveries = [], []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-") as tmp:
        workdir = Path(tmp)
        for backend in backends:
            for workers in counts:
                with database(backend, workdir, f"{backend}-{workers}") as url:
                    result = throughput(url, workers, args.jobs)
                rows.append({"backend": backend, **result})
                print(
                    f"  {backend:<10} {workers} worker(s): {result['claims_per_second']:8.0f} "
                    f"claims/s, {result['duplicates']} duplicates, {result['lost']} lost",
                    flush=True,
                )
        if not args.no_recovery:
            for backend in backends:
                run_dir = workdir / f"recovery-{backend}"
                run_dir.mkdir()
                with database(backend, run_dir, "recovery") as url:
                    result = recovery(url, run_dir, args.lease, args.heartbeat, args.poll)
                recoveries.append({"backend": backend, **result})
                print(f"  {backend:<10} recovery: {result['completed_after']:.2f} s", flush=True)

    print()
    print("Throughput: claim + complete, no engine")
    header = (
        f"| {'backend':<10} | workers | jobs | seconds | claims/s | duplicates | lost "
        f"| not COMPLETED on attempt 1 | claim errors | jobs per worker |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['backend']:<10} | {r['workers']:>7} | {r['jobs']:>4} | {r['seconds']:>7.2f} "
            f"| {r['claims_per_second']:>8.0f} | {r['duplicates']:>10} | {r['lost']:>4} "
            f"| {r['not_completed_once']:>26} | {r['errors']:>12} | {r['per_worker']:<15} |"
        )
    print("(submit rate: " + ", ".join(
        f"{r['backend']} {r['submits_per_second']:.0f}/s" for r in rows if r["workers"] == counts[0]
    ) + ")")  # fmt: skip
    if recoveries:
        print()
        print(
            f"Recovery after SIGKILL of a worker mid-job (lease {args.lease:g} s, heartbeat "
            f"{args.heartbeat:g} s, poll {args.poll:g} s; expected about lease + up to one poll)"
        )
        print("| backend    | reclaimed after | COMPLETED after | attempt |")
        print("|------------|-----------------|-----------------|---------|")
        for r in recoveries:
            print(
                f"| {r['backend']:<10} | {r['reclaimed_after']:>13.2f} s "
                f"| {r['completed_after']:>13.2f} s | {r['attempt']:>7} |"
            )
    print(f"\ntotal {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
