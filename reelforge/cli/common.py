"""What the `reelforge` commands share: the settings, the console for notes, the options
that name a server, a key or a data directory, and the database they open."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypedDict

import typer
from pydantic import ValidationError
from rich.console import Console

from reelforge.cli import address
from reelforge.cli.failures import database_errors, fail
from reelforge.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


def output(*, stderr: bool = False) -> Console:
    """A console for the commands' output. On a terminal, Rich fits it to the terminal's
    width; anywhere else (a pipe, a log file, a CI job) it would wrap every line at 80
    columns, the status table included, so there lines are as long as they are (COLUMNS,
    when set, still wins)."""
    stream = sys.stderr if stderr else sys.stdout
    unwrapped = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH if unwrapped else None, soft_wrap=unwrapped)


UNWRAPPED_WIDTH = 100_000  # "no limit" to Rich: it needs a number
# Notes and progress go to stderr: stdout carries only results (a key, file URLs, tables).
console = output(stderr=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="embedded data directory (REELFORGE_DATA_DIR)")
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="REELFORGE_URL",
        show_default=False,
        help="server base URL; default: where 'reelforge serve' listens with the same "
        "settings, http://REELFORGE_HOST:REELFORGE_PORT (http://127.0.0.1:8000)",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="SEGMIND_API_KEY",
        show_default=False,
        help="API key; default: the admin key (REELFORGE_ADMIN_KEY or <data-dir>/admin.key)",
    ),
]


class _Flags(TypedDict, total=False):
    """The settings a command's flags may set; the environment gives the rest."""

    host: str
    port: int
    data_dir: Path


def load_settings(
    *, host: str | None = None, port: int | None = None, data_dir: Path | None = None
) -> Settings:
    """Settings from the environment, with the command's explicit flags on top; a bad
    value is one line naming the variable."""
    flags: _Flags = {}
    if host is not None:
        flags["host"] = host
    if port is not None:
        flags["port"] = port
    if data_dir is not None:
        flags["data_dir"] = data_dir
    try:
        return Settings(**flags)
    except ValidationError as exc:
        problems = "; ".join(
            f"REELFORGE_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        fail(f"invalid setting ({problems}); fix the variable or flag")


def server_url(url: str | None, settings: Settings) -> str:
    """`--url` / REELFORGE_URL; else REELFORGE_HOST / REELFORGE_PORT when set; else where
    the `reelforge serve` of this data directory recorded that it listens (cli/address.py);
    else where `reelforge serve` listens by default."""
    if url:
        return url.rstrip("/")
    if not {"host", "port"} & settings.model_fields_set:
        found = address.recorded(settings)
        if found:
            return found
    return address.local_url(settings)


def api_key(key: str | None, settings: Settings) -> str:
    """`--key` / SEGMIND_API_KEY, else this install's admin key. Never creates one: a key
    the server has never seen would only earn a 401."""
    from reelforge import accounts

    if key:
        return key
    if settings.admin_key:
        return settings.admin_key
    path = accounts.admin_key_path(settings)
    if not path.is_file():
        fail(
            f"no API key: {path} does not exist; pass --key / set SEGMIND_API_KEY, "
            "or --data-dir of the server whose admin key to use"
        )
    return path.read_text().strip()


@contextmanager
def open_database(settings: Settings) -> Iterator[Engine]:
    """The configured database, migrated; any failure to reach it, inside the `with`
    block too, is one line naming the URL (without its password)."""
    from reelforge.jobs import connect, migrate

    with database_errors(settings):
        db = connect(settings.resolved_database_url)
        try:
            migrate(db)
            yield db
        finally:
            db.dispose()
