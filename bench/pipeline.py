"""Pipeline benchmark: how much of the wall time the device is busy with a backlog of jobs.

    python bench/pipeline.py                      # 8 jobs, 2 s on the device each
    python bench/pipeline.py --jobs 12 --hold 2 --quality 720p

A real `reelforge serve` (SQLite, its defaults) runs with a stand-in engine that holds
"the device" `--hold` seconds per job and logs each hold
(`tests.support.engines.device_hold:DeviceHoldEngine`: it sleeps, as a worker waiting on
CUDA kernels does). Each job is an image-to-video request (pixverse-v6) whose input, a
1920x1080 JPEG, is fetched from a local HTTP server, 5 s long with audio, so ingest,
encode (libx264 on the textured frames), probe and upload all cost what they cost.

All jobs are submitted at once (a backlog), and the script waits for every one to
complete. Then:

* device busy = the sum of the holds / the wall time from the first hold's start to the
  last hold's end (the device's working span: the gaps in it are what the platform cost);
* end to end = the sum of the holds / the wall time from the first submit to the last job
  seen COMPLETED (this also counts the first job's ingest and the last one's encode,
  which no pipeline can hide).

It runs twice, side by side: `REELFORGE_PIPELINE_DEPTH=0` (the serial worker: one job at
a time, start to end) and the default pipelined worker, and prints both and their ratio.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/pipeline.py`, this file's directory comes first on sys.path, where
# bench/queue.py would shadow the standard library's `queue`
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench import serving  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402

KEY = "bench-admin-key"
SLUG = "pixverse-v6"
ENGINE = "tests.support.engines.device_hold:DeviceHoldEngine"


def serve(data_dir: Path, env_extra: dict[str, str]) -> contextlib.AbstractContextManager[str]:
    env = {
        "REELFORGE_ENGINE": ENGINE,
        "REELFORGE_ADMIN_KEY": KEY,
        "REELFORGE_RATE_LIMIT_PER_MINUTE": "0",
        "REELFORGE_ALLOW_PRIVATE_URLS": "true",
        **env_extra,
    }
    (data_dir / "data").mkdir(exist_ok=True)
    return serving.serve(data_dir / "data", env)


def input_image(root: Path) -> str:
    """A 1920x1080 photo-like JPEG (smooth gradients and noise), as a client uploads."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1080, 0:1920]
    base = np.stack([x / 1920 * 255, y / 1080 * 255, (x + y) / 3000 * 255], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(root / "input.jpg", "JPEG", quality=90)
    return "input.jpg"


def run_once(depth: int, args: argparse.Namespace, media_url: str, workdir: Path) -> dict:
    device_log = workdir / "device.jsonl"
    env = {
        "REELFORGE_PIPELINE_DEPTH": str(depth),
        "REELFORGE_TEST_HOLD_SECONDS": str(args.hold),
        "REELFORGE_TEST_DEVICE_LOG": str(device_log),
    }
    body = {
        "prompt": "bench",
        "image_url": media_url,
        "duration": args.duration,
        "quality": args.quality,
        "generate_audio_switch": True,
    }
    with (
        serve(workdir, env) as base,
        httpx.Client(headers={"x-api-key": KEY}, timeout=120) as client,
    ):
        # one job first, alone: imports, the encoder's start-up (not counted)
        warm = client.post(f"{base}/v2/{SLUG}", json={**body, "seed": 0}).json()["request_id"]
        wait_all(client, base, [warm])
        device_log.unlink(missing_ok=True)
        started = time.time()
        ids = []
        for index in range(args.jobs):
            answer = client.post(f"{base}/v2/{SLUG}", json={**body, "seed": index + 1})
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["request_id"])
        wait_all(client, base, ids)
        ended = time.time()
    holds = [json.loads(line) for line in device_log.read_text().splitlines()]
    assert len(holds) == args.jobs, holds
    busy = sum(hold["end"] - hold["start"] for hold in holds)
    span = max(hold["end"] for hold in holds) - min(hold["start"] for hold in holds)
    timings = stage_timings(workdir / "data" / "reelforge.db", ids)

    def median_stage(*names: str) -> float:
        return statistics.median(sum(t.get(name, 0.0) for name in names) for t in timings)

    return {
        "pipeline_depth": depth,
        "jobs": args.jobs,
        "device_busy": busy / span,
        "end_to_end": busy / (ended - started),
        "wall_seconds": ended - started,
        "hold_seconds": busy / len(holds),
        "ingest_s": median_stage("fetching inputs"),
        "encode_s": median_stage("encoding mp4"),
        "upload_s": median_stage("uploading"),
    }


def wait_all(client: httpx.Client, base: str, ids: list[str]) -> None:
    """Poll until every job is COMPLETED."""
    waiting = set(ids)
    deadline = time.monotonic() + 600
    while waiting:
        assert time.monotonic() < deadline, "jobs did not complete in 10 minutes"
        for job_id in sorted(waiting):
            status = client.get(f"{base}/v2/requests/{job_id}/status").json()
            assert status["status"] not in ("FAILED", "CANCELLED"), status
            if status["status"] == "COMPLETED":
                waiting.discard(job_id)
        time.sleep(0.05)


def stage_timings(database: Path, ids: list[str]) -> list[dict[str, float]]:
    """The seconds per stage each job's worker measured (jobs.timings)."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            f"SELECT timings FROM jobs WHERE id IN ({','.join('?' * len(ids))})", ids
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs in the backlog")
    parser.add_argument("--hold", type=float, default=2.0, help="device seconds per job")
    parser.add_argument("--quality", default="540p")
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    print(
        f"command: python bench/pipeline.py --jobs {args.jobs} --hold {args.hold:g} "
        f"--quality {args.quality} --duration {args.duration}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-pipeline-") as tmp:
        root = Path(tmp)
        media = root / "media"
        media.mkdir()
        name = input_image(media)
        with MediaServer(media) as server:
            for depth in (0, 2):
                workdir = root / f"depth-{depth}"
                workdir.mkdir()
                rows.append(run_once(depth, args, f"{server.base_url}/{name}", workdir))
                print(json.dumps({k: round(v, 4) for k, v in rows[-1].items()}), flush=True)
    print()
    print("| worker | jobs | device busy | end to end | wall s | hold s/job "
          "| ingest s | encode s | upload s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        kind = "serial (depth 0)" if row["pipeline_depth"] == 0 else "pipelined (depth 2)"
        print(
            f"| {kind} | {row['jobs']} | {100 * row['device_busy']:.1f} % "
            f"| {100 * row['end_to_end']:.1f} % | {row['wall_seconds']:.1f} "
            f"| {row['hold_seconds']:.2f} | {row['ingest_s']:.2f} | {row['encode_s']:.2f} "
            f"| {row['upload_s']:.2f} |"
        )
    serial, pipelined = rows
    busy = pipelined["device_busy"] / serial["device_busy"]
    wall = pipelined["wall_seconds"] / serial["wall_seconds"]
    print(f"\npipelined / serial: device busy {busy:.2f}x, wall time {wall:.2f}x")


if __name__ == "__main__":
    main()
