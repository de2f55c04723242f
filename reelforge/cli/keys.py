"""`reelforge keys ...` and `reelforge credits ...`: the admin API's key and credit
operations, straight on the configured database (a running server sees them at once)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from reelforge.cli.common import DataDirOpt, console, load_settings, open_database, output
from reelforge.cli.failures import fail
from reelforge.errors import ApiError

if TYPE_CHECKING:
    from sqlalchemy import Engine

keys_app = typer.Typer(help="API keys: create, list, revoke.")
credits_app = typer.Typer(help="Account credits: show, grant.")


@contextmanager
def _accounts_db(data_dir: Path | None) -> Iterator[Engine]:
    """The database with the admin account in it; an ApiError is a refusal, in one line."""
    from reelforge.accounts import credits

    settings = load_settings(data_dir=data_dir)
    if settings.database_url is None:  # the embedded SQLite file lives in the data dir
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open_database(settings) as db:
        credits.ensure_admin(db, settings.admin_credits)
        try:
            yield db
        except ApiError as exc:
            fail(f"refused: {exc.message}")


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
    with _accounts_db(data_dir) as db:
        raw, info = keys.issue(
            db,
            name=name,
            account=account,
            opening_credits=None if unlimited else credits,
            slugs=allowed,
            rate_limit=rate_limit,
        )
    console.print(f"key {info.prefix} for account {info.account} (shown once; keep it secret):")
    typer.echo(raw)


@keys_app.command("list")
def list_keys(data_dir: DataDirOpt = None) -> None:
    """Every key: prefix, account, limits, state (never the key itself)."""
    from reelforge.accounts import keys

    with _accounts_db(data_dir) as db:
        listing = keys.listing(db)
    table = Table("prefix", "name", "account", "models", "per minute", "created", "state")
    for info in listing:
        table.add_row(
            info.prefix, info.name, info.account, ", ".join(info.slugs or ["all"]),
            "default" if info.rate_limit is None else str(info.rate_limit or "no limit"),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created_at)),
            "revoked" if info.revoked_at else "active",
        )  # fmt: skip
    output().print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="the key's prefix (rfk_...) or id")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key: its next request is a 401."""
    from reelforge.accounts import keys

    with _accounts_db(data_dir) as db:
        info = keys.revoke(db, key_id)
    if info is None:
        fail(f"no key {key_id}; see 'reelforge keys list'")
    console.print(f"revoked {info.prefix} ({info.name}, account {info.account})")


@credits_app.command("show")
def show(data_dir: DataDirOpt = None) -> None:
    """Every account's balance, held credits and what it may still spend."""
    from reelforge.accounts import credits

    with _accounts_db(data_dir) as db:
        balances = credits.all_balances(db)
    table = Table("account", "balance", "held", "available")
    for balance in balances:
        row = balance.as_dict()
        if balance.unlimited:
            table.add_row(balance.account, "unlimited", f"{row['held']:g}", "unlimited")
        else:
            table.add_row(
                balance.account, f"{row['balance']:g}", f"{row['held']:g}", f"{row['available']:g}"
            )
    output().print(table)


@credits_app.command("grant")
def grant(
    account: Annotated[str, typer.Argument(help="the account")],
    amount: Annotated[float, typer.Argument(help="credits to add (negative: take back)")],
    note: Annotated[str | None, typer.Option(help="why, kept in the ledger")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Give an account credits (recorded in the ledger)."""
    from reelforge.accounts import credits

    with _accounts_db(data_dir) as db:
        balance = credits.grant(db, account, amount, note)
    console.print(f"{account}: {balance.available:g} credits available")
