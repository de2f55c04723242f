"""A worker that cannot load its engine says why in one line and exits non-zero, and
`reelforge serve` never starts its API without a worker; one that dies after it was
ready is restarted with a growing back-off."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from reelforge.settings import Settings
from reelforge.worker import process
from reelforge.worker.process import WorkerProcess
from tests.support.server import FAKE_ENGINE, REPO, free_port

ENGINES = "tests.worker.engines"


def run_reelforge(tmp_path: Path, *args: str, timeout: float = 120, **env: str):
    """`reelforge ARGS` as a user runs it; returns (exit code, output lines, seconds)."""
    path = os.pathsep.join([*env.pop("PATHS", "").split(), str(REPO)])
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        env={**os.environ, "PYTHONPATH": path, "REELFORGE_DATA_DIR": str(tmp_path / "data"),
             "REELFORGE_ADMIN_KEY": "k", **env},
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )  # fmt: skip
    lines = [line for line in (completed.stdout + completed.stderr).splitlines() if line.strip()]
    return completed.returncode, lines, time.monotonic() - started


def failed_serve(tmp_path: Path, timeout: float = 120, **env: str):
    """`reelforge serve` that must refuse to start: (exit code, output lines, seconds)."""
    port = free_port()
    code, lines, seconds = run_reelforge(tmp_path, "serve", "--port", str(port), **env)
    with pytest.raises(httpx.ConnectError):  # the API never listened
        httpx.get(f"http://127.0.0.1:{port}/healthz")
    return code, lines, seconds


@pytest.fixture
def without_torch(tmp_path: Path) -> str:
    """A directory that, first on PYTHONPATH, makes `import torch` fail as it does when
    Reelforge was installed without its `engine` extra."""
    shadow = tmp_path / "no-torch"
    (shadow / "torch").mkdir(parents=True)
    (shadow / "torch" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
    )
    return str(shadow)


def test_serve_without_the_engine_packages_is_one_line_naming_the_fix(tmp_path, without_torch):
    code, lines, seconds = failed_serve(tmp_path, PATHS=without_torch)
    assert code != 0 and seconds < 30
    assert lines == [
        "reelforge serve: the ltx2 engine needs the Python package 'torch', which is not "
        "installed (Reelforge was installed without its engine); install it: "
        "pip install 'reelforge[engine]'"
    ]


def test_serve_with_an_engine_that_does_not_exist_is_one_line(tmp_path):
    code, lines, seconds = failed_serve(tmp_path, REELFORGE_ENGINE="nonexistent.module:x")
    assert code != 0 and seconds < 30
    assert lines == [
        "reelforge serve: REELFORGE_ENGINE='nonexistent.module:x': there is no module "
        "'nonexistent' to import; set REELFORGE_ENGINE to 'ltx2' (the default) or to "
        "'package.module:factory' of an engine installed here"
    ]


def test_serve_with_a_checkpoint_that_does_not_exist_is_one_line(tmp_path):
    code, lines, _ = failed_serve(tmp_path, REELFORGE_CHECKPOINT=str(tmp_path / "nowhere"))
    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"reelforge serve: REELFORGE_CHECKPOINT='{tmp_path / 'nowhere'}'")
    assert "unset it to use the tiny random checkpoint" in lines[0]


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        (f"{ENGINES}.needs_missing_package:Engine",
         f"reelforge worker: REELFORGE_ENGINE='{ENGINES}.needs_missing_package:Engine' needs "
         "the Python module 'reelforge_test_no_such_package', which is not installed; install "
         "it in this environment"),
        (f"{ENGINES}.dies_after_ready:no_such_factory",
         f"reelforge worker: REELFORGE_ENGINE='{ENGINES}.dies_after_ready:no_such_factory': "
         f"module '{ENGINES}.dies_after_ready' has no 'no_such_factory'; name the engine's "
         "factory after the colon"),
    ],
)  # fmt: skip
def test_a_worker_alone_says_the_same_in_one_line(tmp_path, engine, message):
    code, lines, seconds = run_reelforge(tmp_path, "worker", REELFORGE_ENGINE=engine)
    assert code == 1 and seconds < 30
    assert len(lines) == 1 and lines[0].startswith(message), lines


def test_serve_restarts_a_worker_that_keeps_dying_with_a_growing_back_off(serve, tmp_path):
    server = serve(
        tmp_path / "data", REELFORGE_ENGINE=f"{ENGINES}.dies_after_ready:dies_soon",
        REELFORGE_TEST_DIE_AFTER="4",
    ).start()  # fmt: skip
    try:
        expected = [
            "worker exited with code 3; restarting in 1 s (crash 1)",
            "worker exited with code 3; restarting in 2 s (crash 2)",
            "worker exited with code 3; restarting in 4 s (crash 3)",
        ]
        deadline = time.monotonic() + 120
        while not all(line in server.log() for line in expected):
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200  # the API goes on
        assert server.log().count("Traceback") == 0
    finally:
        server.stop()


def test_a_worker_that_stays_up_a_while_has_its_crashes_forgiven(tmp_path, monkeypatch, caplog):
    """After STABLE_SECONDS up, a crash counts as the first again (1 s, not 2 s, 4 s)."""
    monkeypatch.setattr(process, "STABLE_SECONDS", 1.0)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("REELFORGE_ENGINE", f"{ENGINES}.dies_after_ready:dies_soon")
    monkeypatch.setenv("REELFORGE_TEST_DIE_AFTER", "4")
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    caplog.set_level(logging.ERROR, logger="reelforge.serve")
    with WorkerProcess(settings) as worker:
        assert worker.start(threading.Event())
        deadline = time.monotonic() + 60
        while len(crashes := [r.getMessage() for r in caplog.records]) < 2:
            assert time.monotonic() < deadline, crashes
            time.sleep(0.1)
    assert crashes[:2] == ["worker exited with code 3; restarting in 1 s (crash 1)"] * 2


def test_the_worker_of_a_killed_serve_dies_with_it(serve, tmp_path):
    """SIGKILL to `serve` leaves no orphan worker holding the device."""
    server = serve(tmp_path / "data", REELFORGE_ENGINE=FAKE_ENGINE).start()
    assert server.process is not None
    [worker] = psutil.Process(server.process.pid).children()
    server.kill()
    gone, alive = psutil.wait_procs([worker], timeout=30)
    assert not alive, f"worker {worker.pid} outlived its server"


def test_a_worker_whose_serve_is_already_gone_exits_at_once():
    """The parent died before the child asked to die with it: the child sees another
    parent and exits rather than run unwatched."""
    code = "from reelforge.worker.process import die_with_parent; die_with_parent(1); print('ran')"
    not_its_parent = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert (not_its_parent.returncode, not_its_parent.stdout) == (1, "")
    its_parent = f"import os; {code.replace('(1)', '(os.getppid())')}"
    ran = subprocess.run(
        [sys.executable, "-c", its_parent], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert (ran.returncode, ran.stdout) == (0, "ran\n")
