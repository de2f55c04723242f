"""`reelforge keys` and `reelforge credits` as an operator types them, against the
database of a running server."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.accounts.conftest import V6, small_job
from tests.support.server import REPO


def _cli(server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args, "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**server.env, "COLUMNS": "200"},
    )  # fmt: skip


KEY_CACHE_SECONDS = 1.0  # the server's bound on a revoke made by another process


def _credits_status(server, headers: dict[str, str]) -> int:
    return httpx.get(f"{server.base_url}/v1/get-user-credits", headers=headers).status_code


def test_create_use_grant_list_revoke(backend, start_server):
    server = start_server(REELFORGE_KEY_CACHE_SECONDS=str(KEY_CACHE_SECONDS))
    created = _cli(
        server, "keys", "create", "--name", "team-a", "--credits", "1",
        "--slugs", V6, "--rate-limit", "100",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("rfk_") and "shown once" in created.stderr
    headers = {"x-api-key": key}
    credits = httpx.get(f"{server.base_url}/v1/get-user-credits", headers=headers)
    assert credits.json() == {"credits": 1.0, "free-credits": 0.0}
    submit = f"{server.base_url}/v2/{V6}"
    assert httpx.post(submit, json=small_job(), headers=headers).is_success
    assert httpx.post(submit, json=small_job(), headers=headers).status_code == 406
    granted = _cli(server, "credits", "grant", "team-a", "2")
    assert granted.returncode == 0, granted.stderr
    assert httpx.post(submit, json=small_job(), headers=headers).is_success
    listed = _cli(server, "keys", "list")
    prefix = "_".join(key.split("_")[:2])
    assert prefix in listed.stdout and key not in listed.stdout
    shown = _cli(server, "credits", "show")
    assert "team-a" in shown.stdout and "unlimited" in shown.stdout  # admin: unlimited
    revoked = _cli(server, "keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    # the CLI is another process: the server refuses the key once its cache entry expires
    deadline = time.monotonic() + KEY_CACHE_SECONDS + 1.0
    while (status := _credits_status(server, headers)) != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 401
    refused = _cli(server, "credits", "grant", "nobody", "2")
    assert refused.returncode == 1 and "Account nobody not found" in refused.stderr
