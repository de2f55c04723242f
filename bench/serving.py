"""A real `reelforge serve` for the benchmarks: a child process on a free loopback port,
its output in `data_dir/serve.log`, the tests' engines importable (PYTHONPATH), ready
once /healthz answers, stopped (SIGTERM) on leaving."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.server import free_port

REPO = Path(__file__).resolve().parent.parent
START_SECONDS = 120


@contextlib.contextmanager
def serve(data_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """`reelforge serve --data-dir data_dir` with REELFORGE_* settings `env` over this
    process's environment; yields its base URL."""
    port = free_port()
    # the benchmarks measure jobs that run: the same seeded body again would otherwise be
    # answered from the result cache (docs/reproducibility.md) without a worker
    full = {**os.environ, "PYTHONPATH": str(REPO), "REELFORGE_RESULT_CACHE": "false", **env}
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reelforge", "serve", "--port", str(port),
             "--data-dir", str(data_dir)],
            env=full, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited: {log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"serve did not start: {log_path.read_text()}")
        yield base
    finally:
        process.terminate()
        process.wait(30)
