"""Starting a real `reelforge serve` (uvicorn on loopback) in a child process, the way a
user runs it, and killing or restarting it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

import httpx

REPO = Path(__file__).resolve().parents[2]
FAKE_ENGINE = "tests.support.fake_engine:FakeEngine"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        key: str | None = "test-admin-key",
        args: tuple[str, ...] = (),
        **env: str,
    ):
        """`key=None` lets the server create its own admin key, as on a first start;
        `args` are more `reelforge serve` flags (`--api-workers 2`)."""
        self.data_dir = data_dir
        self.key = key
        self.args = args
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "REELFORGE_ALLOW_PRIVATE_URLS": "true",
            # every submit runs (tests repeat bodies and count runs and charges); the
            # result cache's own tests turn it on
            "REELFORGE_RESULT_CACHE": "false",
            **env,
        }
        if key is not None:
            self.env["REELFORGE_ADMIN_KEY"] = key
        else:
            self.env.pop("REELFORGE_ADMIN_KEY", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        if os.environ.get("REELFORGE_TEST_QUICK"):  # set by scripts/test --quick
            raise RuntimeError(
                "the quick tier starts no server: take it from the `serve` fixture "
                "(tests/conftest.py), which marks the test slow"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # the child keeps its own copy of the descriptor: ours is closed once it started
        with self.log_path.open("ab") as log:
            self.process = self._spawn(log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log()}")

    def _spawn(self, log: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reelforge",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                *self.args,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def kill(self) -> None:
        """SIGKILL the server: no clean shutdown; its worker dies with it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}
