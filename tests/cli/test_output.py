"""What the commands print into a pipe or a log is never wrapped (issue 22: Rich wrapped
it at 80 columns when not on a terminal, and `reelforge status`' Workers table and the
keys table became unreadable in a log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import FAKE_ENGINE, REPO, free_port


def reelforge(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m reelforge ARGS` with its output in a pipe, COLUMNS unset."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS" and not k.startswith("REELFORGE_")}
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        capture_output=True, text=True, timeout=60, env={**env, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_a_table_in_a_pipe_keeps_each_row_on_one_line(tmp_path: Path) -> None:
    name = "a-team-with-a-name-long-enough-to-cross-eighty-columns-on-its-own-" + "x" * 40
    created = reelforge(
        "keys", "create", "--name", name, "--account", "team-a", "--data-dir", str(tmp_path)
    )
    assert created.returncode == 0, created.stderr
    listed = reelforge("keys", "list", "--data-dir", str(tmp_path))
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if name in line]
    assert len(rows) == 1, listed.stdout  # the whole name, on the row of its key
    assert "active" in rows[0] and len(rows[0]) > 120


def test_the_cli_finds_the_server_of_its_data_dir_on_any_port(serve, tmp_path: Path) -> None:
    """Issue 22: `scripts/serve --port 8080`, then `reelforge run ...` called port 8000.
    `serve` records where it listens in its data directory; the other commands read it
    (and `--url` / REELFORGE_URL still win)."""
    data = tmp_path / "data"
    server = serve(data, REELFORGE_ENGINE=FAKE_ENGINE).start()
    try:
        recorded = json.loads((data / "server.json").read_text())
        assert recorded["url"] == f"http://127.0.0.1:{server.port}"
        found = reelforge("estimate", "pixverse-v6", "-p", "prompt=a fox", "--data-dir", str(data),
                          "--key", server.key or "")  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert "credits" in found.stdout.lower() or "seconds" in found.stdout.lower(), found.stdout
        elsewhere = reelforge("estimate", "pixverse-v6", "-p", "prompt=a fox", "--data-dir",
                              str(data), "--url", f"http://127.0.0.1:{free_port()}")  # fmt: skip
        assert elsewhere.returncode != 0  # --url wins, and nothing listens there
    finally:
        server.stop()
    assert not (data / "server.json").exists()  # a stopped server leaves no address behind


def test_the_cli_runs_from_the_checkout_without_activating_the_venv() -> None:
    """Issue 22: after `scripts/serve`, `reelforge --help` was "command not found" and the
    README never said how to reach the CLI: `scripts/reelforge` is it."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # no .venv/bin on it
    done = subprocess.run([str(REPO / "scripts" / "reelforge"), "--help"], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Usage: reelforge" in done.stdout and "serve" in done.stdout
