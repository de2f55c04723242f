"""Accounts and their credits: open, grant, read. (Holds and charges: jobs/billing.py.)

An account's `balance` is what it owns (None: unlimited) and `held` what its unfinished
jobs have reserved; it may spend `balance - held`. Every change of `balance` has a
ledger row, so `balance == sum(ledger)` for every limited account. No balance, grant or
opening balance is ever past MAX_CREDITS (asking for more is a 400 saying so).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from reelforge.accounts.admin import ADMIN
from reelforge.errors import BadRequest, Conflict, NotFound
from reelforge.jobs.billing import MAX_UNITS, UNITS_PER_CREDIT, record, to_credits, to_units
from reelforge.jobs.schema import accounts

ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

MAX_CREDITS = MAX_UNITS // UNITS_PER_CREDIT  # 1e11: the most a balance or a grant may be
MAX_NOTE_LENGTH = 255  # of a grant's note


@dataclass(frozen=True)
class Balance:
    account: str
    balance_units: int | None  # None = unlimited
    held_units: int

    @property
    def unlimited(self) -> bool:
        return self.balance_units is None

    @property
    def available(self) -> float | None:
        """Credits it may still spend; None when unlimited."""
        if self.balance_units is None:
            return None
        return to_credits(self.balance_units - self.held_units)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "unlimited": self.unlimited,
            "balance": None if self.balance_units is None else to_credits(self.balance_units),
            "held": to_credits(self.held_units),
            "available": self.available,
        }


def check_name(account: str) -> str:
    if not ACCOUNT_NAME.fullmatch(account):
        raise BadRequest(
            f"account {account!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return account


def check_amount(credits: float) -> float:
    """A grant or opening balance within +-MAX_CREDITS (kept exactly, see MAX_UNITS)."""
    if not math.isfinite(credits) or abs(credits) > MAX_CREDITS:
        raise BadRequest(f"credits: give an amount between -{MAX_CREDITS} and {MAX_CREDITS}")
    return credits


def check_note(note: str | None) -> str | None:
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise BadRequest(f"note: at most {MAX_NOTE_LENGTH} characters (got {len(note)})")
    return note


def open_account(conn: Connection, account: str, credits: float | None) -> None:
    """Create `account` with `credits` (None: unlimited), the start recorded as a grant."""
    units = None if credits is None else to_units(check_amount(credits))
    conn.execute(
        insert(accounts).values(
            id=check_name(account), balance=units, held=0, created_at=time.time()
        )
    )
    if units:
        record(conn, account, "grant", units, note="opening balance")


def exists(conn: Connection, account: str) -> bool:
    found = conn.execute(select(accounts.c.id).where(accounts.c.id == account)).one_or_none()
    return found is not None


def ensure_admin(engine: Engine, admin_credits: float | None) -> None:
    """The admin account exists, unlimited unless REELFORGE_ADMIN_CREDITS says otherwise.
    Switching the setting on gives it that balance once; switching it off makes it
    unlimited again. Credits granted later are never overwritten."""
    with engine.begin() as conn:
        if not exists(conn, ADMIN):
            open_account(conn, ADMIN, admin_credits)
            return
        current = _row(conn, ADMIN)
        if admin_credits is None and current.balance is not None:
            conn.execute(update(accounts).where(accounts.c.id == ADMIN).values(balance=None))
        elif admin_credits is not None and current.balance is None:
            units = to_units(check_amount(admin_credits))
            conn.execute(update(accounts).where(accounts.c.id == ADMIN).values(balance=units))
            record(conn, ADMIN, "grant", units, note="REELFORGE_ADMIN_CREDITS")


def grant(engine: Engine, account: str, credits: float, note: str | None = None) -> Balance:
    """Add (or, negative, take back) credits. Taking back never goes below what is held;
    adding never takes the balance past MAX_CREDITS."""
    units = to_units(check_amount(credits))
    check_note(note)
    if units == 0:
        raise BadRequest("credits: give a non-zero amount")
    with engine.begin() as conn:
        row = _row(conn, account)
        if row is None:
            raise NotFound(f"Account {account} not found")
        if row.balance is None:
            raise Conflict(f"Account {account} has unlimited credits; nothing to grant")
        if row.balance - row.held + units < 0:
            raise Conflict(
                f"Account {account} has {to_credits(row.balance - row.held):g} credits "
                f"available; cannot take back {-credits:g}"
            )
        if row.balance + units > MAX_UNITS:
            raise BadRequest(
                f"credits: account {account} has {_exact(row.balance)} credits and may hold "
                f"at most {MAX_CREDITS}; grant at most {_exact(MAX_UNITS - row.balance)}"
            )
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account)
            .values(balance=accounts.c.balance + units)
        )
        record(conn, account, "grant", units, note=note)
        return _balance(_row(conn, account))


def balance(engine: Engine, account: str) -> Balance | None:
    with engine.begin() as conn:
        row = _row(conn, account)
    return None if row is None else _balance(row)


def all_balances(engine: Engine) -> list[Balance]:
    with engine.begin() as conn:
        rows = conn.execute(select(accounts).order_by(accounts.c.id)).all()
    return [_balance(row) for row in rows]


def _exact(units: int) -> str:
    """Credits as plain decimal digits, exactly (no float rounding, no exponent)."""
    return format(Decimal(units) / UNITS_PER_CREDIT, "f")


def _row(conn: Connection, account: str) -> Any:
    """The account's row; None when there is none, or `account` cannot be an account's
    name (a NUL, which PostgreSQL refuses with an error): no query for those."""
    if not ACCOUNT_NAME.fullmatch(account):
        return None
    return conn.execute(select(accounts).where(accounts.c.id == account)).one_or_none()


def _balance(row: Any) -> Balance:
    return Balance(row.id, row.balance, row.held)
