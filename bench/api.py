"""Status benchmark: `GET /v2/requests/{id}/status` of the real API against a bare FastAPI
route answering the same JSON, under the same server settings, in one run.

    python bench/api.py                                  # processing and queued, 2 rounds
    python bench/api.py --states processing --seconds 10 --rounds 3 --connections 64

Two servers on loopback, each as `reelforge serve` runs its API (uvicorn with
`reelforge.api.server.uvicorn_options`: uvloop, httptools, the head timer, the access
log; the real one also with the metrics directory `serve` sets), pinned to CPU 0:

* real: `create_app` on an embedded SQLite database, no worker (nothing else uses the
  CPU); this script plays the worker where a state needs one (it claims the job and
  records a denoising step);
* bare: a FastAPI app with the one route, answering the JSON the real one gave.

The load generator is `wrk` (Debian: `apt-get install -y wrk`), pinned to CPU 1, with
N connections for S seconds against each server in turn, alternating, R rounds. The key
is an ordinary account's key (`--rate-limit`: its requests per minute; 0, the default,
none, as a client polling thousands of times a second needs). Printed: req/s, p50 and
p99 per server and round, the means, and the ratios real/bare.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/api.py`, this file's directory comes first on sys.path, where
# bench/queue.py would shadow the standard library's `queue` (which anyio imports)
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import httpx  # noqa: E402

from tests.support.server import free_port  # noqa: E402

ADMIN = "bench-admin-key"
SLUG = "pixverse-v6"
PARAMS = {"prompt": "bench", "duration": 1, "quality": "360p", "seed": 1}
SERVER_CPU, LOAD_CPU = 0, 1
BODY_FILE = "bare-body.json"


# --- the servers (this file run with --serve real|bare, in a child process) ----------
def serve(kind: str) -> None:
    os.sched_setaffinity(0, {SERVER_CPU})
    from reelforge.settings import Settings

    settings = Settings()
    if kind == "real":  # as `reelforge serve`: metrics shared through a directory
        from reelforge import metrics

        metrics.use_directory(settings.data_dir / "metrics")
    import uvicorn

    from reelforge.api.server import settle_heap, uvicorn_options

    app = real_app(settings) if kind == "real" else bare_app(settings.data_dir / BODY_FILE)
    settle_heap()  # as `reelforge serve` does once its app is built
    uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings))).run()


def real_app(settings):  # type: ignore[no-untyped-def]
    from reelforge.api.app import create_app

    return create_app(settings)


def bare_app(body_file: Path):  # type: ignore[no-untyped-def]
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    body = json.loads(body_file.read_text())
    app = FastAPI()

    @app.get("/v2/requests/{request_id}/status")
    async def status(request_id: str) -> JSONResponse:
        return JSONResponse(body)

    return app


@contextlib.contextmanager
def server(kind: str, env: dict[str, str], data_dir: Path) -> Iterator[str]:
    port = free_port()
    log = (data_dir / f"{kind}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", kind],
        env={**env, "REELFORGE_PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT,
        cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code in (200, 404):
                    break
            if process.poll() is not None:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{kind} did not start: {(data_dir / f'{kind}.log').read_text()}")
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited: {(data_dir / f'{kind}.log').read_text()}")
        yield base
    finally:
        process.terminate()
        process.wait(30)
        log.close()


# --- the load ---------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, key: str, connections: int, seconds: float) -> dict[str, float]:
    command = ["taskset", "-c", str(LOAD_CPU), "wrk", "-t1", f"-c{connections}",
               f"-d{seconds:g}s", "--timeout", "10s", "--latency",
               "-H", f"x-api-key: {key}", url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad or re.search(r"Socket errors: connect [1-9]|read [1-9]|write [1-9]", out):
        raise RuntimeError(f"failed requests:\n{out}")
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate and len(percentiles) == 2, out
    return {
        "rps": float(rate.group(1)),
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
    }


# --- the jobs: one PROCESSING (a step recorded), one QUEUED behind it -------------------
def make_jobs(base: str, env: dict[str, str], rate_limit: int) -> tuple[str, dict[str, str]]:
    from reelforge.accounts import keys
    from reelforge.jobs import open_queue
    from reelforge.settings import Settings

    settings = Settings(**{"data_dir": Path(env["REELFORGE_DATA_DIR"])})
    queue = open_queue(settings)
    key, _info = keys.issue(queue.db, name="bench", opening_credits=None, rate_limit=rate_limit)
    ids = []
    for seed in (1, 2):
        answer = httpx.post(f"{base}/v2/{SLUG}", json={**PARAMS, "seed": seed},
                            headers={"x-api-key": key}, timeout=30)  # fmt: skip
        answer.raise_for_status()
        ids.append(answer.json()["request_id"])
    job = queue.claim("bench-worker")
    assert job is not None and job.id == ids[0], "claimed another job"
    queue.report_progress(job, 0.3, "denoising", step=3, steps=10, step_seconds=0.5)
    queue.db.dispose()
    return key, {"processing": ids[0], "queued": ids[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", default="processing,queued", help="job states polled")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=2, help="real/bare alternations")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate-limit", type=int, default=0, help="the key's limit per minute")
    parser.add_argument("--serve", choices=["real", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if shutil.which("wrk") is None:
        sys.exit("needs wrk, the HTTP load generator: apt-get install -y wrk")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs 2 CPUs: the servers on one, the load generator on the other")
    command = (f"python bench/api.py --states {args.states} --seconds {args.seconds:g} "
               f"--rounds {args.rounds} --connections {args.connections} "
               f"--rate-limit {args.rate_limit}")  # fmt: skip
    print(f"command: {command}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        data_dir = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "REELFORGE_DATA_DIR": str(data_dir),
            "REELFORGE_ADMIN_KEY": ADMIN,
            "REELFORGE_HTTP_HEADER_TIMEOUT_SECONDS": "10",
        }
        with server("real", env, data_dir) as real:
            key, ids = make_jobs(real, env, args.rate_limit)
            for state in args.states.split(","):
                url = f"{real}/v2/requests/{ids[state]}/status"
                answer = httpx.get(url, headers={"x-api-key": key})
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == state.upper(), answer.text
                (data_dir / BODY_FILE).write_text(answer.text)
                with server("bare", env, data_dir) as bare:
                    bare_url = f"{bare}/v2/requests/{ids[state]}/status"
                    assert httpx.get(bare_url).json() == answer.json()
                    wrk(url, key, args.connections, 2)  # warm-up: connections, caches
                    wrk(bare_url, key, args.connections, 2)
                    for round_ in range(1, args.rounds + 1):
                        for kind, target in (("real", url), ("bare", bare_url)):
                            row = {"state": state, "round": round_, "server": kind,
                                   **wrk(target, key, args.connections, args.seconds)}  # fmt: skip
                            print(json.dumps(row), flush=True)
                            rows.append(row)
    print()
    print("| state | server | req/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    summary: dict[tuple[str, str], dict[str, float]] = {}
    for state in args.states.split(","):
        for kind in ("real", "bare"):
            mine = [row for row in rows if row["state"] == state and row["server"] == kind]
            means = {
                m: statistics.mean(row[m] for row in mine) for m in ("rps", "p50_ms", "p99_ms")
            }
            summary[state, kind] = means
            print(f"| {state} | {kind} | {means['rps']:.0f} | {means['p50_ms']:.1f} "
                  f"| {means['p99_ms']:.1f} |")  # fmt: skip
    print()
    for state in args.states.split(","):
        real, bare = summary[state, "real"], summary[state, "bare"]
        rate, tail = 100 * real["rps"] / bare["rps"], real["p99_ms"] / bare["p99_ms"]
        print(f"{state}: real/bare req/s {rate:.0f} % (goal >= 60 %), "
              f"p99 {tail:.2f}x (goal <= 1.5x)")  # fmt: skip


if __name__ == "__main__":
    main()
