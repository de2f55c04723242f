"""`reelforge keys ...` and `reelforge credits ...`: the admin API's key and credit
operations, straight on the configured database (a running server sees them at once)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from reelforge.errors import ApiError
from reelforge.settings import Settings

keys_app = typer.Typer(help="API keys: create, list, revoke.")
credits_app = typer.Typer(help="Account credits: show, grant.")
err = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="embedded data directory (REELFORGE_DATA_DIR)")
]


def _db(data_dir: Path | None) -> Engine:
    from reelforge.accounts import credits
    from reelforge.jobs import connect, migrate

    settings = Settings(**({"data_dir": data_dir} if data_dir else {}))
    if settings.database_url is None:  # the embedded SQLite file lives in the data dir
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = connect(settings.resolved_database_url)
    migrate(engine)
    credits.ensure_admin(engine, settings.admin_credits)
    return engine


def _refuse(exc: ApiError) -> typer.Exit:
    err.print(f"[red]refused[/red]: {exc.message}")
    return typer.Exit(1)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="what the key is for, e.g. team-a-ci")],
    account: Annotated[
        str | None, typer.Option(help="account it spends from; default: a new one named --name")
    ] = None,
    credits: Annotated[float, typer.Option(help="opening credits of a new account")] = 0.0,
    unlimited: Annotated[bool, typer.Option(help="a new account with unlimited credits")] = False,
    slugs: Annotated[
        str | None, typer.Option(help="comma-separated models it may use; default all")
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option(help="requests per minute; 0 = none; default the server's")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Issue a key. It is printed once, on stdout; only its hash is stored."""
    from reelforge.accounts import keys

    allowed = [slug.strip() for slug in slugs.split(",") if slug.strip()] if slugs else None
    try:
        raw, info = keys.issue(
            _db(data_dir),
            name=name,
            account=account,
            opening_credits=None if unlimited else credits,
            slugs=allowed,
            rate_limit=rate_limit,
        )
    except ApiError as exc:
        raise _refuse(exc) from None
    err.print(f"key {info.prefix} for account {info.account} (shown once; keep it secret):")
    typer.echo(raw)


@keys_app.command("list")
def list_keys(data_dir: DataDirOpt = None) -> None:
    """Every key: prefix, account, limits, state (never the key itself)."""
    from reelforge.accounts import keys

    table = Table("prefix", "name", "account", "models", "per minute", "created", "state")
    for info in keys.listing(_db(data_dir)):
        table.add_row(
            info.prefix, info.name, info.account, ", ".join(info.slugs or ["all"]),
            "default" if info.rate_limit is None else str(info.rate_limit or "no limit"),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created_at)),
            "revoked" if info.revoked_at else "active",
        )  # fmt: skip
    Console().print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="the key's prefix (rfk_...) or id")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key: its next request is a 401."""
    from reelforge.accounts import keys

    info = keys.revoke(_db(data_dir), key_id)
    if info is None:
        err.print(f"[red]no key {key_id}[/red]")
        raise typer.Exit(1)
    err.print(f"revoked {info.prefix} ({info.name}, account {info.account})")


@credits_app.command("show")
def show(data_dir: DataDirOpt = None) -> None:
    """Every account's balance, held credits and what it may still spend."""
    from reelforge.accounts import credits

    table = Table("account", "balance", "held", "available")
    for balance in credits.all_balances(_db(data_dir)):
        row = balance.as_dict()
        if balance.unlimited:
            table.add_row(balance.account, "unlimited", f"{row['held']:g}", "unlimited")
        else:
            table.add_row(
                balance.account, f"{row['balance']:g}", f"{row['held']:g}", f"{row['available']:g}"
            )
    Console().print(table)


@credits_app.command("grant")
def grant(
    account: Annotated[str, typer.Argument(help="the account")],
    amount: Annotated[float, typer.Argument(help="credits to add (negative: take back)")],
    note: Annotated[str | None, typer.Option(help="why, kept in the ledger")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Give an account credits (recorded in the ledger)."""
    from reelforge.accounts import credits

    try:
        balance = credits.grant(_db(data_dir), account, amount, note)
    except ApiError as exc:
        raise _refuse(exc) from None
    err.print(f"{account}: {balance.available:g} credits available")
