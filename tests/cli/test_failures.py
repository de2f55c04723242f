"""A `reelforge` command that cannot do its work says so in one line on stderr, naming
what it tried, what came back and what to change; never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests.support.checks import assert_video
from tests.support.loopback_http import QuietServer, serve
from tests.support.server import REPO, ServerProcess, free_port

V6 = ["run", "pixverse-v6", "-p", "prompt=a red fox", "-p", "duration=2", "-p", "quality=360p",
      "-p", "aspect_ratio=9:16", "-p", "generate_audio_switch=false"]  # fmt: skip
UNREACHABLE_POSTGRES = "postgresql+psycopg://u:secret@127.0.0.1:1/x"


def reelforge(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m reelforge ARGS` in `cwd`, with only the REELFORGE_* settings given here."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("REELFORGE_") and name != "SEGMIND_API_KEY"
    }
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        capture_output=True, text=True, timeout=60, cwd=cwd,
        env={**clean, "PYTHONPATH": str(REPO), "COLUMNS": "200", **env},
    )  # fmt: skip


def one_line(completed: subprocess.CompletedProcess[str]) -> str:
    """The failure's single stderr line, after checking that is all the user saw."""
    assert completed.returncode != 0, completed.stdout
    assert "Traceback" not in completed.stderr + completed.stdout, completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    return lines[0]


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")  # never decoded: each upload here fails before
    return path


def client_commands(picture: Path) -> dict[str, list[str]]:
    return {"run": V6, "upload": ["upload", str(picture)]}


# --- no server there ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "upload"])
def test_no_server_on_the_url(command: str, tmp_path: Path, picture: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    args = client_commands(picture)[command]
    line = one_line(reelforge(tmp_path, *args, "--url", base, "--key", "k"))
    assert line.startswith(f"reelforge {command}: could not connect to {base}")
    assert "(connection refused)" in line
    assert "reelforge serve" in line and "--url" in line and "REELFORGE_URL" in line


@pytest.mark.parametrize("command", ["run", "upload"])
def test_reelforge_port_alone_is_where_the_command_looks(
    command: str, tmp_path: Path, picture: Path
) -> None:
    port = str(free_port())
    args = client_commands(picture)[command]
    line = one_line(reelforge(tmp_path, *args, "--key", "k", REELFORGE_PORT=port))
    assert f"could not connect to http://127.0.0.1:{port} (connection refused)" in line


def test_unknown_host(tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, *V6, "--url", "http://no-such-host.invalid:8000",
                              "--key", "k"))  # fmt: skip
    assert "could not connect to http://no-such-host.invalid:8000 (unknown host)" in line


def test_a_url_without_a_scheme(tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, *V6, "--url", "127.0.0.1:8000", "--key", "k"))
    assert "127.0.0.1:8000 is not an http(s) URL" in line and "--url" in line


def test_no_key_and_no_admin_key_file(tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, *V6, "--url", f"http://127.0.0.1:{free_port()}"))
    assert "no API key" in line and "--key" in line and "SEGMIND_API_KEY" in line
    assert not (tmp_path / "reelforge-data").exists()  # no key made up for a foreign server


# --- the server's own settings find the server -------------------------------------------


def test_run_finds_the_server_from_reelforge_port(server: ServerProcess, tmp_path: Path) -> None:
    out = tmp_path / "fox.mp4"
    done = reelforge(tmp_path, *V6, "-o", str(out),
                     REELFORGE_PORT=str(server.port), REELFORGE_ADMIN_KEY=server.key)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_video(out, 360, 640, 49, has_audio=False)


def test_upload_finds_the_server_from_reelforge_port(
    server: ServerProcess, tmp_path: Path, media_dir: Path
) -> None:
    done = reelforge(tmp_path, "upload", str(media_dir / "input.png"),
                     REELFORGE_PORT=str(server.port), REELFORGE_ADMIN_KEY=server.key)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"{server.base_url}/files/")


@pytest.mark.parametrize(("args", "shown"), [(["status"], "Queues"), (["keys", "list"], "prefix")])
def test_database_commands_use_the_servers_settings(
    args: list[str], shown: str, server: ServerProcess, tmp_path: Path
) -> None:
    done = reelforge(tmp_path, *args, REELFORGE_DATA_DIR=str(server.data_dir),
                     REELFORGE_PORT=str(server.port))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert shown in done.stdout


# --- the server says no ------------------------------------------------------------------


@pytest.mark.parametrize(("command", "path"), [("run", "/v2/pixverse-v6"), ("upload", "/v1/files")])
def test_a_wrong_key_is_the_status_and_the_servers_message(
    command: str, path: str, server: ServerProcess, tmp_path: Path, picture: Path
) -> None:
    said = httpx.post(server.base_url + path, headers={"x-api-key": "wrong"}).json()["error"]
    args = client_commands(picture)[command]
    line = one_line(reelforge(tmp_path, *args, "--url", server.base_url, "--key", "wrong"))
    assert line.startswith(f"reelforge {command}: {server.base_url} refused (401): {said};")
    assert "--key" in line


# --- something that is not a Reelforge server --------------------------------------------


class _NotReelforge(BaseHTTPRequestHandler):
    """A web page for every request, as a wrong --url (another service) answers."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b"<html><body>It works!</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def web_page() -> Iterator[str]:
    for server in serve(QuietServer(("127.0.0.1", 0), _NotReelforge)):
        yield server.base  # type: ignore[attr-defined]


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A port that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("command", ["run", "upload"])
def test_an_answer_that_is_not_json(
    command: str, web_page: str, tmp_path: Path, picture: Path
) -> None:
    args = client_commands(picture)[command]
    line = one_line(reelforge(tmp_path, *args, "--url", web_page, "--key", "k"))
    assert f"{web_page} answered something that is not JSON" in line
    assert "Reelforge server" in line and "--url" in line


def test_a_server_that_never_answers(silent_port: str, tmp_path: Path, picture: Path) -> None:
    line = one_line(reelforge(tmp_path, "upload", str(picture), "--url", silent_port,
                              "--key", "k", "--timeout", "1"))  # fmt: skip
    assert f"{silent_port} did not answer in time" in line


# --- the database is not there -----------------------------------------------------------


@pytest.mark.parametrize("args", [["status"], ["keys", "list"], ["credits", "show"]])
def test_an_unreachable_database_is_one_line_without_its_password(
    args: list[str], tmp_path: Path
) -> None:
    done = reelforge(tmp_path, *args, REELFORGE_DATABASE_URL=UNREACHABLE_POSTGRES)
    line = one_line(done)
    assert line.startswith(f"reelforge {' '.join(args)}: could not use the database ")
    assert "postgresql+psycopg://u:***@127.0.0.1:1/x" in line and "Connection refused" in line
    assert "REELFORGE_DATABASE_URL" in line
    assert "secret" not in done.stderr + done.stdout


def test_a_missing_data_directory(tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, "status", "--data-dir", str(tmp_path / "a" / "b")))
    assert "could not use the database sqlite:///" in line and "--data-dir" in line


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    line = one_line(reelforge(tmp_path, *V6, "--key", "k", REELFORGE_PORT="eighty"))
    assert "invalid setting (REELFORGE_PORT:" in line
